// Streaming replies: `ref.stream()` iterates what a handler yields, under a
// credit window, on every host and transport.
import assert from "node:assert/strict";
import {
  ActorCrashedError,
  ActorError,
  type ActorRef,
  ActorSystem,
  UnknownMessageError,
} from "../mod.ts";
import type { calls } from "./fixtures/calls_actor.ts";
import { CALLS_ACTOR, CALLS_TARGETS } from "./_calls_matrix.ts";
import { STREAM_WINDOW } from "../actors/core/protocol.ts";

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

for (const target of CALLS_TARGETS) {
  const name = `${target.transport} on ${target.host}`;

  Deno.test(`[${name}] ActorRef.stream() yields every item, with backpressure, and break ends the handler`, async () => {
    await using system = await ActorSystem.start();
    const ref: ActorRef<typeof calls> = await system.spawn<typeof calls>(CALLS_ACTOR, target);
    // Every item, in order, past several windows.
    const rows = await collect(ref.stream("count", 100));
    assert.deepEqual(rows, Array.from({ length: 100 }, (_, i) => i));
    assert.deepEqual(await collect(ref.stream("count", 0)), []);
    // A promise of an async iterable, and a plain iterable.
    assert.deepEqual(await collect(ref.stream("later", 2)), [{ row: 0 }, { row: 1 }]);
    assert.deepEqual(await collect(ref.stream("letters", "abc")), ["a", "b", "c"]);

    // Backpressure: one item taken, the producer stops at the window.
    const stream = ref.stream("forever");
    const first = await stream.next();
    assert.deepEqual(first, { done: false, value: 0 });
    assert.equal(await ref.ask("produced", STREAM_WINDOW, { timeout: 5000 }), STREAM_WINDOW);
    // Round trips give the producer every chance to run past it: it does not.
    for (let i = 0; i < 3; i++) assert.equal(await ref.ask("produced", 0), STREAM_WINDOW);
    // The caller's break (return()) ends the generator, its signal aborted.
    for await (const n of stream) if (n >= 3) break;
    assert.deepEqual(await ref.ask("whenEnded", 1, { timeout: 5000 }), ["finally, aborted"]);
    assert.deepEqual(await stream.next(), { done: true, value: undefined });
  });

  Deno.test(`[${name}] ActorRef.stream() ends with the handler's error as ActorError, or the abort`, async () => {
    await using system = await ActorSystem.start();
    const ref = await system.spawn<typeof calls>(CALLS_ACTOR, target);
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const n of ref.stream("failing", 3)) seen.push(n);
    }, (error: unknown) => {
      assert.ok(error instanceof ActorError);
      assert.match(error.message, /no more rows/);
      return true;
    });
    assert.deepEqual(seen, [0, 1, 2]);
    // Not iterable: a TypeError from the actor, as ActorError.
    await assert.rejects(collect(ref.stream("notIterable" as "count", 1)), ActorError);
    await assert.rejects(collect(ref.stream("nope" as "count", 1)), UnknownMessageError);
    // The caller's signal ends the iteration and the handler.
    const controller = new AbortController();
    await assert.rejects(async () => {
      for await (const n of ref.stream("forever", undefined, { signal: controller.signal })) {
        if (n === 2) controller.abort();
      }
    }, { name: "AbortError" });
    assert.deepEqual(await ref.ask("whenEnded", 1, { timeout: 5000 }), ["finally, aborted"]);
    // A timeout does the same.
    await assert.rejects(async () => {
      // Takes items as they come, until the whole stream's time is up.
      for await (const _ of ref.stream("forever", undefined, { timeout: 200 })) continue;
    }, { name: "TimeoutError" });
    assert.equal((await ref.ask("whenEnded", 2, { timeout: 5000 })).length, 2);
  });

  Deno.test(`[${name}] ActorRef.stream() rejects with ActorCrashedError when the actor dies`, async () => {
    await using system = await ActorSystem.start();
    const ref = await system.spawn<typeof calls>(CALLS_ACTOR, target);
    const stream = ref.stream("crashing");
    assert.deepEqual(await stream.next(), { done: false, value: 1 });
    await assert.rejects(stream.next(), ActorCrashedError);
    assert.deepEqual(await stream.next(), { done: true, value: undefined });
  });
}

Deno.test("a supervised ref streams too", async () => {
  await using system = await ActorSystem.start();
  const supervisor = await system.supervise({
    id: "root",
    children: [{ id: "calls", module: CALLS_ACTOR }],
  });
  const ref = supervisor.ref<typeof calls>("calls");
  assert.deepEqual(await collect(ref.stream("count", 20)), Array.from({ length: 20 }, (_, i) => i));
  for await (const n of ref.stream("forever")) if (n === 1) break;
  assert.deepEqual(await ref.ask("whenEnded", 1, { timeout: 5000 }), ["finally, aborted"]);
});
