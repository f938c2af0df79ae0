import assert from "node:assert/strict";
import {
  ActorCrashedError,
  ActorError,
  ActorExitedError,
  ActorSystem,
  pipeTransport,
  SpawnError,
} from "../mod.ts";
import type { TransportFactory } from "../transports/mod.ts";
import type { processProbe } from "./fixtures/process_actor.ts";
import type { probe } from "./fixtures/probe_actor.ts";
import { within } from "./_helpers.ts";

const ACTOR = new URL("./fixtures/process_actor.ts", import.meta.url);
const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;
const quiet = { onLog: () => {} };

Deno.test("a process actor runs in its own deno process and answers typed asks", async () => {
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof processProbe>(ACTOR, {
    host: "process",
    args: { greeting: "hello" },
  });
  const pid = await ref.ask("pid");
  assert.notEqual(pid, Deno.pid);
  assert.equal(await ref.ask("hello", "troupe"), `hello troupe from ${pid}`);
  const exit = await ref.stop();
  assert.equal(exit.reason, "normal");
});

Deno.test("a process actor has no permissions it was not given", async () => {
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof processProbe>(ACTOR, { host: "process", ...quiet });
  const denied = await ref.ask("readFile", "/etc/hostname").catch((e) => e);
  assert.ok(denied instanceof ActorError);
  assert.equal(denied.remote.name, "NotCapable");
  assert.match(denied.remote.message, /read access/);
  const env = await ref.ask("env", "HOME").catch((e) => e);
  assert.ok(env instanceof ActorError);
  assert.equal(env.remote.name, "NotCapable");
  // The actor keeps running after a denied call.
  assert.match(await ref.ask("hello", "again"), /^hi again/);
});

