// The pool's broadcasts, priorities, dynamic size and recycling, on worker and process hosts.
import assert from "node:assert/strict";
import {
  ActorCrashedError,
  ActorError,
  ActorRestartingError,
  ActorStoppedError,
  ActorSystem,
  type LifecycleEvent,
} from "../mod.ts";
import {
  GATE,
  HELD_INITS,
  HOLD_NEXT_INIT,
  type poolFeaturesWorker,
  STOPS,
} from "./fixtures/pool_features_worker.ts";
import { within } from "./_helpers.ts";

const WORKER = new URL("./fixtures/pool_features_worker.ts", import.meta.url);
const HOSTS = ["worker", "process"] as const;
type Host = typeof HOSTS[number];

/** Collects a system's events as they come; `until` waits (bounded) for a condition on them. */
function collect(system: ActorSystem) {
  const seen: LifecycleEvent[] = [];
  let wake = () => {};
  const events = system.events();
  void (async () => {
    for await (const event of events) {
      seen.push(event);
      wake();
    }
  })();
  const of = <T extends LifecycleEvent["type"]>(type: T) =>
    seen.filter((e): e is Extract<LifecycleEvent, { type: T }> => e.type === type);
  return {
    seen,
    of,
    async until(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
      const deadline = Date.now() + ms;
      while (!condition()) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`Timed out after ${ms} ms: ${what}`);
        await within(new Promise<void>((resolve) => wake = resolve), left, what);
      }
    },
  };
}

function openGate(flags: Int32Array): void {
  Atomics.store(flags, GATE, 1);
  Atomics.notify(flags, GATE);
}

async function untilFlag(flags: Int32Array, index: number, value: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Atomics.load(flags, index) !== value) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`Timed out waiting for flag ${index} to be ${value}`);
    const result = Atomics.waitAsync(flags, index, Atomics.load(flags, index), left);
    if (result.async) await result.value;
  }
}

