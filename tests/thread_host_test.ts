// Thread actors (`host: "thread"`): a node:worker_threads thread with a heap
// limit. One that runs out of memory crashes alone with ActorOutOfMemoryError,
// is restarted by its supervisor, and this process and its other actors live
// on. The conformance suite (tests/actor_conformance_test.ts) runs every
// transport on this host; these are the cases only a thread has.

import assert from "node:assert/strict";
import { Worker as NodeWorker } from "node:worker_threads";
import { ActorCrashedError, ActorOutOfMemoryError, type ActorRef, ActorSystem } from "../mod.ts";
import type { hungry } from "./fixtures/hungry_actor.ts";
import type { conformance } from "./fixtures/conformance_actor.ts";
import type { semaphoreUser } from "./fixtures/semaphore_actor.ts";
import { nextEvent, within } from "./_helpers.ts";

const HUNGRY = new URL("./fixtures/hungry_actor.ts", import.meta.url);
const CONFORMANCE = new URL("./fixtures/conformance_actor.ts", import.meta.url);
const OOM_PARENT = new URL("./fixtures/oom_parent.ts", import.meta.url);

/** Asserts that `error` is the crash of a thread that reached a heap limit of `mib`. */
function assertOutOfMemory(error: unknown, mib: number): ActorOutOfMemoryError {
  assert.ok(error instanceof ActorCrashedError, String(error));
  assert.equal(error.reason, "error");
  const cause = error.cause;
  assert.ok(cause instanceof ActorOutOfMemoryError, String(cause));
  assert.equal(cause.heapLimitMiB, mib);
  assert.match(error.message, new RegExp(`heap limit of ${mib} MiB`));
  return cause;
}

for (const transport of ["queue", "ring", "pipe", "socket"]) {
  Deno.test(`[${transport}] a thread actor past its heap limit crashes alone with ActorOutOfMemoryError`, async () => {
    await using system = await ActorSystem.start();
    const events = system.events();
    const hog = await system.spawn<typeof hungry>(HUNGRY, {
      id: "hog",
      host: "thread",
      transport,
      maxHeapMiB: 32,
    });
    const neighbour = await system.spawn<typeof hungry>(HUNGRY, { host: "thread", transport });
    const worker = await system.spawn<typeof conformance>(CONFORMANCE, { args: {} });
    assert.equal(hog.stats().host, "thread");
    assert.equal(await hog.ask("ping"), "pong");

    const error = await within(hog.ask("hog").catch((e) => e), 15_000, "the out-of-memory crash");
    assertOutOfMemory(error, 32);
    const exit = await hog.exited;
    assert.equal(exit.reason, "error");
    assert.ok(exit.error instanceof ActorOutOfMemoryError);
    const crashed = await nextEvent(events, (e) => e.type === "crashed" && e.id === "hog");
    assert.ok(crashed.type === "crashed" && crashed.error instanceof ActorOutOfMemoryError);
    await assert.rejects(hog.ask("ping"));

    // This process and the other actors are fine.
    assert.equal(await neighbour.ask("ping"), "pong");
    assert.equal(await worker.ask("echo", "still here"), "still here");
    const result = await system.shutdown({ timeout: 5000 });
    assert.equal(result.clean, true, JSON.stringify(result));
    await events.return?.();
  });
}

Deno.test("a thread actor that runs out of memory in a timer crashes the same way", async () => {
  // Deno reports this case itself (ERR_WORKER_OUT_OF_MEMORY on the Worker),
  // where a handler's allocation is seen by the thread's own heap watch.
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof hungry>(HUNGRY, { host: "thread", maxHeapMiB: 32 });
  const error = await within(ref.ask("hogLater").catch((e) => e), 15_000, "the crash");
  const cause = assertOutOfMemory(error, 32);
  assert.equal((cause.cause as { code?: string }).code, "ERR_WORKER_OUT_OF_MEMORY");
});

