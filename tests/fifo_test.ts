import assert from "node:assert/strict";
import { Fifo } from "../internal/fifo.ts";

Deno.test("Fifo: first in, first out; first, last and length see the live entries", () => {
  const fifo = new Fifo<number>();
  assert.equal(fifo.shift(), undefined);
  assert.equal(fifo.first, undefined);
  for (const n of [1, 2, 3]) fifo.push(n);
  assert.deepEqual([fifo.first, fifo.last, fifo.length, fifo.empty], [1, 3, 3, false]);
  assert.deepEqual([fifo.shift(), fifo.shift()], [1, 2]);
  assert.deepEqual([fifo.first, fifo.last, fifo.length], [3, 3, 1]);
  assert.equal(fifo.shift(), 3);
  assert.deepEqual([fifo.first, fifo.last, fifo.length, fifo.empty], [
    undefined,
    undefined,
    0,
    true,
  ]);
});

Deno.test("Fifo: a queue that never empties keeps about twice its live entries, not all it ever held", () => {
  const fifo = new Fifo<number>();
  fifo.push(0);
  for (let n = 1; n <= 100_000; n++) {
    fifo.push(n);
    assert.equal(fifo.shift(), n - 1);
  }
  assert.equal(fifo.length, 1);
  assert.ok(fifo.items.length <= 2 * 1024, `the array holds ${fifo.items.length} entries`);
});