for (const host of HOSTS) {
  Deno.test(`askAll() collects every worker's reply, settled, and tellAll() reaches each (${host})`, async () => {
    await using system = await ActorSystem.start();
    const pool = await system.pool<typeof poolFeaturesWorker>(WORKER, {
      id: "b",
      size: 3,
      host,
      args: { config: "v1" },
    });
    const told = await pool.tellAll("setConfig", "v2");
    assert.deepEqual(told.map((r) => [r.worker, r.status]), [
      ["b-1", "fulfilled"],
      ["b-2", "fulfilled"],
      ["b-3", "fulfilled"],
    ]);
    const configs = await pool.askAll("getConfig");
    assert.deepEqual(
      configs.map((r) => r.status === "fulfilled" ? [r.worker, r.value.config] : r.reason),
      [["b-1", "v2"], ["b-2", "v2"], ["b-3", "v2"]],
    );
    // One worker failing does not hide the others.
    const outcomes = await pool.askAll("failOn", "b-2");
    assert.deepEqual(outcomes.map((r) => [r.worker, r.status]), [
      ["b-1", "fulfilled"],
      ["b-2", "rejected"],
      ["b-3", "fulfilled"],
    ]);
    const failed = outcomes[1]!;
    assert.ok(failed.status === "rejected" && failed.reason instanceof ActorError);
    assert.match(String(failed.reason.message), /b-2 refuses/);
    // Broadcasts are no tasks.
    assert.deepEqual([pool.stats().completed, pool.stats().failed], [0, 0]);
    await pool.close();
    await assert.rejects(pool.askAll("getConfig"), ActorStoppedError);
    await assert.rejects(pool.tellAll("setConfig", "v3"), ActorStoppedError);
  });

  Deno.test(`tasks waiting in the pool run highest priority first, FIFO within one (${host})`, async () => {
    await using system = await ActorSystem.start();
    const pool = await system.pool<typeof poolFeaturesWorker>(WORKER, {
      size: 1,
      tasksPerWorker: 1,
      host,
      args: { config: "" },
    });
    // Submitted in one turn: task 0 goes to the free worker, the rest wait in the pool.
    const priorities = [0, 0, 5, 1, 5, 0, 10, -1];
    const order: number[] = [];
    const tasks = priorities.map((priority, n) =>
      pool.ask("task", n, { priority }).then((r) => order.push(r.n))
    );
    assert.equal(pool.stats().queued, 7);
    await within(Promise.all(tasks), 20_000, "the tasks");
    assert.deepEqual(order, [0, 6, 2, 4, 3, 1, 5, 7]);
    // tell takes a priority too.
    await pool.tell("task", 8, { priority: 3 });
    await pool.drain();
    assert.equal(pool.stats().completed, 9);
    await pool.close();
  });

  Deno.test(`a dynamic pool grows to max under load and shrinks back to min when idle (${host})`, async () => {
    await using system = await ActorSystem.start();
    const events = collect(system);
    const pool = await system.pool<typeof poolFeaturesWorker>(WORKER, {
      id: "dyn",
      min: 1,
      max: 3,
      idleTimeout: 200,
      host,
      args: { config: "" },
    });
    assert.deepEqual([pool.size, pool.stats().min, pool.stats().max], [1, 1, 3]);
    // One task at a time per worker (a dynamic pool's default): 9 of 10 wait, so it grows to 3.
    const first = await within(
      Promise.all(Array.from({ length: 10 }, (_, n) => pool.ask("task", n))),
      20_000,
      "the first tasks",
    );
    assert.deepEqual(first.map((r) => r.n), Array.from({ length: 10 }, (_, n) => n));
    await events.until(() => events.of("pool-grew").length === 2, "two pool-grew events");
    await events.until(() => events.of("pool-shrank").length >= 1, "the first pool-shrank");
    // Tasks submitted while it shrinks are not lost.
    const more = await within(
      Promise.all(Array.from({ length: 20 }, (_, n) => pool.ask("task", n))),
      20_000,
      "the tasks submitted while shrinking",
    );
    assert.equal(more.length, 20);
    await events.until(() => pool.size === 1 && pool.stats().inflight === 0, "back to min");
    await events.until(
      () => events.of("pool-shrank").length === events.of("pool-grew").length,
      "a shrink for each growth",
    );
    const sizes = [...events.of("pool-grew"), ...events.of("pool-shrank")].map((e) => e.size);
    assert.ok(sizes.every((size) => size >= 1 && size <= 3), `sizes ${sizes}`);
    assert.ok(events.of("pool-grew").every((e) => e.id === "dyn"));
    assert.equal(pool.stats().completed, 30);
    await pool.close();
  });

  Deno.test(`maxTasks recycles a worker after N tasks, losing none of those queued (${host})`, async () => {
    await using system = await ActorSystem.start();
    const events = collect(system);
    const pool = await system.pool<typeof poolFeaturesWorker>(WORKER, {
      id: "rc",
      size: 1,
      maxTasks: 3,
      host,
      args: { config: "" },
    });
    const results = await within(
      Promise.all(Array.from({ length: 10 }, (_, n) => pool.ask("task", n))),
      30_000,
      "the tasks",
    );
    assert.deepEqual(results.map((r) => r.n), Array.from({ length: 10 }, (_, n) => n));
    assert.deepEqual(results.map((r) => r.worker), [
      ...["rc-1", "rc-1", "rc-1", "rc-2", "rc-2", "rc-2", "rc-3", "rc-3", "rc-3", "rc-4"],
    ]);
    const recycled = events.of("pool-recycled");
    assert.deepEqual(
      recycled.map((e) => [e.worker, e.replacement, e.reason, e.tasks]),
      [["rc-1", "rc-2", "tasks", 3], ["rc-2", "rc-3", "tasks", 3], ["rc-3", "rc-4", "tasks", 3]],
    );
    // Each retired worker stopped through its sentinel.
    await events.until(
      () => events.of("stopped").filter((e) => e.reason === "normal").length === 3,
      "the retired workers' stops",
    );
    assert.deepEqual(
      events.of("stopped").map((e) => e.id).sort(),
      ["rc-1", "rc-2", "rc-3"],
    );
    assert.deepEqual([pool.size, pool.stats().recycled, pool.stats().completed], [1, 3, 10]);
    assert.deepEqual(pool.stats().load, { "rc-4": 0 });
    await pool.close();
  });
}