Deno.test("a supervisor restarts a thread actor that ran out of memory; its siblings live on", async () => {
  await using system = await ActorSystem.start();
  const events = system.events();
  const root = await system.supervise({
    id: "root",
    backoff: false,
    children: [
      { id: "hog", module: HUNGRY, host: "thread", maxHeapMiB: 32 },
      { id: "sibling", module: HUNGRY, host: "thread" },
    ],
  });
  const hog: ActorRef<typeof hungry> = root.ref<typeof hungry>("hog");
  const sibling = root.ref<typeof hungry>("sibling");
  const [first, siblingFirst] = [await hog.ask("incarnation"), await sibling.ask("incarnation")];
  assertOutOfMemory(await within(hog.ask("hog").catch((e) => e), 15_000, "the crash"), 32);
  const crashed = await nextEvent(events, (e) => e.type === "crashed" && e.id === "hog");
  assert.ok(crashed.type === "crashed" && crashed.error instanceof ActorOutOfMemoryError);
  await nextEvent(events, (e) => e.type === "restarted" && e.id === "hog");
  const second = await within(hog.ask("incarnation"), 15_000, "the restarted actor");
  assert.notEqual(second, first);
  assert.equal(hog.stats().restarts, 1);
  assert.equal(hog.stats().host, "thread");
  // The new incarnation has its limit again: it can run out of memory again.
  assertOutOfMemory(await within(hog.ask("hog").catch((e) => e), 15_000, "the crash"), 32);
  await nextEvent(events, (e) => e.type === "restarted" && e.id === "hog");
  assert.equal(await within(hog.ask("ping"), 15_000, "the second restart"), "pong");
  assert.equal(await sibling.ask("incarnation"), siblingFirst);
  await root.stop();
  await events.return?.();
});

Deno.test("a thread actor's started event and stats name the thread host", async () => {
  await using system = await ActorSystem.start();
  const events = system.events();
  const ref = await system.spawn<typeof hungry>(HUNGRY, { id: "t", host: "thread" });
  const started = await nextEvent(events, (e) => e.type === "started" && e.id === "t");
  assert.equal(started.type === "started" && started.host, "thread");
  assert.equal(system.actors().find((a) => a.id === "t")?.host, "thread");
  assert.equal(ref.stats().pid, undefined);
  await events.return?.();
});

Deno.test("a thread actor takes a system semaphore in shared memory; a crashed holder's permit comes back", async () => {
  await using system = await ActorSystem.start();
  const db = system.semaphore("db", 1);
  const url = new URL("./fixtures/semaphore_actor.ts", import.meta.url);
  const a = await system.spawn<typeof semaphoreUser>(url, { host: "thread" });
  const b = await system.spawn<typeof semaphoreUser>(url, { host: "thread" });
  assert.equal(await a.ask("hold"), false);
  // The thread took the permit in the memory this process shares with it.
  assert.equal(db.available, 0);
  await a.ask("release");
  assert.equal(db.available, 1);
  const crash = a.ask("holdThenCrash").catch((e) => e);
  assert.ok((await within(crash, 15_000, "the holder's crash")) instanceof ActorCrashedError);
  // The dead holder's permit is given back, and the next holder is told.
  assert.equal(await within(b.ask("hold"), 15_000, "the permit"), true);
});

Deno.test("spawn refuses permissions for a thread actor, with a TypeError that says why", async () => {
  await using system = await ActorSystem.start();
  await assert.rejects(
    system.spawn(HUNGRY, { id: "t", host: "thread", permissions: { read: true } }),
    (error: unknown) =>
      error instanceof TypeError &&
      /thread actor "t" with permissions: a thread has exactly this process's permissions/.test(
        error.message,
      ),
  );
  await assert.rejects(system.spawn(HUNGRY, { host: "thread", permissions: {} }), TypeError);
  assert.equal(system.stats().actors, 0);
});

