/**
 * Raw busy-spin ping-pong between the main thread and a worker on a SharedArrayBuffer, no
 * payload and no `Atomics.wait` / `notify` in the path: the floor of a thread-to-thread round
 * trip (issue 20). Both threads burn a core while it runs. No Troupe code in the path.
 *
 * One sample is the mean round trip of a block of {@linkcode BLOCK} consecutive round trips, so
 * the two clock reads per sample (a few tens of nanoseconds each) do not inflate a sub-microsecond
 * floor; `baseline.spin.rtt.p50` is the median of those blocks. Every spin has a deadline.
 *
 * @module
 */

import type { BenchCase } from "../_harness.ts";
import { bounded, percentile, startWorker, workerInbox } from "./_util.ts";

const WORKER = new URL("./_spin_worker.ts", import.meta.url);
const STOP = -1;
/** Round trips per sample. */
const BLOCK = 64;
const PONG_LIMIT_MS = 2_000;

/** Raw spin ping-pong baseline. */
export const spinCases: BenchCase[] = [
  {
    id: "baseline.spin.rtt.p50",
    group: "baseline",
    unit: "us",
    async run({ quick, signal }) {
      const blocks = quick ? 1_000 : 10_000;
      const warmup = quick ? 100 : 1_000;
      const cell = new Int32Array(new SharedArrayBuffer(4));
      const worker = startWorker(WORKER);
      const inbox = workerInbox<string>(worker, signal);
      try {
        worker.postMessage(cell.buffer);
        await bounded(inbox.next(), "start the worker", 10_000, signal);
        const samples: number[] = [];
        let value = 0;
        for (let b = 0; b < warmup + blocks; b++) {
          const start = performance.now();
          for (let i = 0; i < BLOCK; i++) {
            const ping = value + 1;
            Atomics.store(cell, 0, ping);
            let spins = 0;
            while (Atomics.load(cell, 0) === ping) {
              // Look at the clock only now and then: a stalled worker fails the run.
              if (++spins === 1 << 22) {
                if (performance.now() - start > PONG_LIMIT_MS) {
                  throw new Error(`Cannot finish ping-pong: no pong within ${PONG_LIMIT_MS} ms`);
                }
                spins = 0;
              }
            }
            value = ping + 1;
          }
          if (b >= warmup) samples.push((performance.now() - start) * 1000 / BLOCK);
          if ((b & 63) === 0) signal.throwIfAborted();
        }
        samples.sort((x, y) => x - y);
        return percentile(samples, 50);
      } finally {
        Atomics.store(cell, 0, STOP);
        await bounded(inbox.next(), "stop the worker", 1_000, signal).catch(() => {});
        worker.terminate();
      }
    },
  },
];
