/**
 * Consumer of the raw SharedArrayBuffer ring baseline (`sabring.ts`, layout in `_sabring.ts`):
 * copies each frame out of shared memory (decoding straight from a shared view is 5-7x slower),
 * decodes and parses it, counts the messages it holds, and frees the space. It spins briefly
 * when the ring is empty, then sleeps in `Atomics.wait` (with a timeout) until the producer
 * wakes it. Posts `"ready"` when it starts and `"done"` after the `END` frame.
 *
 * @module
 */

import {
  CONSUMER_SLEEPS,
  COUNTED,
  END,
  HEADER_BYTES,
  PRODUCER_SLEEPS,
  READ,
  RING_BYTES,
  SPINS,
  WRAP,
  WRITE,
} from "./_sabring.ts";
import { OP_TELL, type SmallMessage, type WorkerScope } from "./_util.ts";

const scope = self as unknown as WorkerScope;
const MASK = RING_BYTES - 1;

scope.onmessage = (event: MessageEvent) => {
  const buffer = event.data as SharedArrayBuffer;
  const header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
  const data = new Uint8Array(buffer, HEADER_BYTES, RING_BYTES);
  const lengths = new Int32Array(buffer, HEADER_BYTES, RING_BYTES / 4);
  const decoder = new TextDecoder();
  scope.postMessage("ready");
  let read = 0;
  let count = 0;
  for (;;) {
    let write = Atomics.load(header, WRITE);
    for (let spins = 0; write === read; spins++) {
      if (spins >= SPINS) {
        Atomics.store(header, CONSUMER_SLEEPS, 1);
        if (Atomics.load(header, WRITE) === read) Atomics.wait(header, WRITE, read, 100);
        Atomics.store(header, CONSUMER_SLEEPS, 0);
        spins = 0;
      }
      write = Atomics.load(header, WRITE);
    }
    // Drain every frame that is there, then free their space in one store.
    while (read !== write) {
      const position = read & MASK;
      const length = lengths[position >> 2];
      if (length === END) {
        Atomics.store(header, COUNTED, count);
        scope.postMessage("done");
        return;
      }
      if (length === WRAP) {
        read = (read + RING_BYTES - position) | 0;
        continue;
      }
      const start = position + 4;
      const batch = JSON.parse(decoder.decode(data.slice(start, start + length))) as SmallMessage[];
      for (const message of batch) if (message.op === OP_TELL) count++;
      read = (read + 4 + ((length + 3) & ~3)) | 0;
    }
    Atomics.store(header, READ, read);
    if (Atomics.load(header, PRODUCER_SLEEPS) === 1) Atomics.notify(header, READ);
  }
};
