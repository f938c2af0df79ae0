// Runs every scenario in examples/ as a real `deno run` subprocess, with the
// exact permissions its header gives, on every host and transport it allows,
// and checks its output line by line and its exit code.
//
// The Python traps each example must not fall into are checked here through
// the examples' own output: recv() with no sender times out, and says "peer
// closed" once the child is gone (01); misuse of a one-way end fails at run
// time (02); large messages from many senders arrive whole (03, 10); join
// returns (04); workers exit though big results were never read (05, 06); the
// shared counter is exact under contention (07, with a million adds each); a
// crashed holder's permit comes back (09); a wrong secret is refused (10).
// "Killing the parent leaves no child" is tested with a process actor in
// tests/process_host_test.ts ("killing the parent with SIGKILL leaves no
// process actor alive a second later").

import assert from "node:assert/strict";
import { ActorSystem, SharedValue } from "../mod.ts";
import type { adder } from "../examples/actors/adder.ts";

const EXAMPLES = new URL("../examples/", import.meta.url);
/** Generous: a run takes well under a second, but CI shares 2 cores with the other test files. */
const RUN_TIMEOUT_MS = 60_000;

type Combo = { host?: "worker" | "process"; transport: string };

// Every host and transport an example with a host choice runs on (ring: workers only).
const EVERY_HOST: Combo[] = [
  { host: "worker", transport: "queue" },
  { host: "worker", transport: "pipe" },
  { host: "worker", transport: "ring" },
  { host: "worker", transport: "socket" },
  { host: "process", transport: "pipe" },
  { host: "process", transport: "socket" },
];
// Shared memory reaches worker actors only: these examples take only --transport.
const WORKERS_ONLY: Combo[] = [
  { transport: "queue" },
  { transport: "pipe" },
  { transport: "ring" },
  { transport: "socket" },
];

/** The permission flags of the `deno run` command in an example's header (its second line). */
async function headerFlags(file: string): Promise<string[]> {
  const source = await Deno.readTextFile(new URL(file, EXAMPLES));
  const command = source.split("\n")[1]!;
  const match = command.match(/^\/\/ deno run (.*?) examples\/(\S+)/);
  assert.ok(match, `${file}: the second line must be the deno run command, got: ${command}`);
  assert.equal(match[2], file, `${file}: the header runs another file`);
  const flags = match[1]!.split(" ");
  for (const flag of flags) assert.match(flag, /^--allow-(read|write|net|run)$/);
  return flags;
}

