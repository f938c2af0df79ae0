import assert from "node:assert/strict";
import { within } from "./_helpers.ts";
import { SIGNAL_ECHO_MS } from "../internal/signal_echo.ts";

const SERVICE = new URL("./fixtures/signal_service.ts", import.meta.url).pathname;

/** Starts the service and returns it with a function that waits for a stdout line. */
function startService(...args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SERVICE, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const waitFor = async (line: string) => {
    while (!buffered.split("\n").includes(line)) {
      const { value, done } = await within(lines.read(), 30_000, `"${line}" on stdout`);
      if (done) throw new Error(`stdout ended before "${line}"; got ${buffered}`);
      buffered += value;
    }
  };
  const finish = async () => {
    const status = await within(child.status, 30_000, "the service to exit");
    await lines.cancel();
    return { status, stderr: await stderr };
  };
  return { child, waitFor, finish };
}

Deno.test("SIGTERM shuts a service down through its sentinels and exits 0", async () => {
  const service = startService();
  await service.waitFor("ready");
  service.child.kill("SIGTERM");
  const { status, stderr } = await service.finish();
  assert.equal(status.code, 0, stderr);
  assert.match(stderr, /\[a\] STOP \{"count":5,/);
  assert.match(stderr, /\[b\] STOP \{"count":7,/);
});

Deno.test("a signal repeated at once (deno task's echo of Ctrl-C) does not force", async () => {
  const service = startService("hang");
  await service.waitFor("ready");
  service.child.kill("SIGTERM");
  await service.waitFor("signal SIGTERM 1");
  service.child.kill("SIGTERM"); // within the echo window: the same stop goes on
  const ended = await Promise.race([
    service.child.status.then(() => "exited"),
    new Promise((resolve) => setTimeout(resolve, SIGNAL_ECHO_MS, "still stopping")),
  ]);
  assert.equal(ended, "still stopping");
  service.child.kill("SIGTERM"); // past the window: the user asks again
  await service.waitFor("signal SIGTERM 2");
  const { status, stderr } = await service.finish();
  assert.equal(status.code, 143, stderr);
});

Deno.test("a second signal forces the shutdown, and the exit code says so", async () => {
  const service = startService("hang");
  await service.waitFor("ready");
  service.child.kill("SIGTERM");
  await service.waitFor("signal SIGTERM 1");
  // Sooner, the second signal is taken for the first one's echo.
  await new Promise((resolve) => setTimeout(resolve, SIGNAL_ECHO_MS));
  service.child.kill("SIGTERM");
  const { status, stderr } = await service.finish();
  assert.equal(status.code, 143, stderr);
  // b was stuck in a handler: it never reached its sentinel or its stop hook.
  assert.doesNotMatch(stderr, /\[b\] STOP/);
});
