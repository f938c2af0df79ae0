// Shared memory across worker actors: SharedValue / SharedArray (SEEDS 7, 8),
// Mutex, and Semaphore (SEEDS 9). Actors report every change the test waits
// for by bumping an events word; the test re-checks on each bump, bounded.
import assert from "node:assert/strict";
import { ActorCrashedError, ActorSystem } from "../mod.ts";
import { SharedArray } from "../actors/sync/shared_array.ts";
import { SharedValue } from "../actors/sync/shared_value.ts";
import { Mutex } from "../actors/sync/mutex.ts";
import { Semaphore } from "../actors/sync/semaphore.ts";
import type { adder } from "./fixtures/shared_counter.ts";
import type { updater } from "./fixtures/shared_mutex.ts";
import type { contender, EnterResult } from "./fixtures/shared_semaphore.ts";
import { within } from "./_helpers.ts";

const COUNTER = new URL("./fixtures/shared_counter.ts", import.meta.url);
const MUTEX = new URL("./fixtures/shared_mutex.ts", import.meta.url);
const SEMAPHORE = new URL("./fixtures/shared_semaphore.ts", import.meta.url);

const GATE = 0;
const EVENTS = 1;

/** Resolves once `check()` holds, re-checking whenever an actor bumps signals[EVENTS]. */
function until(signals: Int32Array, check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  const loop = async () => {
    while (true) {
      const seen = Atomics.load(signals, EVENTS);
      if (check()) return;
      const left = deadline - Date.now();
      if (left <= 0) return;
      const result = Atomics.waitAsync(signals, EVENTS, seen, left);
      if (result.async) await result.value;
    }
  };
  return within(loop(), ms + 100, what);
}

function open(signals: Int32Array, index = GATE): void {
  Atomics.store(signals, index, 1);
  Atomics.notify(signals, index);
}

const isTimeout = (error: unknown) =>
  error instanceof DOMException && error.name === "TimeoutError";

// --- SharedValue and SharedArray -------------------------------------------------

Deno.test("SharedValue supports every kind with atomic add, sub, exchange and compareExchange", () => {
  const i32 = SharedValue.of("i32", 5);
  assert.equal(i32.add(3), 5);
  assert.equal(i32.sub(10), 8);
  assert.equal(i32.load(), -2);
  assert.equal(i32.exchange(7), -2);
  assert.equal(i32.compareExchange(7, 9), 7);
  assert.equal(i32.compareExchange(7, 11), 9);
  assert.equal(i32.load(), 9);
  i32.store(2 ** 31 - 1);
  i32.add(1);
  assert.equal(i32.load(), -(2 ** 31), "i32 wraps around like C");

  const u32 = SharedValue.of("u32");
  u32.sub(1);
  assert.equal(u32.load(), 2 ** 32 - 1);

  const f64 = SharedValue.of("f64", 0.25);
  assert.equal(f64.add(0.5), 0.25);
  assert.equal(f64.sub(1), 0.75);
  assert.equal(f64.load(), -0.25);
  assert.equal(f64.exchange(1e300), -0.25);
  assert.equal(f64.load(), 1e300);

  const big = SharedValue.of("bigint64", 2n ** 62n);
  big.add(2n ** 62n);
  assert.equal(big.load(), -(2n ** 63n), "bigint64 wraps around like C");
  assert.equal(big.compareExchange(-(2n ** 63n), 1n), -(2n ** 63n));
  assert.equal(big.load(), 1n);
});

Deno.test("SharedValue f64 compareExchange compares with Object.is", () => {
  const value = SharedValue.of("f64", -0);
  assert.ok(Object.is(value.compareExchange(0, 1), -0), "0 does not match -0");
  assert.ok(Object.is(value.load(), -0));
  assert.ok(Object.is(value.compareExchange(-0, 1), -0));
  assert.equal(value.load(), 1);
  value.store(NaN);
  assert.ok(Number.isNaN(value.compareExchange(NaN, 2)), "NaN matches NaN");
  assert.equal(value.load(), 2);
});

Deno.test("SharedValue.from() rebuilds a structured-cloned descriptor over the same memory", () => {
  const value = SharedValue.of("bigint64", 1n);
  const copy = SharedValue.from(structuredClone(value.share()));
  assert.equal(copy.kind, "bigint64");
  copy.add(41n);
  assert.equal(value.load(), 42n);
  const array = SharedArray.of("f64", 3);
  const arrayCopy = SharedArray.from(structuredClone(array.share()));
  arrayCopy.add(2, 0.5);
  assert.deepEqual(array.toArray(), [0, 0, 0.5]);
  assert.equal(arrayCopy.length, 3);
});

