/**
 * piscina baseline (run with Node, not Deno): a pool of 2 worker threads, 256 trivial tasks in
 * flight. Prints `{"tasks": tasks/s}`.
 *
 * Usage: node _piscina.mjs PISCINA_PREFIX TOTAL WARMUP
 *
 * @module
 */

import { createRequire } from "node:module";
import { join } from "node:path";
import { argv, stdout } from "node:process";

const IN_FLIGHT = 256;
const [prefix, total, warmup] = [argv[2], Number(argv[3]), Number(argv[4])];
const require = createRequire(join(prefix, "package.json"));
const { Piscina } = require("piscina");

const pool = new Piscina({
  filename: new URL("./_piscina_task.mjs", import.meta.url).href,
  name: "task",
  minThreads: 2,
  maxThreads: 2,
});

async function runTasks(count) {
  let next = 0;
  async function lane() {
    while (next < count) {
      next++;
      await pool.run(next);
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
}

try {
  await runTasks(warmup);
  const start = performance.now();
  await runTasks(total);
  const seconds = (performance.now() - start) / 1000;
  stdout.write(`${JSON.stringify({ tasks: total / seconds })}\n`);
} finally {
  await pool.destroy();
}
