/**
 * Worker for the spin ping-pong baseline. Slot 0 of the shared Int32Array holds a counter: the
 * main thread stores an odd value (ping), the worker answers with the next even value (pong).
 * It busy-spins on `Atomics.load` and never sleeps, except for a short `Atomics.wait` after
 * `IDLE_SPINS` empty loads, so a stalled main thread cannot make it spin for ever. `STOP` ends
 * the loop.
 *
 * @module
 */

import type { WorkerScope } from "./_util.ts";

const STOP = -1;
/** Empty loads before the worker naps (about a millisecond of spinning). */
const IDLE_SPINS = 1 << 20;
const scope = self as unknown as WorkerScope;

scope.onmessage = (event: MessageEvent) => {
  const cell = new Int32Array(event.data as SharedArrayBuffer);
  scope.postMessage("ready");
  let last = 0;
  let spins = 0;
  for (;;) {
    const value = Atomics.load(cell, 0);
    if (value === STOP) break;
    if (value === last) {
      if (++spins >= IDLE_SPINS) {
        Atomics.wait(cell, 0, last, 10);
        spins = 0;
      }
      continue;
    }
    spins = 0;
    last = value + 1;
    Atomics.store(cell, 0, last);
  }
  scope.postMessage("done");
};