Deno.test("SharedValue and SharedArray refuse values and descriptors that do not fit", () => {
  const i32 = SharedValue.of("i32");
  assert.throws(
    () => i32.store(1.5),
    /an i32 takes an integer from -2147483648 to 2147483647, received 1.5/,
  );
  assert.throws(() => i32.store(2 ** 31), RangeError);
  assert.throws(() => i32.add(0.5), RangeError);
  assert.throws(() => i32.add(1n as never), TypeError);
  assert.throws(() => SharedValue.of("u32", -1), RangeError);
  assert.throws(() => SharedValue.of("bigint64", 1 as never), TypeError);
  assert.throws(() => SharedValue.of("bigint64", 2n ** 63n), RangeError);
  assert.throws(() => SharedValue.of("f64", "1" as never), TypeError);
  assert.throws(
    () => SharedValue.of("int" as never),
    /kind must be one of "i32", "u32", "f64", "bigint64", received "int"/,
  );
  assert.throws(
    () => SharedValue.from({ kind: "f64", buffer: new SharedArrayBuffer(4) }),
    /an f64 needs a buffer of 8 bytes, received 4/,
  );
  assert.throws(
    () => SharedValue.from({ kind: "i32", buffer: new ArrayBuffer(4) as never }),
    /was it sent to a process actor/,
  );
  assert.throws(() => SharedValue.from(null as never), TypeError);
  assert.throws(() => SharedArray.of("i32", 0), RangeError);
  assert.throws(
    () => SharedArray.from({ kind: "f64", buffer: new SharedArrayBuffer(12) }),
    TypeError,
  );
  const array = SharedArray.of("i32", 2);
  assert.throws(() => array.load(2), /index must be an integer from 0 to 1, received 2/);
  assert.throws(() => array.add(0.5, 1), RangeError);
  assert.throws(() => array.store(-1, 1), RangeError);
});

Deno.test("two worker actors each adding 1 a thousand times end at exactly 2000, fifty times over", async () => {
  await using system = await ActorSystem.start();
  const value = SharedValue.of("i32");
  const barrier = new SharedArrayBuffer(4);
  const actors = await Promise.all(
    [1, 2].map(() =>
      system.spawn<typeof adder>(COUNTER, { args: { value: value.share(), barrier } })
    ),
  );
  for (let round = 1; round <= 50; round++) {
    value.store(0);
    // Both actors spin at a barrier, then add at the same moment.
    await within(
      Promise.all(actors.map((a) => a.ask("add", { times: 1000, amount: 1, arrivals: 2 * round }))),
      10_000,
      `round ${round}`,
    );
    assert.equal(value.load(), 2000, `round ${round}`);
  }
});

Deno.test("ten worker actors each adding 1 end at exactly 10, and a SharedArray tallies every add", async () => {
  await using system = await ActorSystem.start();
  const value = SharedValue.of("i32");
  const tallies = SharedArray.of("u32", 4);
  const actors = await Promise.all(
    Array.from({ length: 10 }, () =>
      system.spawn<typeof adder>(COUNTER, {
        args: { value: value.share(), tallies: tallies.share() },
      })),
  );
  await within(
    Promise.all(
      actors.flatMap((a) => [a.ask("add", { times: 1, amount: 1 }), a.ask("tally", 100)]),
    ),
    10_000,
    "ten actors adding",
  );
  assert.equal(value.load(), 10);
  assert.deepEqual(tallies.toArray(), [1000, 1000, 1000, 1000]);
});

Deno.test("f64 and bigint64 adds under contention from two workers are exact", async () => {
  await using system = await ActorSystem.start();
  const float = SharedValue.of("f64");
  const big = SharedValue.of("bigint64");
  const barrier = new SharedArrayBuffer(4);
  const floats = await Promise.all(
    [1, 2].map(() =>
      system.spawn<typeof adder>(COUNTER, { args: { value: float.share(), barrier } })
    ),
  );
  const bigs = await Promise.all(
    [1, 2].map(() =>
      system.spawn<typeof adder>(COUNTER, { args: { value: big.share(), barrier } })
    ),
  );
  await within(
    Promise.all(floats.map((a) => a.ask("add", { times: 20_000, amount: 0.5, arrivals: 2 }))),
    10_000,
    "f64 adds",
  );
  assert.equal(float.load(), 20_000);
  await within(
    Promise.all(bigs.map((a) => a.ask("add", { times: 20_000, amount: 2n ** 40n, arrivals: 4 }))),
    10_000,
    "bigint64 adds",
  );
  assert.equal(big.load(), 40_000n * 2n ** 40n);
});