Deno.test("spawn checks a thread actor's heap limit and host name before anything starts", async () => {
  await using system = await ActorSystem.start();
  const refused: [Record<string, unknown>, ErrorConstructor | RangeErrorConstructor, RegExp][] = [
    [{ host: "thread", maxHeapMiB: 8 }, RangeError, /maxHeapMiB must be an integer of at least 16/],
    [{ host: "thread", maxHeapMiB: 32.5 }, RangeError, /maxHeapMiB must be an integer/],
    [{ host: "threads" }, TypeError, /"worker", "process" or "thread", received "threads"/],
  ];
  for (const [options, type, message] of refused) {
    await assert.rejects(system.spawn(HUNGRY, options), (error: unknown) => {
      assert.ok(error instanceof type, `${JSON.stringify(options)}: ${error}`);
      assert.match((error as Error).message, message);
      return true;
    });
  }
  assert.equal(system.stats().actors, 0);
});

// Platform canaries: the facts this host is built on. If a Deno upgrade
// changes one, these fail and say which.

Deno.test("canary: a Web Worker that runs out of memory ends the whole process (exit 133)", async () => {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--v8-flags=--max-old-space-size=64", OOM_PARENT.href, "web"],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.equal(code, 133, new TextDecoder().decode(stdout));
});

Deno.test("canary: a node:worker_threads Worker past its heap limit ends alone with ERR_WORKER_OUT_OF_MEMORY", async () => {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", OOM_PARENT.href, "node"],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.equal(new TextDecoder().decode(stdout), "error ERR_WORKER_OUT_OF_MEMORY\nexit 1\n");
  assert.equal(code, 0);
});

Deno.test("canary: a thread that reaches its heap limit inside a port message lives on with a raised limit", async () => {
  // Why actors/hosts/_thread.ts watches its own heap limit: Deno 2.9.6 stops
  // the code, but reports nothing and leaves the thread running. When this
  // fails, Deno reports the case itself and the watch may go.
  const source = `
    import { parentPort, workerData } from "node:worker_threads";
    import { getHeapStatistics } from "node:v8";
    const limit = getHeapStatistics().heap_size_limit;
    const kept = [];
    const timer = setInterval(() => {
      if (getHeapStatistics().heap_size_limit > limit) {
        clearInterval(timer);
        parentPort.postMessage("limit raised, still running");
      }
    }, 10);
    workerData.port.onmessage = () => { while (true) kept.push(new Array(100000).fill(1)); };
  `;
  const { port1, port2 } = new MessageChannel();
  const worker = new NodeWorker(new URL(`data:text/javascript;base64,${btoa(source)}`), {
    workerData: { port: port2 },
    transferList: [port2] as never[],
    resourceLimits: { maxOldGenerationSizeMb: 32 },
  });
  const seen: string[] = [];
  worker.on("error", (error: Error & { code?: string }) => seen.push(`error ${error.code}`));
  const message = new Promise<string>((resolve) => worker.once("message", resolve));
  port1.postMessage("go");
  try {
    assert.equal(
      await within(message, 15_000, "the thread's report"),
      "limit raised, still running",
    );
    assert.deepEqual(seen, []);
  } finally {
    port1.close();
    await worker.terminate();
  }
});

Deno.test("canary: resourceLimits.stackSizeMb makes a stack overflow abort the whole process", async () => {
  // Why the thread host sets only the old space's limit.
  const source = `
    import { parentPort } from "node:worker_threads";
    let depth = 0;
    const dive = () => { depth++; dive(); };
    try { dive(); } catch { parentPort.postMessage(depth); }
  `;
  const script = `
    import { Worker } from "node:worker_threads";
    const worker = new Worker(new URL("data:text/javascript;base64,${btoa(source)}"), {
      resourceLimits: { stackSizeMb: 1 },
    });
    worker.on("message", (depth) => { console.log("caught at", depth); worker.terminate(); });
  `;
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.equal(code, 134, new TextDecoder().decode(stdout)); // SIGABRT
});
