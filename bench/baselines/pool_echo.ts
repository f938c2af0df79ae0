/**
 * Batched pool echo baseline (issue 20): what a careful user could write by hand for a pool of
 * 2 worker threads running trivial tasks, the floor `system.pool(...)` is measured against.
 * {@linkcode IN_FLIGHT} lanes, like the piscina and poolifier baselines, each sending its next
 * task (a number) when its last one is answered. Each lane keeps to one worker (lane i to worker
 * i mod 2), so an answered array comes back as one new array; the tasks sent in one microtask
 * turn go out as one array per worker, and each worker answers a whole array with one array.
 * (Spreading each turn's tasks over both workers instead splits every batch in two, and the
 * arrays shrink to single tasks within a few hundred rounds.) No Troupe code in the path.
 *
 * @module
 */

import type { BenchCase } from "../_harness.ts";
import { bounded, startWorker } from "./_util.ts";

const WORKER = new URL("./_pool_echo_worker.ts", import.meta.url);
const WORKERS = 2;
/** Tasks in flight, as in the pool cases and the pool peers' baselines. */
const IN_FLIGHT = 256;

/** Batched pool echo baseline. */
export const poolEchoCases: BenchCase[] = [
  {
    id: "baseline.pool.echo.tasks",
    group: "baseline",
    unit: "tasks/s",
    async run({ quick, signal }) {
      const [warmupMs, measureMs] = quick ? [300, 300] : [1_000, 4_000];
      const workers = Array.from({ length: WORKERS }, () => startWorker(WORKER));
      const waiting = new Map<number, (result: number) => void>();
      const outboxes: number[][] = workers.map(() => []);
      let failure: Error | undefined;
      let flushing = false;
      const flush = () => {
        flushing = false;
        for (let w = 0; w < WORKERS; w++) {
          const tasks = outboxes[w]!;
          if (tasks.length === 0) continue;
          outboxes[w] = [];
          workers[w]!.postMessage(tasks);
        }
      };
      const run = (n: number, worker: number) =>
        new Promise<number>((resolve) => {
          waiting.set(n, resolve);
          outboxes[worker]!.push(n);
          if (!flushing) {
            flushing = true;
            queueMicrotask(flush);
          }
        });
      try {
        const ready = workers.map((worker) =>
          new Promise<void>((resolve, reject) => {
            worker.onerror = (event) => {
              event.preventDefault();
              failure = new Error(`Worker failed: ${event.message}`);
              reject(failure);
            };
            worker.onmessage = (event: MessageEvent) => {
              if (!Array.isArray(event.data)) return resolve();
              for (const result of event.data as number[]) {
                const resolveTask = waiting.get(result - 1);
                waiting.delete(result - 1);
                resolveTask?.(result);
              }
            };
          })
        );
        await bounded(Promise.all(ready), "start the workers", 10_000, signal);
        let next = 0;
        const runTasks = async (ms: number): Promise<number> => {
          const from = next;
          let spent = false;
          const timer = setTimeout(() => spent = true, ms);
          const lane = async (_: unknown, index: number): Promise<void> => {
            while (!spent && !failure) {
              const n = next++;
              const result = await run(n, index % WORKERS);
              if (result !== n + 1) throw new Error(`Cannot trust the echo: ${n} gave ${result}`);
            }
          };
          try {
            await bounded(
              Promise.all(Array.from({ length: IN_FLIGHT }, lane)),
              "run the tasks",
              ms + 10_000,
              signal,
            );
          } finally {
            clearTimeout(timer);
          }
          if (failure) throw failure;
          return next - from;
        };
        await runTasks(warmupMs);
        const start = performance.now();
        const done = await runTasks(measureMs);
        return done / ((performance.now() - start) / 1000);
      } finally {
        for (const worker of workers) worker.terminate();
      }
    },
  },
];
