import assert from "node:assert/strict";
import { ActorCrashedError, ActorStoppedError, ActorSystem } from "../mod.ts";
import type { poolWorker } from "./fixtures/pool_worker.ts";
import { abortWhileStarting, HELD_INIT, within } from "./_helpers.ts";

const WORKER = new URL("./fixtures/pool_worker.ts", import.meta.url);

Deno.test("a pool of four spreads asks over every worker, each task handled once", async () => {
  await using system = await ActorSystem.start();
  const pool = await system.pool<typeof poolWorker>(WORKER, { id: "p", size: 4 });
  const results = await Promise.all(Array.from({ length: 100 }, (_, n) => pool.ask("task", n)));
  assert.deepEqual(results.map((r) => r.n), Array.from({ length: 100 }, (_, n) => n));
  assert.deepEqual(new Set(results.map((r) => r.worker)), new Set(["p-1", "p-2", "p-3", "p-4"]));
  assert.equal(pool.stats().completed, 100);
  await pool.close();
});

Deno.test("round-robin sends consecutive tasks to consecutive workers", async () => {
  await using system = await ActorSystem.start();
  const pool = await system.pool<typeof poolWorker>(WORKER, {
    id: "rr",
    size: 3,
    strategy: "round-robin",
  });
  const workers: string[] = [];
  for (let n = 0; n < 6; n++) workers.push((await pool.ask("task", n)).worker);
  assert.deepEqual(workers, ["rr-1", "rr-2", "rr-3", "rr-1", "rr-2", "rr-3"]);
  await pool.close();
});

Deno.test("drain() resolves once every submitted task is handled, like JoinableQueue.join", async () => {
  await using system = await ActorSystem.start();
  const pool = await system.pool<typeof poolWorker>(WORKER, { id: "d", size: 4 });
  for (let n = 0; n < 200; n++) await pool.tell("slowTask", n);
  await pool.drain();
  assert.equal(pool.stats().inflight, 0);
  assert.equal(pool.stats().completed, 200);
  await pool.drain(); // nothing pending: resolves at once
  await pool.close();
});

Deno.test("close() sends exactly one sentinel per worker, behind the queued tasks", async () => {
  const flags = new Int32Array(new SharedArrayBuffer(64));
  await using system = await ActorSystem.start();
  const pool = await system.pool<typeof poolWorker>(WORKER, {
    id: "c",
    size: 4,
    args: flags.buffer as SharedArrayBuffer,
  });
  const tasks = Array.from({ length: 40 }, (_, n) => pool.ask("slowTask", n));
  await pool.close();
  assert.deepEqual(await Promise.all(tasks), Array.from({ length: 40 }, (_, n) => n));
  assert.deepEqual([...flags.subarray(1, 5)], [1, 1, 1, 1]);
  await assert.rejects(pool.ask("task", 1), ActorStoppedError);
});

Deno.test("a task whose worker dies is retried once on another worker, and the worker replaced", async () => {
  const flags = new Int32Array(new SharedArrayBuffer(64));
  await using system = await ActorSystem.start();
  const events = system.events();
  const pool = await system.pool<typeof poolWorker>(WORKER, {
    id: "r",
    size: 2,
    args: flags.buffer as SharedArrayBuffer,
  });
  Atomics.store(flags, 15, 1);
  assert.equal(await pool.ask("crashOnce", 21), 42);
  assert.equal(pool.stats().retried, 1);
  for await (const event of events) if (event.type === "restarted") break;
  assert.equal((await Promise.all([pool.ask("task", 1), pool.ask("task", 2)])).length, 2);
  // Both the crashed attempt and the retry gave their worker's load back.
  assert.deepEqual(pool.stats().load, { "r-1": 0, "r-2": 0 });
  await pool.close();
});

Deno.test("without retry, a task whose worker dies fails with ActorCrashedError", async () => {
  const flags = new Int32Array(new SharedArrayBuffer(64));
  await using system = await ActorSystem.start();
  const pool = await system.pool<typeof poolWorker>(WORKER, {
    id: "nr",
    size: 2,
    retry: false,
    args: flags.buffer as SharedArrayBuffer,
  });
  Atomics.store(flags, 15, 1);
  await assert.rejects(pool.ask("crashOnce", 1), ActorCrashedError);
  assert.equal(pool.stats().failed, 1);
  assert.deepEqual(pool.stats().load, { "nr-1": 0, "nr-2": 0 });
  await pool.close();
});