// --- Mutex ----------------------------------------------------------------------

Deno.test("Mutex keeps two fields equal under contention from three workers and the main thread, with timeouts and aborts between", async () => {
  await using system = await ActorSystem.start();
  const mutex = new Mutex();
  const fieldsBuffer = new SharedArrayBuffer(8);
  const fields = new Int32Array(fieldsBuffer);
  const signals = new SharedArrayBuffer(16);
  const actors = await Promise.all(
    [1, 2, 3].map((owner) =>
      system.spawn<typeof updater>(MUTEX, {
        args: { mutex: mutex.share(), owner, fields: fieldsBuffer, signals },
      })
    ),
  );
  const work = actors.map((a) => a.ask("update", 300));
  let mine = 0;
  let torn = 0;
  let timedOut = 0;
  let aborted = 0;
  const update = async (options: { timeout?: number; signal?: AbortSignal }) => {
    let lock;
    try {
      lock = await mutex.lock(options);
    } catch (error) {
      if (isTimeout(error)) timedOut++;
      else if (error === options.signal?.reason) aborted++;
      else throw error;
      return;
    }
    using _lock = lock;
    const a = fields[0];
    const b = fields[1];
    if (a !== b) torn++;
    fields[0] = a + 1;
    await Promise.resolve();
    fields[1] = b + 1;
    mine++;
  };
  for (let i = 0; i < 300; i++) {
    if (i % 3 === 1) {
      await update({ timeout: 0 }); // may time out: the workers keep the lock busy
    } else if (i % 5 === 2) {
      const controller = new AbortController();
      const attempt = update({ signal: controller.signal });
      controller.abort(new Error("given up"));
      await attempt;
    } else {
      await update({ timeout: 10_000 });
    }
  }
  const workerTorn = await within(Promise.all(work), 20_000, "workers updating");
  assert.deepEqual(workerTorn, [0, 0, 0]);
  assert.equal(torn, 0);
  assert.equal(fields[0], fields[1]);
  assert.equal(fields[0], 900 + mine);
  assert.equal(mine + timedOut + aborted, 300);
  assert.equal(mutex.locked, false);
  assert.equal(mutex.waiting, 0);
});

