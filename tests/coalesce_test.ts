// The coalescer: what one batch holds, and the kind it hands over with it.
import assert from "node:assert/strict";
import { Coalescer, hintsFor } from "../actors/core/_coalesce.ts";
import { BYTES_KIND, NOT_PLAIN_KIND, PLAIN_KIND, UNKNOWN_KIND } from "../internal/batch.ts";

type Stated = number[] & { kind?: number };

/** Keeps each batch with the kind it was handed over with. */
function keeper(batches: Stated[]) {
  return (batch: number[], kind: number | undefined) => {
    const stated: Stated = batch;
    stated.kind = kind;
    batches.push(stated);
  };
}

/** Lets every queued microtask (and the ones they queue) run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("a producer that yields between items fills one batch, up to 512", async () => {
  const batches: number[][] = [];
  const coalescer = new Coalescer<number>((batch) => batches.push(batch));
  for (let i = 0; i < 1000; i++) {
    coalescer.push(i, PLAIN_KIND);
    await null;
  }
  await settle();
  assert.deepEqual(batches.map((b) => b.length), [512, 488]);
  assert.deepEqual(batches.flat(), Array.from({ length: 1000 }, (_, i) => i));
});

Deno.test("a producer spreading items over many coalescers fills a batch in each", async () => {
  // A tell loop over 8 actors: each one's messages wait while the producer
  // keeps going, then leave together, instead of one per batch.
  const batches: number[][][] = Array.from({ length: 8 }, () => []);
  const coalescers = batches.map((mine) => new Coalescer<number>((batch) => mine.push(batch)));
  for (let i = 0; i < 800; i++) {
    coalescers[i % 8]!.push(i, PLAIN_KIND);
    await null;
  }
  await settle();
  for (const [n, mine] of batches.entries()) {
    assert.deepEqual(mine.flat(), Array.from({ length: 100 }, (_, i) => i * 8 + n));
    assert.ok(mine.length <= 2, `coalescer ${n} sent ${mine.length} batches`);
  }
});

Deno.test("a lone item leaves within a few microtask turns, while another producer is busy", async () => {
  // Fairness: one coalescer's item is not held back for as long as an
  // unrelated producer keeps pushing into another one.
  const sent: number[][] = [];
  const lone = new Coalescer<number>((batch) => sent.push(batch));
  const busy = new Coalescer<number>(() => {});
  lone.push(-1, PLAIN_KIND);
  let turns = 0;
  while (sent.length === 0 && turns < 100_000) {
    busy.push(turns++, PLAIN_KIND);
    await null;
  }
  assert.deepEqual(sent, [[-1]]);
  assert.ok(turns <= 1024, `the lone item waited ${turns} turns`);
});

Deno.test("a batch closes once it holds maxBytes of payload", async () => {
  const batches: number[][] = [];
  const coalescer = new Coalescer<number>((batch) => batches.push(batch));
  coalescer.maxBytes = 1024 * 1024;
  for (let i = 0; i < 10; i++) {
    coalescer.push(i, BYTES_KIND, 300 * 1024);
    await null;
  }
  await settle();
  assert.deepEqual(batches.map((b) => [...b]), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
});

Deno.test("a batch goes with its kind only when every item's kind is known", async () => {
  const batches: Stated[] = [];
  const coalescer = new Coalescer<number>(keeper(batches));
  coalescer.push(1, PLAIN_KIND);
  coalescer.push(2, PLAIN_KIND);
  await settle();
  coalescer.push(3, PLAIN_KIND);
  coalescer.push(4, BYTES_KIND);
  await settle();
  coalescer.push(5, BYTES_KIND);
  coalescer.push(6, NOT_PLAIN_KIND);
  await settle();
  coalescer.push(7, PLAIN_KIND);
  coalescer.push(8, UNKNOWN_KIND);
  await settle();
  coalescer.push(9);
  coalescer.take();
  coalescer.push(10, PLAIN_KIND);
  await settle();
  assert.deepEqual(batches.map((b) => [...b]), [[1, 2], [3, 4], [5, 6], [7, 8], [10]]);
  assert.deepEqual(batches.map((b) => b.kind), [
    PLAIN_KIND,
    BYTES_KIND,
    BYTES_KIND | NOT_PLAIN_KIND,
    undefined,
    PLAIN_KIND,
  ]);
});

Deno.test("items pushed all at once leave in batches of at most 512 or maxBytes", async () => {
  const batches: Stated[] = [];
  const coalescer = new Coalescer<number>(keeper(batches));
  // A credit that releases 1300 waiting messages pushes them in one go.
  for (let i = 0; i < 1300; i++) coalescer.push(i, i === 700 ? NOT_PLAIN_KIND : PLAIN_KIND);
  assert.equal(coalescer.size, 1300);
  await settle();
  assert.deepEqual(batches.map((b) => b.length), [512, 512, 276]);
  assert.deepEqual(batches.flat(), Array.from({ length: 1300 }, (_, i) => i));
  // Each batch goes with its own kind.
  assert.deepEqual(batches.map((b) => b.kind), [PLAIN_KIND, NOT_PLAIN_KIND, PLAIN_KIND]);
  batches.length = 0;
  coalescer.maxBytes = 1000;
  for (let i = 0; i < 5; i++) coalescer.push(i, BYTES_KIND, 600);
  await settle();
  assert.deepEqual(batches.map((b) => [...b]), [[0, 1], [2, 3], [4]]);
});

Deno.test("a receiver that pauses on a batch holds back the rest until resume()", async () => {
  const batches: number[][] = [];
  const coalescer: Coalescer<number> = new Coalescer<number>((batch) => {
    batches.push(batch);
    coalescer.pause(); // its channel is full
  });
  for (let i = 0; i < 1100; i++) coalescer.push(i, PLAIN_KIND);
  await settle();
  assert.deepEqual(batches.map((b) => b.length), [512]);
  assert.equal(coalescer.size, 588);
  // Pushed while paused: queued behind what waits, in order.
  coalescer.push(1100, PLAIN_KIND);
  coalescer.resume();
  assert.deepEqual(batches.map((b) => b.length), [512, 512]);
  coalescer.resume();
  assert.deepEqual(batches.map((b) => b.length), [512, 512, 77]);
  assert.equal(coalescer.size, 0);
  assert.deepEqual(batches.flat(), Array.from({ length: 1101 }, (_, i) => i));
});

Deno.test("take() hands back every item not yet handed over, in order", async () => {
  const batches: number[][] = [];
  const coalescer: Coalescer<number> = new Coalescer<number>((batch) => {
    batches.push(batch);
    coalescer.pause();
  });
  for (let i = 0; i < 1200; i++) coalescer.push(i, PLAIN_KIND);
  await settle();
  assert.equal(batches.length, 1);
  assert.deepEqual(coalescer.take(), Array.from({ length: 688 }, (_, i) => 512 + i));
  assert.equal(coalescer.size, 0);
});

Deno.test("hintsFor() gives one shared hint per kind and quietness", () => {
  assert.deepEqual(hintsFor(BYTES_KIND | NOT_PLAIN_KIND, true), { kind: 3, quiet: true });
  assert.deepEqual(hintsFor(PLAIN_KIND, false), { kind: 0, quiet: false });
  assert.deepEqual(hintsFor(undefined, true), { quiet: true });
  assert.equal(hintsFor(BYTES_KIND, false), hintsFor(BYTES_KIND, false), "made once");
  assert.ok(Object.isFrozen(hintsFor(undefined, false)));
});
