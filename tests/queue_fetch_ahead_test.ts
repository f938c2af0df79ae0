// An actor iterating a system queue fetches items ahead while it handles them
// faster than a round trip to the parent, and one at a time while it is
// slower, so slow jobs still spread over every consumer. Items fetched ahead
// and not handled go back to the front of the queue when the loop ends early,
// in order; none is lost or handled twice. Worker and process actors alike.
import assert from "node:assert/strict";
import { ActorSystem, QueueClosedError } from "../mod.ts";
import { FETCH_AHEAD, queueItems } from "../actors/core/_queue_reader.ts";
import type { SystemCall } from "../actors/core/protocol.ts";
import type { queueConsumer } from "./fixtures/queue_consumer.ts";
import { within } from "./_helpers.ts";

const CONSUMER = new URL("./fixtures/queue_consumer.ts", import.meta.url);

for (const host of ["worker", "process"] as const) {
  Deno.test(`a loop that breaks early puts the items it fetched ahead back, in order (${host})`, async () => {
    await using system = await ActorSystem.start();
    const queue = system.queue<number>("jobs", { capacity: 10_000 });
    for (let i = 0; i < 2000; i++) await queue.put(i);
    const consumer = await system.spawn<typeof queueConsumer>(CONSUMER, { host });
    const first = await within(
      consumer.ask("consumeSome", { name: "jobs", stopAfter: 700 }),
      20_000,
      "the first loop",
    );
    assert.deepEqual(first, Array.from({ length: 700 }, (_, i) => i));
    // Whatever the loop had fetched beyond 700 is back, at the front, in order.
    assert.equal(queue.size, 1300);
    queue.close();
    const rest = await within(consumer.ask("consumeSome", { name: "jobs" }), 20_000, "the rest");
    assert.deepEqual(rest, Array.from({ length: 1300 }, (_, i) => 700 + i));
  });

  // How the jobs spread depends on when each consumer gets to the queue; the
  // fetch-ahead decision itself is tested with a fake clock below.
  Deno.test(`slow jobs over three consumers: every job handled exactly once (${host})`, async () => {
    await using system = await ActorSystem.start();
    const queue = system.queue<number>("slow");
    const consumers = await Promise.all(
      [0, 1, 2].map(() => system.spawn<typeof queueConsumer>(CONSUMER, { host })),
    );
    for (let i = 0; i < 12; i++) await queue.put(i);
    queue.close();
    // Each job waits 25 ms, far longer than a round trip to the parent.
    const seen = await within(
      Promise.all(consumers.map((c) => c.ask("consumeSome", { name: "slow", ms: 25 }))),
      20_000,
      "the slow jobs",
    );
    assert.deepEqual(seen.flat().sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i));
  });
}

// The fetch-ahead decision on its own: a fake parent that records each call,
// and a clock the test moves (a round trip takes 1 ms of it).

function fakeParent(items: number) {
  let clock = 0;
  let next = 0;
  const calls: string[] = [];
  const call = (...call: SystemCall): Promise<unknown> => {
    clock += 1; // one round trip
    const [, op, args] = call as unknown as [string, string, unknown[]];
    calls.push(
      op === "getMany" ? `getMany ${args[1]}` : op === "putBack" ? `putBack ${args[1]}` : op,
    );
    if (op === "putBack") return Promise.resolve();
    if (next >= items) return Promise.reject(new QueueClosedError("q"));
    if (op === "get") return Promise.resolve(next++);
    const batch: number[] = [];
    while (batch.length < (args[1] as number) && next < items) batch.push(next++);
    return Promise.resolve(batch);
  };
  return { call, calls, now: () => clock, spend: (ms: number) => clock += ms };
}

Deno.test("queueItems() doubles its fetch while items are handled faster than a round trip", async () => {
  const parent = fakeParent(200);
  const seen: unknown[] = [];
  for await (const item of queueItems("q", parent.call, parent.now)) seen.push(item);
  assert.deepEqual(seen, Array.from({ length: 200 }, (_, i) => i));
  assert.deepEqual(parent.calls.slice(0, 7), [
    "get",
    "getMany 2",
    "getMany 4",
    "getMany 8",
    "getMany 16",
    `getMany ${FETCH_AHEAD}`,
    `getMany ${FETCH_AHEAD}`,
  ]);
});

Deno.test("queueItems() fetches one at a time while each item takes longer than a round trip", async () => {
  const parent = fakeParent(10);
  for await (const _item of queueItems("q", parent.call, parent.now)) parent.spend(5);
  assert.deepEqual(parent.calls, [...Array(10).fill("get"), "get"]);
});

Deno.test("queueItems() puts back what it fetched ahead when the loop breaks", async () => {
  const parent = fakeParent(100);
  let n = 0;
  for await (const _item of queueItems("q", parent.call, parent.now)) if (++n === 5) break;
  // get (1), getMany 2 (2 more), getMany 4 (4 more): 7 fetched, 5 handled.
  assert.deepEqual(parent.calls, ["get", "getMany 2", "getMany 4", "putBack 2"]);
});
