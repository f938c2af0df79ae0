// The cluster layer's doc examples need a broker: they run only when
// TROUPE_NATS_URL names one, so `deno test --doc` alone passes them without
// trying them. This test gives them a real server and runs them for real.
import assert from "node:assert/strict";
import { startNatsServer } from "./_server.ts";

Deno.test("the doc examples of @troupe/troupe/nats pass against a real server", async () => {
  await using server = await startNatsServer();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--doc", "--allow-all", "--no-check", "actors/cluster/"],
    cwd: new URL("../../", import.meta.url),
    env: { TROUPE_NATS_URL: server.url, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, text);
  const passed = Number(text.match(/ok \| (\d+) passed/)?.[1] ?? 0);
  assert.ok(passed >= 10, text);
});
