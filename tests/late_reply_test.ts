// Issue 16.2 (part): work of the runtime that outlives a handler (a reply
// sent after its caller gave up or went away, writes to a pipe end whose peer
// closed or whose actor was shut down) never leaves a promise rejected
// unhandled, in the parent or in the actor, on any host and transport. The
// program runs in its own process: an unhandled rejection there prints
// "UNHANDLED ..." (or, without the listener, would end the process).
import assert from "node:assert/strict";

const PROGRAM = new URL("./fixtures/late_reply_program.ts", import.meta.url);

Deno.test("late replies and writes after the peer closed leave no unhandled rejection, on every host and transport", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-worker-options", PROGRAM.href],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  const unhandled = stdout.split("\n").filter((line) => line.startsWith("UNHANDLED"));
  assert.deepEqual(unhandled, [], stdout);
  assert.doesNotMatch(stderr, /Uncaught|unhandled/i);
  assert.equal(out.code, 0, stderr);
  const passed = stdout.split("\n").filter((line) => line.endsWith(" ok"));
  assert.equal(passed.length, 6, stdout);
  assert.match(stdout, /^done$/m);
});
