/**
 * poolifier-web-worker baseline, run in a fresh `deno run` process: a `FixedThreadPool` of 2
 * Deno web workers, 256 trivial tasks in flight (each lane sends its next task when its last one
 * is answered, like the piscina baseline). Prints `{"tasks": tasks/s}`.
 *
 * Usage: deno run --allow-read _poolifier.ts TOTAL WARMUP
 *
 * @module
 */

const MODULE = "../.poolifier/node_modules/poolifier-web-worker/esm/mod.js";
const IN_FLIGHT = 256;
const THREADS = 2;

interface Pool {
  execute(data: number): Promise<number>;
  destroy(): Promise<void>;
  readonly info: { readonly ready: boolean };
  readonly eventTarget?: EventTarget;
}

const [total, warmup] = [Number(Deno.args[0]), Number(Deno.args[1])];
const { FixedThreadPool } = await import(new URL(MODULE, import.meta.url).href);
const pool = new FixedThreadPool(
  THREADS,
  new URL("./_poolifier_task.ts", import.meta.url),
  { errorEventHandler: (event: ErrorEvent) => console.error(event.message) },
) as Pool;

async function runTasks(count: number): Promise<void> {
  let next = 0;
  async function lane(): Promise<void> {
    while (next < count) {
      const n = next++;
      const result = await pool.execute(n);
      if (result !== n + 1) throw new Error(`Cannot trust run: task ${n} gave ${result}`);
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
}

try {
  if (!pool.info.ready) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("Cannot start the pool in 15 s")), 15_000);
      pool.eventTarget?.addEventListener("ready", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }
  await runTasks(warmup);
  const start = performance.now();
  await runTasks(total);
  const seconds = (performance.now() - start) / 1000;
  console.log(JSON.stringify({ tasks: total / seconds }));
} finally {
  await pool.destroy();
}
