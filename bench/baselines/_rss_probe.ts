/**
 * Measures, in a fresh process, the resident memory that idle workers add: reads
 * `Deno.memoryUsage().rss`, starts COUNT workers that each say "ready" and idle, lets them
 * settle, reads it again, terminates them and prints `{"perWorkerMiB": n}`. A fresh process
 * keeps the figure independent of what the bench process allocated and freed before.
 *
 * Usage: `deno run --allow-read=DIR _rss_probe.ts COUNT SETTLE_MS`
 *
 * @module
 */

const WORKER = new URL("./_ready_worker.ts", import.meta.url);
const count = Number(Deno.args[0] ?? 4);
const settleMs = Number(Deno.args[1] ?? 100);

function ready(worker: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    worker.onmessage = () => resolve();
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      reject(new Error(`Worker failed: ${event.message}`));
    };
  });
}

const workers: Worker[] = [];
try {
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  const before = Deno.memoryUsage().rss;
  for (let i = 0; i < count; i++) {
    const worker = new Worker(WORKER, { type: "module" });
    workers.push(worker);
    await ready(worker);
  }
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  const after = Deno.memoryUsage().rss;
  console.log(JSON.stringify({ perWorkerMiB: (after - before) / count / (1024 * 1024) }));
} finally {
  for (const worker of workers) worker.terminate();
}