Deno.test("Mutex.lock() times out or aborts while a worker holds it, leaving it held and later waiters unblocked", async () => {
  await using system = await ActorSystem.start();
  const mutex = new Mutex({ name: "fields" });
  const signalsBuffer = new SharedArrayBuffer(16);
  const signals = new Int32Array(signalsBuffer);
  const holder = await system.spawn<typeof updater>(MUTEX, {
    args: {
      mutex: mutex.share(),
      owner: 1,
      fields: new SharedArrayBuffer(8),
      signals: signalsBuffer,
    },
  });
  const held = holder.ask("hold");
  await until(signals, () => mutex.locked, "the worker to lock");

  const controller = new AbortController();
  const abortedFirst = mutex.lock({ signal: controller.signal });
  const timedOutSecond = mutex.lock({ timeout: 20 });
  const third = mutex.lock({ timeout: 10_000 });
  assert.equal(mutex.waiting, 3);
  const reason = new Error("caller gave up");
  controller.abort(reason);
  await assert.rejects(abortedFirst, (error) => error === reason);
  await assert.rejects(timedOutSecond, (error: unknown) => {
    assert.ok(isTimeout(error));
    assert.match((error as Error).message, /Timed out after 20 ms waiting for "fields"/);
    return true;
  });
  assert.equal(mutex.locked, true, "the worker still holds it");
  assert.equal(mutex.tryLock(), undefined);
  assert.equal(mutex.waiting, 1);
  await assert.rejects(
    mutex.lock({ signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );

  open(signals);
  await within(held, 15_000, "the worker to unlock");
  const lock = await within(third, 15_000, "the third waiter");
  assert.equal(mutex.locked, true);
  lock.unlock();
  lock.unlock(); // a second unlock does nothing
  assert.equal(mutex.locked, false);
  assert.equal(mutex.waiting, 0);
});

Deno.test("Mutex checks who unlocks it and validates its options", async () => {
  const mutex = new Mutex({ owner: 1 });
  assert.throws(() => mutex.unlock(), /Cannot unlock mutex "mutex": it is not locked/);
  const held = mutex.tryLock()!;
  assert.equal(held.owner, 1);
  assert.throws(() => mutex.unlock(2), /another owner holds it, not owner 2/);
  mutex.unlock();
  assert.equal(held.unlocked, false, "the guard was not used");
  held.unlock(); // the lock is free already: nothing happens
  assert.equal(mutex.locked, false);
  {
    await using _lock = await mutex.lock();
    assert.equal(mutex.locked, true);
  }
  assert.equal(mutex.locked, false);
  assert.throws(() => new Mutex({ owner: -1 }), RangeError);
  await assert.rejects(mutex.lock({ timeout: -1 }), RangeError);
  await assert.rejects(mutex.lock({ timeout: Infinity }), RangeError);
  assert.throws(() => Mutex.from(new Semaphore(2).share()), /semaphore's with 2 permits/);
});

// --- Semaphore -------------------------------------------------------------------

async function contenders(
  system: ActorSystem,
  sem: Semaphore,
  owners: number[],
) {
  const inside = SharedValue.of("i32");
  const peak = SharedValue.of("i32");
  const log = SharedArray.of("i32", 64);
  const signalsBuffer = new SharedArrayBuffer(64);
  const actors = await Promise.all(
    owners.map((owner) =>
      system.spawn<typeof contender>(SEMAPHORE, {
        id: `owner-${owner}`,
        args: {
          sem: sem.share(),
          owner,
          inside: inside.share(),
          peak: peak.share(),
          log: log.share(),
          signals: signalsBuffer,
        },
      })
    ),
  );
  const logged = () => log.toArray().slice(1, 1 + log.load(0));
  return { actors, inside, peak, logged, signals: new Int32Array(signalsBuffer) };
}

Deno.test("Semaphore(2) with three worker actors: measured peak concurrency is exactly 2", async () => {
  await using system = await ActorSystem.start();
  const sem = new Semaphore(2);
  const { actors, inside, peak, logged, signals } = await contenders(system, sem, [1, 2, 3]);
  const entries = actors.map((a) => a.ask("enter"));
  await until(signals, () => inside.load() === 2 && sem.waiting === 1, "two inside, one queued");
  assert.equal(sem.available, 0);
  open(signals);
  const results = await within(Promise.all(entries), 15_000, "all three to enter and leave");
  assert.deepEqual(results, [{ entered: true }, { entered: true }, { entered: true }]);
  assert.deepEqual(logged().sort(), [1, 2, 3]);
  assert.equal(peak.load(), 2);

  // Then under contention: three actors entering and leaving 200 times each.
  const counts = await within(
    Promise.all(actors.map((a) => a.ask("loop", 200))),
    20_000,
    "three actors looping",
  );
  assert.deepEqual(counts, [200, 200, 200]);
  assert.equal(peak.load(), 2);
  assert.equal(inside.load(), 0);
  assert.equal(sem.available, 2);
  assert.equal(sem.waiting, 0);
});

Deno.test("Semaphore hands permits to waiting worker actors in FIFO order", async () => {
  await using system = await ActorSystem.start();
  const sem = new Semaphore(1);
  const { actors, logged, signals } = await contenders(system, sem, [1, 2, 3]);
  open(signals); // each leaves as soon as it enters
  const mine = sem.tryAcquire()!;
  const entries = [];
  for (const index of [2, 0, 1]) {
    entries.push(actors[index].ask("enter"));
    await until(signals, () => sem.waiting === entries.length, `waiter ${entries.length}`);
  }
  mine.release();
  await within(Promise.all(entries), 15_000, "the waiters");
  assert.deepEqual(logged(), [3, 1, 2]);
  assert.equal(sem.available, 1);
});

Deno.test("Semaphore waiters that time out or abort take no permit and do not block those behind them", async () => {
  await using system = await ActorSystem.start();
  const sem = new Semaphore(1, { name: "slots" });
  const { actors: [a, b], logged, signals } = await contenders(system, sem, [1, 2]);
  open(signals);
  const mine = sem.tryAcquire()!;
  // Queue: a (aborted later through signals[2]), b, then three main-thread waiters.
  const aEntry = a.ask("enter", { abortOn: 2 });
  await until(signals, () => sem.waiting === 1, "a to queue");
  const bEntry = b.ask("enter");
  await until(signals, () => sem.waiting === 2, "b to queue");
  const timedOut = sem.acquire({ timeout: 20 });
  const controller = new AbortController();
  const aborted = sem.acquire({ signal: controller.signal });
  const last = sem.acquire({ timeout: 10_000 });
  assert.equal(sem.waiting, 5);

  const reason = new Error("main gave up");
  controller.abort(reason);
  await assert.rejects(aborted, (error) => error === reason);
  await assert.rejects(timedOut, (error: unknown) => {
    assert.ok(isTimeout(error));
    assert.match((error as Error).message, /waiting for "slots"/);
    return true;
  });
  open(signals, 2); // a gives up while at the front
  assert.deepEqual(
    await within(aEntry, 15_000, "a to give up"),
    {
      entered: false,
      error: "Error",
      message: "aborted by the test",
    } satisfies EnterResult,
  );
  assert.equal(sem.waiting, 2, "b and the last main-thread waiter");
  assert.equal(sem.available, 0, "the main thread still holds the only permit");
  assert.equal(sem.heldBy(1), 0);

  mine.release();
  assert.deepEqual(await within(bEntry, 15_000, "b to enter"), { entered: true });
  const permit = await within(last, 15_000, "the last waiter");
  assert.deepEqual(logged(), [2]);
  assert.equal(sem.available, 0);
  permit.release();
  assert.equal(sem.available, 1);
  assert.equal(sem.waiting, 0);
});

Deno.test("Semaphore.releaseAllOf() gives back the permit of a worker that crashed holding it", async () => {
  await using system = await ActorSystem.start();
  const sem = new Semaphore(1);
  const { actors: [holder, waiter], logged, signals } = await contenders(system, sem, [7, 8]);
  open(signals);
  await assert.rejects(
    within(holder.ask("holdThenCrash"), 15_000, "the holder to crash"),
    ActorCrashedError,
  );
  assert.equal((await holder.exited).reason, "error");
  assert.equal(sem.heldBy(7), 1, "the dead actor's permit is still taken");
  const entry = waiter.ask("enter");
  await until(signals, () => sem.waiting === 1, "the waiter to queue");
  assert.equal(sem.available, 0);

  assert.equal(sem.releaseAllOf(7), 1);
  assert.deepEqual(await within(entry, 15_000, "the waiter to enter"), { entered: true });
  assert.deepEqual(logged(), [8]);
  assert.equal(sem.available, 1);
  assert.equal(sem.releaseAllOf(7), 0);
});

Deno.test("the next holder of a permit taken back from a dead holder is told so, once", () => {
  const sem = new Semaphore(3);
  const clean = sem.tryAcquire({ owner: 1 })!;
  assert.equal(clean.previousHolderDied, false);
  sem.tryAcquire({ owner: 7 }); // an actor's permit, never released: the actor dies
  assert.equal(sem.releaseAllOf(7), 1);
  assert.equal(sem.available, 2);
  // The orphaned permit goes first, so the very next holder learns of the death.
  const next = sem.tryAcquire({ owner: 8 })!;
  assert.equal(next.previousHolderDied, true);
  const other = sem.tryAcquire({ owner: 9 })!;
  assert.equal(other.previousHolderDied, false);
  next.release();
  const after = sem.tryAcquire({ owner: 10 })!;
  assert.equal(after.previousHolderDied, false, "a permit released normally carries no news");
  for (const permit of [clean, other, after]) permit.release();
  assert.equal(sem.available, 3);

  const mutex = new Mutex();
  mutex.tryLock({ owner: 4 });
  assert.equal(mutex.releaseAllOf(4), true);
  using guard = mutex.tryLock({ owner: 5 })!;
  assert.equal(guard.previousHolderDied, true);
});

Deno.test("Semaphore.releaseAllOf() drops the queued wait of a worker that crashed while waiting", async () => {
  await using system = await ActorSystem.start();
  const sem = new Semaphore(1);
  const { actors: [dying, next], logged, signals } = await contenders(system, sem, [9, 10]);
  open(signals);
  const mine = sem.tryAcquire()!;
  const dyingEntry = dying.ask("enter");
  await until(signals, () => sem.waiting === 1, "the dying actor to queue");
  const nextEntry = next.ask("enter");
  await until(signals, () => sem.waiting === 2, "the next actor to queue");
  await dying.tell("crash");
  await assert.rejects(within(dyingEntry, 15_000, "the crash"), ActorCrashedError);
  mine.release();
  // The dead actor's ticket is at the front: the free permit waits for it.
  assert.equal(sem.available, 1);
  assert.equal(sem.waiting, 2);

  assert.equal(sem.releaseAllOf(9), 0);
  assert.deepEqual(await within(nextEntry, 15_000, "the next actor to enter"), { entered: true });
  assert.deepEqual(logged(), [10]);
  assert.equal(sem.available, 1);
  assert.equal(sem.waiting, 0);
});

Deno.test("Semaphore keeps FIFO order through a small queue that wraps around many times", async () => {
  const sem = new Semaphore(1, { queueSize: 2 });
  const order: number[] = [];
  for (let round = 0; round < 20; round++) {
    const mine = sem.tryAcquire()!;
    // Two hold places in the queue; six wait for room.
    const waiters = Array.from(
      { length: 8 },
      (_, i) =>
        sem.acquire({ timeout: 15_000 }).then((permit) => {
          order.push(i);
          permit.release();
        }),
    );
    assert.equal(sem.waiting, 2);
    mine.release();
    await Promise.all(waiters);
    assert.equal(sem.available, 1);
    assert.equal(sem.waiting, 0);
  }
  assert.equal(order.length, 160);
  for (let round = 0; round < 20; round++) {
    assert.deepEqual(order.slice(round * 8, round * 8 + 2), [0, 1], "queued waiters first");
  }
});

Deno.test("Semaphore.tryAcquire() never overtakes a waiter", async () => {
  const sem = new Semaphore(1);
  const mine = sem.tryAcquire()!;
  const waiter = sem.acquire({ timeout: 15_000 });
  mine.release();
  // The permit is free, but the waiter has not woken yet: it is still first.
  assert.equal(sem.available, 1);
  assert.equal(sem.tryAcquire(), undefined);
  const permit = await waiter;
  assert.equal(sem.tryAcquire(), undefined);
  permit[Symbol.dispose]();
  assert.equal(permit.released, true);
  assert.ok(sem.tryAcquire());
});

Deno.test("Semaphore validates its options and rejects at once when the signal is already aborted", async () => {
  assert.throws(() => new Semaphore(0), /permits must be an integer from 1 to 65536, received 0/);
  assert.throws(() => new Semaphore(2, { queueSize: 0 }), RangeError);
  assert.throws(() => new Semaphore(2, { owner: 2 ** 30 }), RangeError);
  assert.throws(() => new Semaphore(2, { name: 1 as never }), TypeError);
  const sem = new Semaphore(1);
  const reason = new Error("already aborted");
  await assert.rejects(sem.acquire({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
  await assert.rejects(sem.acquire({ owner: 1.5 }), RangeError);
  await assert.rejects(sem.acquire({ signal: {} as never }), TypeError);
  assert.throws(() => sem.release(), /Cannot release "semaphore": owner 0 holds no permit/);
  assert.equal(sem.waiting, 0);
  assert.equal(sem.available, 1);
  assert.throws(
    () => Semaphore.from({ name: "x", buffer: new SharedArrayBuffer(64) }),
    /does not hold a semaphore/,
  );
  assert.throws(
    () => Semaphore.from({ name: "x", buffer: new ArrayBuffer(64) as never }),
    TypeError,
  );
});

Deno.test("Semaphore.acquire() keeps the event loop alive while it waits, with or without a timeout", async () => {
  // In each child the only pending work is the wait and an unref'd timer that
  // releases the permit: a pending Atomics.waitAsync alone would let the event
  // loop end before the release.
  const semaphore = new URL("../actors/sync/semaphore.ts", import.meta.url).href;
  const child = (options: string) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { Semaphore } from ${JSON.stringify(semaphore)};
        const sem = new Semaphore(1);
        const held = sem.tryAcquire();
        Deno.unrefTimer(setTimeout(() => held.release(), 50));
        (await sem.acquire(${options})).release();
        console.log("acquired");`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
  for (const output of await Promise.all([child("{}"), child("{ timeout: 60_000 }")])) {
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(new TextDecoder().decode(output.stdout).trim(), "acquired", stderr);
    assert.equal(output.code, 0, stderr);
  }
});

Deno.test("Semaphore.releaseAllOf() on a live owner rejects its pending acquire", async () => {
  const sem = new Semaphore(1);
  const mine = sem.tryAcquire({ owner: 1 })!;
  const pending = sem.acquire({ owner: 5, timeout: 15_000 });
  const behind = sem.acquire({ owner: 6, timeout: 15_000 });
  assert.equal(sem.releaseAllOf(5), 0);
  await assert.rejects(pending, /releaseAllOf\(5\) dropped this wait/);
  mine.release();
  (await behind).release();
  assert.equal(sem.available, 1);
});