Deno.test("tasks that fail give their worker's load back, so least-loaded keeps spreading", async () => {
  await using system = await ActorSystem.start();
  const pool = await system.pool<typeof poolWorker>(WORKER, { id: "f", size: 2 });
  const outcomes = await Promise.allSettled(
    Array.from({ length: 40 }, (_, n) => n % 2 ? pool.ask("fail", n) : pool.ask("task", n)),
  );
  assert.equal(outcomes.filter((o) => o.status === "rejected").length, 20);
  const stats = pool.stats();
  assert.deepEqual([stats.completed, stats.failed, stats.inflight], [20, 20, 0]);
  assert.deepEqual(stats.load, { "f-1": 0, "f-2": 0 });
  const workers = await Promise.all(Array.from({ length: 10 }, (_, n) => pool.ask("task", n)));
  assert.deepEqual(new Set(workers.map((r) => r.worker)), new Set(["f-1", "f-2"]));
  await pool.close();
});

Deno.test("a pool of process actors works the same way", async () => {
  await using system = await ActorSystem.start();
  const pool = await system.pool<typeof poolWorker>(WORKER, {
    id: "pp",
    size: 2,
    host: "process",
  });
  const results = await Promise.all(Array.from({ length: 20 }, (_, n) => pool.ask("task", n)));
  assert.equal(new Set(results.map((r) => r.worker)).size, 2);
  await pool.close();
});

Deno.test("pool() validates its size", async () => {
  await using system = await ActorSystem.start();
  await assert.rejects(system.pool(WORKER, { size: 0 }), /size must be a positive integer/);
});

Deno.test("pool() aborted while its workers start stops those started and rejects with the reason", async () => {
  await using system = await ActorSystem.start();
  // Worker 1 starts; worker 2 is held in its init until the abort; 3 and 4 never start.
  await abortWhileStarting(
    system,
    (args, signal) => system.pool(HELD_INIT, { id: "p", size: 4, args, signal }),
  );
});

Deno.test("pool() with an aborted signal rejects at once and starts nothing", async () => {
  await using system = await ActorSystem.start();
  const reason = new Error("aborted before");
  await assert.rejects(
    system.pool(WORKER, { size: 2, signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
  assert.equal(system.stats().spawned, 0);
});

Deno.test("drain({ signal }) rejects with the reason when aborted; the tasks go on", async () => {
  const flags = new Int32Array(new SharedArrayBuffer(64));
  await using system = await ActorSystem.start();
  const pool = await system.pool<typeof poolWorker>(WORKER, {
    id: "ds",
    size: 2,
    args: flags.buffer as SharedArrayBuffer,
  });
  const tasks = Array.from({ length: 4 }, (_, n) => pool.ask("held", n));
  tasks.forEach((task) => task.catch(() => {})); // awaited below, unless the test fails first
  const controller = new AbortController();
  const drained = pool.drain({ signal: controller.signal });
  const reason = new Error("stop waiting");
  controller.abort(reason);
  await assert.rejects(within(drained, 10_000, "the aborted drain"), (error) => error === reason);
  await assert.rejects(pool.drain({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
  Atomics.store(flags, 14, 1);
  Atomics.notify(flags, 14);
  assert.deepEqual(await Promise.all(tasks), [0, 1, 2, 3]);
  await pool.drain({ signal: controller.signal }); // nothing pending: an aborted signal after is moot
  await pool.close();
});

Deno.test("close({ signal }) kills the workers still stopping when aborted", async () => {
  const flags = new Int32Array(new SharedArrayBuffer(64));
  await using system = await ActorSystem.start();
  const pool = await system.pool<typeof poolWorker>(WORKER, {
    id: "cs",
    size: 2,
    shutdown: 60_000,
    args: flags.buffer as SharedArrayBuffer,
  });
  // Both workers hang in a task until the gate opens, which it never does.
  const tasks = [pool.ask("held", 1), pool.ask("held", 2)].map((t) => t.catch((e) => e));
  const controller = new AbortController();
  const closing = pool.close({ signal: controller.signal });
  controller.abort(new Error("no time left"));
  await within(closing, 10_000, "the aborted close");
  for (const outcome of await Promise.all(tasks)) {
    assert.ok(outcome instanceof ActorCrashedError, String(outcome));
  }
  assert.deepEqual([...flags.subarray(1, 3)], [0, 0], "no stop hook ran");
  assert.deepEqual(system.stats().exits, { killed: 2 });
  assert.equal(system.stats().events.restarted ?? 0, 0);
});
