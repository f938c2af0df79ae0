// The multi-process NATS demo (`deno task demo:nats`) runs to the end by
// itself: it starts its own nats-server (no NATS_URL given), three
// `troupe run` services, kills one parser service halfway with SIGKILL, and
// exits 0 with every job done, none lost, and both parser processes credited.
import assert from "node:assert/strict";
import { natsServerPath } from "./_server.ts";

Deno.test("the NATS demo survives a parser service's SIGKILL and exits 0 with nothing lost", async () => {
  const server = natsServerPath();
  const env: Record<string, string> = {
    PATH: `${server.slice(0, server.lastIndexOf("/"))}:${Deno.env.get("PATH") ?? ""}`,
    HOME: Deno.env.get("HOME") ?? "/root",
    NO_COLOR: "1",
    DEMO_JOBS: "300",
  };
  const dir = Deno.env.get("DENO_DIR");
  if (dir) env.DENO_DIR = dir;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "examples/nats_demo.ts"],
    cwd: new URL("../../", import.meta.url),
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, text);
  assert.match(text, /started nats-server at nats:\/\/127\.0\.0\.1:\d+/);
  assert.match(text, /killing parser-a \(pid \d+\) with SIGKILL/);
  assert.match(text, /summary: 300 jobs/);
  assert.match(text, /lost: 0/);
  const a = Number(text.match(/handled by parser-a: (\d+)/)?.[1]);
  const b = Number(text.match(/handled by parser-b: (\d+)/)?.[1]);
  assert.ok(a > 0 && b > 0, text);
  assert.equal(a + b, 300, text);
  assert.match(text, /every job done, nothing lost/);
});
