// Permissions as a user meets them: a parent with limited permissions of its
// own (a real `deno run` without -A), and actors granted least privilege.
import assert from "node:assert/strict";

const PARENT = new URL("./fixtures/permissions_parent.ts", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;

interface Outcome {
  hello?: string;
  secret?: string | null;
  read?: string;
  error?: string;
}

/** Runs the parent with `flags`, asking for an actor on `host` granted `grants`. */
async function parent(flags: string[], host: string, grants: unknown, modes = "") {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, PARENT, host, JSON.stringify(grants), modes],
    env: { SECRET_TOKEN: "hunter2" },
    signal: AbortSignal.timeout(30_000), // a spawn that hangs fails the test
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout).trim();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return JSON.parse(stdout.split("\n").at(-1)!) as Outcome;
}

// What every parent below may do itself: read the package, run a child Deno, read its environment.
const BASE = [`--allow-read=${ROOT}`, `--allow-run=${Deno.execPath()}`, "--allow-env"];
const WORKER_FLAGS = [...BASE, "--unstable-worker-options"];

Deno.test("permissions: {} runs a local worker module with nothing else: no env, no reads", async () => {
  const outcome = await parent(WORKER_FLAGS, "worker", {}, "told");
  assert.match(outcome.hello!, /^hi you from/);
  assert.match(outcome.secret as string, /NotCapable/);
  assert.match(outcome.read!, /NotCapable/);
});

Deno.test("a worker granted one variable reads only it, under a parent without -A", async () => {
  const outcome = await parent(WORKER_FLAGS, "worker", { env: ["SECRET_TOKEN"] }, "told");
  assert.equal(outcome.secret, "hunter2");
  assert.match(outcome.read!, /NotCapable/);
});

Deno.test("a parent that cannot read its own command line (no -A) asks about the worker flag", async () => {
  const outcome = await parent(WORKER_FLAGS, "worker", {});
  assert.match(outcome.error!, /cannot tell whether Deno runs with --unstable-worker-options/);
  assert.match(outcome.error!, /pass unstableWorkerOptions: true/);
});

Deno.test("a process actor granted what its parent lacks is refused, unless escalate is passed", async () => {
  const refused = await parent(BASE, "process", { net: true, read: ["/etc/hostname"] });
  assert.match(
    refused.error!,
    /^TypeError: Cannot spawn process actor .*granted read:\/etc\/hostname, net,/,
  );
  assert.match(refused.error!, /escalate: true/);
  const escalated = await parent(BASE, "process", { read: ["/etc/hostname"] }, "escalate");
  assert.match(escalated.hello!, /^hi you from/);
  assert.doesNotMatch(escalated.read!, /NotCapable/);
});

Deno.test("a process actor granted nothing sees none of its parent's environment or files", async () => {
  const outcome = await parent(BASE, "process", {});
  assert.match(outcome.secret as string, /NotCapable/);
  assert.match(outcome.read!, /NotCapable/);
});