async function run(file: string, combo: Combo, extra: string[] = []) {
  const args = ["run", ...await headerFlags(file), new URL(file, EXAMPLES).pathname];
  if (combo.host) args.push("--host", combo.host);
  args.push("--transport", combo.transport, ...extra);
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

/** Runs `file` on every combination at once and checks each run's stdout and exit code. */
async function check(
  file: string,
  combos: Combo[],
  expected: (combo: Combo) => string[],
  extra: string[] = [],
): Promise<void> {
  // Every run ends before the first failure is thrown: a child still running
  // would be reported as a leak of the next test.
  const runs = await Promise.allSettled(combos.map(async (combo) => {
    const label = `${file} ${combo.host ?? ""} ${combo.transport} ${extra.join(" ")}`;
    const { code, stdout, stderr } = await run(file, combo, extra);
    assert.equal(code, 0, `${label} exited with ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
    assert.deepEqual(stdout.trimEnd().split("\n"), expected(combo), `${label}\nstderr:\n${stderr}`);
  }));
  for (const result of runs) if (result.status === "rejected") throw result.reason;
}

Deno.test("every example is a numbered file under 40 lines whose header gives its command", async () => {
  const files: string[] = [];
  for await (const entry of Deno.readDir(EXAMPLES)) {
    if (/^\d\d_.*\.ts$/.test(entry.name)) files.push(entry.name);
  }
  assert.equal(files.length, 12, `expected twelve scenarios, found ${files.sort().join(", ")}`);
  for (const file of files) {
    const lines = (await Deno.readTextFile(new URL(file, EXAMPLES))).trimEnd().split("\n");
    assert.ok(lines.length < 40, `${file} has ${lines.length} lines`);
    await headerFlags(file);
  }
});

Deno.test("01: a duplex pipe to a child actor; recv() times out, then reports the closed peer", async () => {
  await check("01_pipe_duplex.ts", EVERY_HOST, () => [
    "parent received: hello",
    'parent received: you said "hi back"',
    "recv with nothing sent: TimeoutError",
    "recv after the child stopped: ConnectionClosedError",
  ]);
});

Deno.test("02: a one-way pipe from a child actor; sending on the receiving end throws", async () => {
  await check("02_pipe_one_way.ts", EVERY_HOST, () => [
    "received 3 lines: line 0, line 1, line 2",
    "send on the receiving end: TypeError: Cannot send: this end of a one-way pipe only receives",
  ]);
});

Deno.test("03: five senders, one receiver: five 64 KiB messages arrive whole", async () => {
  await check("03_many_senders.ts", EVERY_HOST, () => [
    "received 5 messages, 5 whole: hello 0, hello 1, hello 2, hello 3, hello 4",
  ]);
});

Deno.test("04: one worker drains a joinable queue; join returns, the sentinel stops it", async () => {
  await check("04_queue_one_worker.ts", EVERY_HOST, () => [
    "join returned: 0 items unfinished",
    "the worker handled 0 1 2 3 4 5 6 7 8 9, then stopped at the sentinel",
  ]);
});

Deno.test("05: a pool of four gets one sentinel each and exits with 10 MiB of results unread", async () => {
  await check("05_pool_sentinels.ts", EVERY_HOST, () => [
    "workers that exited cleanly: 4 of 4",
    "results, each handled once: 0 1 2 3 4 5 6 7 8 9",
  ]);
});

Deno.test("06: a result comes back by pipe, by queue after the child stopped, and by shared value", async () => {
  await check("06_results_back.ts", EVERY_HOST, ({ host }) => [
    "via pipe: 42",
    "via queue: 1048576 bytes of 42",
    `via shared value: ${host === "worker" ? 42 : "(worker actors only)"}`,
  ]);
});

Deno.test("07: two actors add to a shared counter and array: exactly 2000", async () => {
  await check("07_shared_counter.ts", WORKERS_ONLY, () => [
    "counter = 2000",
    "tallies = [1000, 1000]",
  ]);
});

Deno.test("07: the shared counter is exact under contention (a million adds each, at once)", async () => {
  await check("07_shared_counter.ts", [{ transport: "queue" }], () => [
    "counter = 2000000",
    "tallies = [1000000, 1000000]",
  ], ["--times", "1000000"]);
});

Deno.test("07-09: shared memory in a process actor's args is a clear error, not a silent copy", async () => {
  await using system = await ActorSystem.start();
  const counter = SharedValue.of("i32", 0);
  await assert.rejects(
    system.spawn<typeof adder>(new URL("adder.ts", new URL("actors/", EXAMPLES)), {
      host: "process",
      args: { counter: counter.share() },
    }),
    { name: "TypeError", message: /args\.counter\.buffer holds shared memory/ },
  );
});

Deno.test("08: ten writers add 1 each to a shared value: exactly 10", async () => {
  await check("08_many_writers.ts", WORKERS_ONLY, () => ["10 writers, value = 10"]);
});

Deno.test("09: Semaphore(2) lets exactly two in; a crashed holder's permit comes back", async () => {
  await check("09_semaphore.ts", WORKERS_ONLY, () => [
    "peak concurrency = 2",
    "a holder died (ActorCrashedError); permits free: 2 of 2",
  ]);
});

Deno.test("10: a socket server actor gets every message whole; a wrong secret is refused", async () => {
  await check("10_socket_server.ts", EVERY_HOST, () => [
    "server received 300 messages (9727984 bytes), 300 of them whole",
    "a client with a wrong secret: AuthenticationError",
  ]);
});

Deno.test("11: two actors read the file their parent wrote", async () => {
  await check("11_shared_file.ts", EVERY_HOST, () => [
    'reader 1: 4 lines, from "alpha" to "delta"',
    'reader 2: 4 lines, from "alpha" to "delta"',
  ]);
});

Deno.test("12: a supervisor restarts a crashed actor twice, then gives up and says why", async () => {
  await check("12_supervisor.ts", EVERY_HOST, () => [
    "service says pong after 0 restarts",
    "crash 1: ActorCrashedError",
    "service says pong after 1 restarts",
    "crash 2: ActorCrashedError",
    "service says pong after 2 restarts",
    "crash 3: ActorCrashedError",
    'Supervisor "keeper" gave up: more than 2 restarts within 10000 ms; last crashes:',
    "  service: error (crashed on purpose)",
    "  service: error (crashed on purpose)",
    "  service: error (crashed on purpose)",
  ]);
});
