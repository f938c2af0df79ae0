import assert from "node:assert/strict";
import { ActorCrashedError, ActorError, ActorSystem, QueueClosedError, WorkQueue } from "../mod.ts";
import type { queueConsumer } from "./fixtures/queue_consumer.ts";
import { nextEvent, within } from "./_helpers.ts";

const CONSUMER = new URL("./fixtures/queue_consumer.ts", import.meta.url);

Deno.test("WorkQueue is FIFO, bounded, and tryPut refuses when full", async () => {
  const queue = new WorkQueue<number>("q", { capacity: 2 });
  assert.equal(queue.tryPut(1), true);
  await queue.put(2);
  assert.equal(queue.tryPut(3), false);
  const third = queue.put(3);
  assert.equal(await queue.get(), 1);
  await third;
  assert.deepEqual([await queue.get(), await queue.get()], [2, 3]);
});

Deno.test("WorkQueue timeouts and aborts leave nothing behind", async () => {
  const queue = new WorkQueue<string>("q", { capacity: 1 });
  await assert.rejects(queue.get({ timeout: 10 }), { name: "TimeoutError" });
  await queue.put("kept");
  await assert.rejects(queue.put("dropped", { timeout: 10 }), { name: "TimeoutError" });
  const reason = new Error("stop waiting");
  await assert.rejects(
    queue.put("aborted", { signal: AbortSignal.abort(reason) }),
    (e) => e === reason,
  );
  assert.equal(queue.size, 1);
  assert.equal(await queue.get(), "kept");
  const controller = new AbortController();
  const waiting = queue.get({ signal: controller.signal });
  controller.abort(reason);
  await assert.rejects(waiting, (e) => e === reason);
  await queue.put("next");
  assert.equal(await queue.get({ timeout: 1000 }), "next", "the aborted get took nothing");
});

Deno.test("WorkQueue join waits for every taskDone, and one too many throws", async () => {
  const queue = new WorkQueue<number>("q");
  for (let i = 0; i < 3; i++) await queue.put(i);
  let joined = false;
  const join = queue.join().then(() => joined = true);
  for (let i = 0; i < 3; i++) await queue.get();
  queue.taskDone();
  queue.taskDone();
  await Promise.resolve();
  assert.equal(joined, false);
  queue.taskDone();
  await join;
  assert.throws(() => queue.taskDone(), RangeError);
});

