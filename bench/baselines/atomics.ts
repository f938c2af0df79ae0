/**
 * Raw `Atomics.wait` / `Atomics.notify` ping-pong between the main thread and a worker with no
 * payload: the wake-up floor of any shared-memory transport. No Troupe code in the path.
 *
 * The main thread blocks in `Atomics.wait` (Deno allows it) with a timeout on every wait, and
 * always tells the worker to stop, waits for it to say so, and terminates it.
 *
 * @module
 */

import type { BenchCase } from "../_harness.ts";
import { bounded, latencyFigures, startWorker, workerInbox } from "./_util.ts";

const WORKER = new URL("./_atomics_worker.ts", import.meta.url);
const STOP = -1;
const WAIT_LIMIT_MS = 2_000;

/** Raw Atomics ping-pong baseline. */
export const atomicsCases: BenchCase[] = [
  {
    id: "baseline.atomics.rtt",
    group: "baseline",
    unit: "us",
    figures: { "baseline.atomics.rtt.p50": {}, "baseline.atomics.rtt.p99": {} },
    async run({ quick, signal }) {
      const rounds = quick ? 10_000 : 100_000;
      const warmup = quick ? 1_000 : 10_000;
      const cell = new Int32Array(new SharedArrayBuffer(4));
      const worker = startWorker(WORKER);
      const inbox = workerInbox<string>(worker, signal);
      try {
        worker.postMessage(cell.buffer);
        await bounded(inbox.next(), "start the worker", 10_000, signal);
        const samples: number[] = [];
        let value = 0;
        for (let i = 0; i < warmup + rounds; i++) {
          const ping = value + 1;
          const start = performance.now();
          Atomics.store(cell, 0, ping);
          Atomics.notify(cell, 0);
          while (Atomics.load(cell, 0) === ping) {
            if (
              Atomics.wait(cell, 0, ping, WAIT_LIMIT_MS) === "timed-out" &&
              Atomics.load(cell, 0) === ping
            ) {
              throw new Error(`Cannot finish ping-pong: no pong within ${WAIT_LIMIT_MS} ms`);
            }
          }
          if (i >= warmup) samples.push((performance.now() - start) * 1000);
          value = ping + 1;
        }
        return latencyFigures("baseline.atomics.rtt", samples);
      } finally {
        Atomics.store(cell, 0, STOP);
        Atomics.notify(cell, 0);
        await bounded(inbox.next(), "stop the worker", 1_000, signal).catch(() => {});
        worker.terminate();
      }
    },
  },
];