Deno.test("a process actor gets exactly the permissions and env it is granted", async () => {
  const file = await Deno.makeTempFile();
  await Deno.writeTextFile(file, "granted");
  try {
    await using system = await ActorSystem.start();
    const ref = await system.spawn<typeof processProbe>(ACTOR, {
      host: "process",
      permissions: { read: [file], env: ["TROUPE_TEST_VALUE"] },
      env: { TROUPE_TEST_VALUE: "42", OTHER: "x" },
    });
    assert.equal(await ref.ask("readFile", file), "granted");
    assert.equal(await ref.ask("env", "TROUPE_TEST_VALUE"), "42");
    const other = await ref.ask("env", "OTHER").catch((e) => e);
    assert.ok(other instanceof ActorError && other.remote.name === "NotCapable");
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("a process actor's parent environment does not leak into the child", async () => {
  Deno.env.set("TROUPE_SECRET_FOR_TEST", "do-not-leak");
  try {
    await using system = await ActorSystem.start();
    const ref = await system.spawn<typeof processProbe>(ACTOR, {
      host: "process",
      permissions: { env: true },
    });
    assert.equal(await ref.ask("env", "TROUPE_SECRET_FOR_TEST"), null);
  } finally {
    Deno.env.delete("TROUPE_SECRET_FOR_TEST");
  }
});

Deno.test("a process actor's environment is exactly the README's list, OTEL_* and its env", async () => {
  // The variables Deno needs to find its cache and temp dir, as the README's
  // Process actors section names them: each must be named there.
  const passed = ["DENO_DIR", "HOME", "XDG_CACHE_HOME", "TMPDIR", "NO_COLOR"];
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const section = readme.slice(
    readme.indexOf("## Process actors"),
    readme.indexOf("### Permissions, per host"),
  );
  for (const name of passed) assert.ok(section.includes(`\`${name}\``), `README names ${name}`);
  const run = async (args: string[], env: Record<string, string>) => {
    const out = await new Deno.Command(Deno.execPath(), { args, clearEnv: true, env }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return JSON.parse(new TextDecoder().decode(out.stdout));
  };
  // What Deno sets in its own process at start, from nothing (2.9.6: a `PATH`
  // of its node-compat bin dir alone, and `DENO_NODE_SHIM_ACTIVE`).
  const own: string[] = await run(
    ["eval", "console.log(JSON.stringify(Object.keys(Deno.env.toObject())))"],
    {},
  );
  for (const name of own) assert.ok(section.includes(`\`${name}\``), `README names ${name}`);
  // The parent: every passed variable, an OTEL_* one, a secret and a PATH.
  const home = Deno.env.get("HOME") ?? "/root";
  const env: Record<string, string> = {
    HOME: home,
    XDG_CACHE_HOME: Deno.env.get("XDG_CACHE_HOME") ?? `${home}/.cache`,
    TMPDIR: Deno.env.get("TMPDIR") ?? "/tmp",
    NO_COLOR: "1",
    OTEL_SERVICE_NAME: "troupe-env-test",
    TROUPE_SECRET_FOR_TEST: "do-not-leak",
    PATH: "/troupe/parent/bin",
  };
  const denoDir = Deno.env.get("DENO_DIR");
  env.DENO_DIR = denoDir ?? `${env.XDG_CACHE_HOME}/deno`;
  const child = await run(
    ["run", "-A", "--unstable-worker-options", "--no-check", FIXTURES + "env_program.ts"],
    env,
  );
  const expected = [...new Set([...own, ...passed, "OTEL_SERVICE_NAME", "GIVEN"])].sort();
  assert.deepEqual(child.names, expected);
  assert.notEqual(child.path, env.PATH);
});

Deno.test("a process actor printing 10,000 lines does not corrupt its channel", async () => {
  const lines: string[] = [];
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof processProbe>(ACTOR, {
    host: "process",
    onLog: (line) => lines.push(line),
  });
  assert.equal(await ref.ask("log", 10_000), 10_000);
  assert.equal(await ref.ask("log", 1), 10_001);
  assert.match(await ref.ask("hello", "still here"), /^hi still here/);
  await ref.stop();
  assert.equal(lines.filter((l) => /^log line \d+ of 10000$/.test(l)).length, 10_000);
  assert.equal(lines.at(-1), "log line 0 of 1");
});

Deno.test("a process actor that exceeds maxHeapMiB dies and the parent sees why", async () => {
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof processProbe>(ACTOR, {
    host: "process",
    maxHeapMiB: 32,
    ...quiet,
  });
  const error = await within(ref.ask("hog").catch((e) => e), 20_000, "heap limit");
  assert.ok(error instanceof ActorCrashedError);
  assert.equal(error.reason, "exited");
  const exited = error.cause;
  assert.ok(exited instanceof ActorExitedError);
  assert.ok(exited.outOfMemory, exited.message);
  assert.equal(exited.code, 133);
  assert.equal((await ref.exited).reason, "exited");
});

Deno.test("a process actor's exit code and stderr tail reach pending asks", async () => {
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof processProbe>(ACTOR, { host: "process", ...quiet });
  await ref.tell("shout", "about to exit");
  const error = await within(ref.ask("exit", 3).catch((e) => e), 10_000, "exit report");
  assert.ok(error instanceof ActorCrashedError);
  const exited = error.cause as ActorExitedError;
  assert.ok(exited instanceof ActorExitedError);
  assert.equal(exited.code, 3);
  assert.equal(exited.signal, null);
  assert.ok(exited.stderrTail.includes("about to exit"));
});

Deno.test("a process actor killed from outside is reported with its signal", async () => {
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof processProbe>(ACTOR, { host: "process", ...quiet });
  const pid = await ref.ask("pid");
  const pending = ref.ask("hang");
  Deno.kill(pid, "SIGKILL");
  const error = await within(pending.catch((e) => e), 10_000, "kill report");
  assert.ok(error instanceof ActorCrashedError);
  assert.equal((error.cause as ActorExitedError).signal, "SIGKILL");
});

Deno.test("an uncaught error in a process actor crashes only that actor", async () => {
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof processProbe>(ACTOR, { host: "process", ...quiet });
  const error = await within(ref.ask("crashSoon").catch((e) => e), 10_000, "crash report");
  assert.ok(error instanceof ActorCrashedError);
  assert.match(error.message, /uncaught in a child process/);
});

Deno.test("a process actor that misses its stop deadline gets SIGTERM", async () => {
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof processProbe>(ACTOR, { host: "process", ...quiet });
  const pid = await ref.ask("pid");
  void ref.ask("hang").catch(() => {});
  const exit = await ref.stop({ timeout: 100 });
  assert.equal(exit.reason, "timeout");
  assert.equal(processAlive(pid), false);
});

Deno.test("process actors refuse shared memory and the ring transport with clear errors", async () => {
  await using system = await ActorSystem.start();
  await assert.rejects(
    system.spawn<typeof probe>(new URL("./fixtures/probe_actor.ts", import.meta.url), {
      host: "process",
      args: { flags: new SharedArrayBuffer(16) },
    }),
    /args\.flags holds shared memory/,
  );
  await assert.rejects(
    system.spawn(ACTOR, { host: "process", transport: "queue" }),
    /queue transport cannot reach a process actor/,
  );
});

Deno.test("spawn() of a process actor whose module is missing rejects with SpawnError", async () => {
  await using system = await ActorSystem.start();
  const error = await system.spawn(new URL("./fixtures/missing.ts", import.meta.url), {
    host: "process",
    ...quiet,
  }).catch((e) => e);
  assert.ok(error instanceof SpawnError);
  assert.match(String(error.message + (error.cause as Error)?.message), /missing\.ts/);
});

Deno.test("killing the parent with SIGKILL ends every process actor by its stdin's end, idle or busy, not by a fallback", async () => {
  const parent = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${FIXTURES}orphan_parent.ts`],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = parent.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await within(reader.read(), 20_000, "child pids");
    if (done) break;
    text += value;
  }
  const pids = JSON.parse(text) as number[];
  assert.equal(pids.length, 4);
  assert.ok(pids.every(processAlive));
  parent.kill("SIGKILL");
  const killed = performance.now();
  await parent.status;
  await reader.cancel();
  // Polling a deadline, not synchronising: nothing tells a test that an unrelated pid ended.
  while (pids.some(processAlive) && performance.now() - killed < 2000) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const elapsed = performance.now() - killed;
  console.log(`orphans gone ${elapsed.toFixed(1)} ms after the parent's SIGKILL`);
  assert.deepEqual(pids.filter(processAlive), [], "children outlived their parent by 2 s");
  // The stdin's end takes a few tens of ms (`deno task bench` measures it: exit.orphan.troupe);
  // the parent-pid fallback looks only every 500 ms. The margin is for a loaded 2-core machine.
  assert.ok(elapsed < 400, `children took ${elapsed.toFixed(0)} ms to follow their parent`);
});

Deno.test("worker actors with permissions need --unstable-worker-options, and say so", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${FIXTURES}worker_permissions_parent.ts`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  assert.match(text, /TypeError: .*--unstable-worker-options/);
});

/** Alive means the pid exists and is not a zombie (PID 1 here does not reap orphans). */
function processAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

Deno.test("an idle process actor outlives many heartbeat intervals", async () => {
  await using system = await ActorSystem.start({ heartbeatMs: 20 });
  const ref = await system.spawn<typeof processProbe>(ACTOR, { host: "process" });
  const worker = await system.spawn<typeof processProbe>(ACTOR);
  // Stay idle for more than three intervals: the watchdog runs every 20 ms meanwhile.
  const idle = Promise.withResolvers<void>();
  const timer = setTimeout(idle.resolve, 200);
  await idle.promise;
  clearTimeout(timer);
  assert.match(await ref.ask("hello", "after a nap"), /^hi after a nap/);
  assert.match(await worker.ask("hello", "worker too"), /^hi worker too/);
});

Deno.test("a transport over stdio that does not state minimalStdio gets real streams", async () => {
  const module = new URL("./fixtures/stdio_transport.ts", import.meta.url).href;
  const pipe = pipeTransport();
  const copy: TransportFactory = {
    name: "pipe-copy",
    hosts: ["process"],
    async open(host, stdio) {
      // The built-in pipe's link states minimalStdio; this copy does not.
      const { minimalStdio: _, ...link } = await pipe.open(host, stdio);
      return { ...link, remote: { ...link.remote, module } };
    },
  };
  await using system = await ActorSystem.start({ transports: [copy] });
  const ref = await system.spawn<typeof processProbe>(ACTOR, {
    host: "process",
    transport: "pipe-copy",
    args: { greeting: "hello" },
  });
  assert.match(await ref.ask("hello", "streams"), /^hello streams/);
  assert.equal((await ref.stop()).reason, "normal");
});

for (const transport of ["pipe", "socket"] as const) {
  Deno.test(`[${transport}] a process actor's own writes to Deno.stdout arrive as log lines`, async () => {
    await using system = await ActorSystem.start();
    const lines: string[] = [];
    const logged = Promise.withResolvers<void>();
    const ref = await system.spawn<typeof processProbe>(ACTOR, {
      host: "process",
      transport,
      onLog: (line) => {
        if (line === "raw output") lines.push(line);
        if (lines.length === 3) logged.resolve();
      },
    });
    assert.equal(await ref.ask("rawStdout", "raw output"), 10);
    // The actor still answers: its channel was not written into.
    assert.match(await ref.ask("hello", "after"), /^hi after/);
    await within(logged.promise, 20_000, "three log lines");
    assert.equal((await ref.stop()).reason, "normal");
  });
}

Deno.test("a stop's timeout includes the SIGTERM-to-SIGKILL grace of a process that ignores SIGTERM", async () => {
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof processProbe>(ACTOR, { host: "process", ...quiet });
  await ref.ask("ignoreSigterm");
  void ref.tell("spin");
  const start = performance.now();
  const exit = await ref.stop({ timeout: 1000 });
  const took = performance.now() - start;
  assert.equal(exit.reason, "timeout");
  // Without the grace counted in, this took the timeout plus a fixed second.
  assert.ok(took < 1600, `the stop took ${Math.round(took)} ms for a 1000 ms timeout`);
});

Deno.test("a process actor killed in the middle of a frame reports the kill, not a truncated frame", async () => {
  await using system = await ActorSystem.start();
  const written = Promise.withResolvers<void>();
  const ref = await system.spawn<typeof processProbe>(ACTOR, {
    host: "process",
    onLog: (line) => {
      if (line === "partial frame written") written.resolve();
    },
  });
  const pending = ref.ask("partialFrame");
  await within(written.promise, 20_000, "the partial frame");
  Deno.kill(ref.stats().pid!, "SIGKILL");
  const error = await pending.catch((e) => e);
  assert.ok(error instanceof ActorCrashedError, String(error));
  assert.ok(error.cause instanceof ActorExitedError, `cause: ${error.cause}`);
  assert.equal(error.cause.signal, "SIGKILL");
});