Deno.test("WorkQueue close is one sentinel for every consumer", async () => {
  const queue = new WorkQueue<number>("q");
  const consumers = [0, 1, 2].map(() => Array.fromAsync(queue));
  for (let i = 0; i < 9; i++) await queue.put(i);
  queue.close();
  const results = await within(Promise.all(consumers), 5000, "consumers to end");
  assert.deepEqual(results.flat().sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  await assert.rejects(queue.put(9), QueueClosedError);
  await assert.rejects(queue.get(), QueueClosedError);
});

for (const host of ["worker", "process"] as const) {
  Deno.test(`[${host}] one consumer actor takes 0..9 until the sentinel; join returns`, async () => {
    await using system = await ActorSystem.start();
    const jobs = system.queue<number>("jobs", { capacity: 4 });
    const ref = await system.spawn<typeof queueConsumer>(CONSUMER, { host });
    const consumed = ref.ask("consume", "jobs");
    for (let i = 0; i < 10; i++) await jobs.put(i);
    await within(jobs.join(), 15_000, "join");
    jobs.close();
    assert.deepEqual(await consumed, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  Deno.test(`[${host}] four consumer actors share the work, each item once`, async () => {
    await using system = await ActorSystem.start();
    const jobs = system.queue<number>("jobs");
    const refs = await Promise.all(
      [1, 2, 3, 4].map((i) => system.spawn<typeof queueConsumer>(CONSUMER, { id: `c${i}`, host })),
    );
    const consumed = refs.map((ref) => ref.ask("consume", "jobs"));
    for (let i = 0; i < 40; i++) await jobs.put(i);
    jobs.close();
    const all = (await within(Promise.all(consumed), 15_000, "consumers")).flat() as number[];
    assert.deepEqual(all.sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i));
  });
}

Deno.test("joining a queue filled with large items does not deadlock", async () => {
  await using system = await ActorSystem.start();
  const blobs = system.queue<Uint8Array>("blobs", { capacity: 2 });
  const ref = await system.spawn<typeof queueConsumer>(CONSUMER, { host: "process" });
  const consumed = ref.ask("consume", "blobs");
  for (let i = 0; i < 8; i++) await blobs.put(new Uint8Array(1 << 20).fill(i));
  await within(blobs.join(), 20_000, "join with large items");
  blobs.close();
  assert.deepEqual(await consumed, Array(8).fill(1 << 20));
});

Deno.test("an actor producing into a queue is backpressured by its capacity", async () => {
  await using system = await ActorSystem.start();
  const jobs = system.queue<number>("jobs", { capacity: 3 });
  const ref = await system.spawn<typeof queueConsumer>(CONSUMER);
  const produced = ref.ask("produce", { name: "jobs", items: [1, 2, 3, 4, 5] });
  const got: number[] = [];
  for (let i = 0; i < 5; i++) got.push(await jobs.get());
  await produced;
  assert.deepEqual(got, [1, 2, 3, 4, 5]);
});

Deno.test("an item held by an actor that crashes goes back to the queue", async () => {
  await using system = await ActorSystem.start();
  const jobs = system.queue<string>("jobs");
  const crasher = await system.spawn<typeof queueConsumer>(CONSUMER, { id: "crasher" });
  await jobs.put("precious");
  await assert.rejects(crasher.ask("takeAndCrash", "jobs"), ActorCrashedError);
  const survivor = await system.spawn<typeof queueConsumer>(CONSUMER, { id: "survivor" });
  const consumed = survivor.ask("consume", "jobs");
  await within(jobs.join(), 15_000, "join after the crash");
  jobs.close();
  assert.deepEqual(await consumed, ["precious"]);
});

Deno.test("a get from inside an actor times out with a clear error", async () => {
  await using system = await ActorSystem.start();
  system.queue("empty");
  const ref = await system.spawn<typeof queueConsumer>(CONSUMER);
  const error = await ref.ask("getWithTimeout", "empty").catch((e) => e);
  assert.ok(error instanceof ActorError);
  assert.equal(error.remote.name, "TimeoutError");
  const missing = await ref.ask("getWithTimeout", "nope").catch((e: Error) => e) as Error;
  assert.match(missing.message, /No queue named "nope"/);
});

Deno.test("WorkQueue.requeueAll() puts items back at the front in their order, oldest first to waiting consumers", async () => {
  // Nobody waiting: the items go in front of those queued, in their order.
  const queue = new WorkQueue<number>("q");
  for (const n of [4, 5]) await queue.put(n);
  queue.requeueAll([1, 2, 3]);
  assert.deepEqual(queue.takeAvailable(10), [1, 2, 3, 4, 5]);
  // Consumers waiting: the first to ask gets the oldest item, the rest stay in
  // front of anything put later.
  const first = queue.get();
  const second = queue.get();
  queue.requeueAll([1, 2, 3]);
  await queue.put(4);
  assert.deepEqual([await first, await second, await queue.get(), await queue.get()], [1, 2, 3, 4]);
  // One consumer waiting for as many items as are put back.
  const only = queue.get();
  queue.requeueAll([1, 2, 3]);
  assert.deepEqual([await only, await queue.get(), await queue.get()], [1, 2, 3]);
  assert.equal(queue.size, 0);
});

for (const host of ["worker", "process"] as const) {
  for (const waiting of [true, false]) {
    Deno.test(`[${host}] the items of an actor that crashes go back to the front in order${waiting ? ", oldest first to waiting consumers" : ""}`, async () => {
      await using system = await ActorSystem.start();
      const jobs = system.queue<number>("jobs");
      for (const n of [1, 2, 3]) await jobs.put(n);
      const crasher = await system.spawn<typeof queueConsumer>(CONSUMER, { id: "crasher", host });
      assert.deepEqual(await crasher.ask("take", { name: "jobs", count: 3 }), [1, 2, 3]);
      // Two consumers wait on the empty queue while the crasher holds 1, 2, 3;
      // or, with nobody waiting, 4 and 5 are queued behind them.
      const consumers = waiting ? [jobs.get(), jobs.get()] : [];
      if (!waiting) { for (const n of [4, 5]) await jobs.put(n); }
      // The crashed event comes once the system has put the crasher's items back.
      const events = system.events();
      await assert.rejects(crasher.ask("crash"), ActorCrashedError);
      await nextEvent(events, (e) => e.type === "crashed" && e.id === "crasher");
      await events.return?.();
      const got = await within(Promise.all(consumers), 15_000, "the waiting consumers");
      if (waiting) await jobs.put(4);
      while (jobs.size > 0) got.push(await jobs.get());
      assert.deepEqual(got, waiting ? [1, 2, 3, 4] : [1, 2, 3, 4, 5]);
    });
  }
}
