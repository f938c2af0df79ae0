/**
 * Worker for the Atomics ping-pong baseline. Slot 0 of the shared Int32Array holds a counter:
 * the main thread stores an odd value (ping), the worker answers with the next even value
 * (pong). `STOP` ends the loop. Every wait has a timeout, so the worker never blocks for good.
 *
 * @module
 */

import type { WorkerScope } from "./_util.ts";

const STOP = -1;
const scope = self as unknown as WorkerScope;

scope.onmessage = (event: MessageEvent) => {
  const cell = new Int32Array(event.data as SharedArrayBuffer);
  scope.postMessage("ready");
  let last = 0;
  for (;;) {
    Atomics.wait(cell, 0, last, 100);
    const value = Atomics.load(cell, 0);
    if (value === STOP) break;
    if (value === last) continue;
    last = value + 1;
    Atomics.store(cell, 0, last);
    Atomics.notify(cell, 0);
  }
  scope.postMessage("done");
};