Deno.test("priorities hold while the one worker is blocked, and a waiting task's timeout and signal end its wait", async () => {
  const flags = new Int32Array(new SharedArrayBuffer(256));
  await using system = await ActorSystem.start();
  const pool = await system.pool<typeof poolFeaturesWorker>(WORKER, {
    size: 1,
    tasksPerWorker: 1,
    args: { config: "", flags: flags.buffer as SharedArrayBuffer },
  });
  const order: number[] = [];
  const blocked = pool.ask("held", -1);
  const tasks = [1, 3, 2, 3, 1].map((priority, n) =>
    pool.ask("task", n, { priority }).then((r) => order.push(r.n))
  );
  const controller = new AbortController();
  const timedOut = pool.ask("task", 10, { priority: 9, timeout: 20 });
  const aborted = pool.ask("task", 11, { priority: 9, signal: controller.signal });
  const reason = new Error("not any more");
  controller.abort(reason);
  await assert.rejects(aborted, (error) => error === reason);
  await assert.rejects(within(timedOut, 10_000, "the timeout"), { name: "TimeoutError" });
  assert.deepEqual([pool.stats().queued, pool.stats().failed], [5, 2]);
  await assert.rejects(pool.ask("task", 0, { priority: NaN }), RangeError);
  await assert.rejects(pool.tell("task", 0, { priority: Infinity }), RangeError);
  assert.equal(pool.stats().inflight, 6, "the refused tasks were never counted");
  openGate(flags);
  await within(Promise.all([blocked, ...tasks]), 10_000, "the tasks");
  assert.deepEqual(order, [1, 3, 2, 0, 4]);
  await pool.close();
});

for (const whileRestarting of ["wait", "fail"] as const) {
  Deno.test(`askAll() reaches a worker being restarted per whileRestarting: "${whileRestarting}"`, async () => {
    const flags = new Int32Array(new SharedArrayBuffer(256));
    await using system = await ActorSystem.start();
    const pool = await system.pool<typeof poolFeaturesWorker>(WORKER, {
      id: "wr",
      size: 2,
      retry: false,
      whileRestarting,
      args: { config: "first", flags: flags.buffer as SharedArrayBuffer },
    });
    await pool.tellAll("setConfig", "second");
    Atomics.store(flags, HOLD_NEXT_INIT, 1);
    await assert.rejects(pool.ask("crash", undefined), ActorCrashedError); // wr-1, least loaded
    await untilFlag(flags, HELD_INITS, 1); // its next incarnation waits in init
    const results = pool.askAll("getConfig", undefined, { timeout: 10_000 });
    if (whileRestarting === "fail") {
      const [restarting, running] = await within(results, 10_000, "the broadcast");
      assert.ok(restarting?.status === "rejected");
      assert.ok(restarting.reason instanceof ActorRestartingError, String(restarting.reason));
      assert.deepEqual(running, {
        worker: "wr-2",
        status: "fulfilled",
        value: { worker: "wr-2", config: "second", handled: 0 },
      });
      openGate(flags);
    } else {
      openGate(flags);
      // The new incarnation answers: it starts from its args, not from the broadcast before.
      assert.deepEqual((await within(results, 10_000, "the broadcast")).map((r) => r), [
        {
          worker: "wr-1",
          status: "fulfilled",
          value: { worker: "wr-1", config: "first", handled: 0 },
        },
        {
          worker: "wr-2",
          status: "fulfilled",
          value: { worker: "wr-2", config: "second", handled: 0 },
        },
      ]);
    }
    await pool.close();
  });
}

Deno.test("askAll() reaches a worker still starting once it is up", async () => {
  await using system = await ActorSystem.start();
  const pool = await system.pool<typeof poolFeaturesWorker>(WORKER, {
    id: "bs",
    size: 1,
    maxTasks: 1,
    args: { config: "c" },
  });
  await pool.ask("task", 1); // bs-1 is retired; bs-2 is starting
  const results = await pool.askAll("getConfig");
  assert.deepEqual(results.map((r) => [r.worker, r.status]), [["bs-2", "fulfilled"]]);
  await pool.close();
});

Deno.test("maxTasks drains the retired worker: it finishes what it was sent, runs its stop hook, and queued tasks wait", async () => {
  const flags = new Int32Array(new SharedArrayBuffer(256));
  await using system = await ActorSystem.start();
  const events = collect(system);
  const pool = await system.pool<typeof poolFeaturesWorker>(WORKER, {
    id: "dr",
    size: 2,
    maxTasks: 2,
    args: { config: "", flags: flags.buffer as SharedArrayBuffer },
  });
  // dr-1 and dr-2 each get two held tasks and are retired; the rest wait for dr-3 and dr-4.
  const tasks = Array.from({ length: 8 }, (_, n) => pool.ask("held", n));
  await events.until(() => events.of("pool-recycled").length === 2, "two recycled");
  assert.equal(Atomics.load(flags, STOPS + 1), 0, "dr-1 is still busy, not stopped");
  openGate(flags);
  const results = await within(Promise.all(tasks), 20_000, "the tasks");
  assert.deepEqual(results.map((r) => r.n), [0, 1, 2, 3, 4, 5, 6, 7]);
  const perWorker: Record<string, number> = {};
  for (const r of results) perWorker[r.worker] = (perWorker[r.worker] ?? 0) + 1;
  assert.ok(Object.values(perWorker).every((count) => count <= 2), JSON.stringify(perWorker));
  await untilFlag(flags, STOPS + 1, 1); // dr-1's stop hook ran: it stopped through its sentinel
  await untilFlag(flags, STOPS + 2, 1);
  await pool.close();
});

Deno.test("maxMemory recycles a process worker whose resident set passes the mark", async () => {
  await using system = await ActorSystem.start();
  const events = collect(system);
  const pool = await system.pool<typeof poolFeaturesWorker>(WORKER, {
    id: "mem",
    size: 1,
    host: "process",
    maxMemory: 256 * 1024 * 1024,
    memoryInterval: 20,
    args: { config: "" },
  });
  assert.equal(await pool.ask("hog", 320), "mem-1");
  await events.until(() => events.of("pool-recycled").length === 1, "the recycling");
  const [event] = events.of("pool-recycled");
  assert.equal(event?.reason, "memory");
  assert.equal(event?.worker, "mem-1");
  assert.ok((event?.memory ?? 0) > 256 * 1024 * 1024, String(event?.memory));
  assert.equal((await pool.ask("task", 1)).worker, "mem-2");
  await pool.close();
});

Deno.test("close() sends the tasks waiting in the pool ahead of the sentinels; close({ signal }) fails them", async () => {
  await using system = await ActorSystem.start();
  const pool = await system.pool<typeof poolFeaturesWorker>(WORKER, {
    size: 1,
    tasksPerWorker: 1,
    args: { config: "" },
  });
  const tasks = Array.from({ length: 5 }, (_, n) => pool.ask("task", n));
  assert.equal(pool.stats().queued, 4);
  await pool.close();
  assert.deepEqual((await Promise.all(tasks)).map((r) => r.n), [0, 1, 2, 3, 4]);

  const flags = new Int32Array(new SharedArrayBuffer(256));
  const killed = await system.pool<typeof poolFeaturesWorker>(WORKER, {
    size: 1,
    tasksPerWorker: 1,
    args: { config: "", flags: flags.buffer as SharedArrayBuffer },
  });
  const blocked = killed.ask("held", 0).catch((e) => e);
  const waiting = [killed.ask("task", 1), killed.ask("task", 2)].map((t) => t.catch((e) => e));
  await within(killed.close({ signal: AbortSignal.abort(new Error("now")) }), 10_000, "the kill");
  assert.ok(await blocked instanceof ActorCrashedError);
  for (const outcome of await Promise.all(waiting)) {
    assert.ok(outcome instanceof ActorStoppedError, String(outcome));
  }
});

Deno.test("pool() checks its dynamic and recycling options and starts nothing when they are wrong", async () => {
  await using system = await ActorSystem.start();
  const bad: [Record<string, unknown>, ErrorConstructor | RangeErrorConstructor, RegExp][] = [
    [{ size: 2, max: 4 }, TypeError, /size cannot be combined with min or max/],
    [{ min: 0, max: 2 }, RangeError, /min must be a positive integer, received 0/],
    [{ min: 3, max: 2 }, RangeError, /max must be at least min \(3\), received 2/],
    [{ maxTasks: 0 }, RangeError, /maxTasks must be a positive integer/],
    [{ tasksPerWorker: 1.5 }, RangeError, /tasksPerWorker must be a positive integer/],
    [{ idleTimeout: -1, max: 2 }, RangeError, /idleTimeout must be a positive number/],
    [{ maxMemory: NaN }, RangeError, /maxMemory must be a positive number/],
    [{ strategy: "random" }, TypeError, /strategy must be least-loaded or round-robin/],
  ];
  for (const [options, type, message] of bad) {
    await assert.rejects(system.pool(WORKER, options), (error: Error) => {
      assert.ok(error instanceof type, `${JSON.stringify(options)}: ${error}`);
      assert.match(error.message, message);
      return true;
    });
  }
  assert.equal(system.stats().spawned, 0);
});
