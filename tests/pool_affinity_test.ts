// The least-loaded pool's affinity (issue 20): consecutive tasks stay on the
// worker the previous one went to while it runs at most a quarter more tasks
// than the least loaded, so a burst goes to each worker in runs (one batch
// each) instead of alternating task by task; a few slow tasks still spread.
import assert from "node:assert/strict";
import { ActorSystem } from "../mod.ts";
import type { poolWorker } from "./fixtures/pool_worker.ts";

const WORKER = new URL("./fixtures/pool_worker.ts", import.meta.url);

/** How often consecutive entries differ. */
function switches(workers: readonly string[]): number {
  let count = 0;
  for (let i = 1; i < workers.length; i++) if (workers[i] !== workers[i - 1]) count++;
  return count;
}

Deno.test("a burst of tasks goes to each worker in runs, the loads within a quarter of each other", async () => {
  await using system = await ActorSystem.start();
  const pool = await system.pool<typeof poolWorker>(WORKER, { id: "a", size: 2 });
  // Submitted in one turn: every choice is made before any task is answered.
  const asks = Array.from({ length: 256 }, (_, n) => pool.ask("task", n));
  const load = pool.stats().load;
  const [low, high] = [Math.min(load["a-1"]!, load["a-2"]!), Math.max(load["a-1"]!, load["a-2"]!)];
  assert.equal(low + high, 256);
  assert.ok(high <= low + (low >> 2), `loads ${JSON.stringify(load)}`);
  const workers = (await Promise.all(asks)).map((r) => r.worker);
  // Task by task, least-loaded alternates: 255 switches. In runs: a few dozen.
  assert.ok(switches(workers) <= 32, `${switches(workers)} switches`);
  assert.deepEqual(new Set(workers), new Set(["a-1", "a-2"]));
  await pool.close();
});

Deno.test("a few tasks at once still go one to each worker", async () => {
  await using system = await ActorSystem.start();
  const pool = await system.pool<typeof poolWorker>(WORKER, { id: "s", size: 4 });
  const asks = Array.from({ length: 4 }, (_, n) => pool.ask("slowTask", n));
  assert.deepEqual(pool.stats().load, { "s-1": 1, "s-2": 1, "s-3": 1, "s-4": 1 });
  assert.deepEqual(await Promise.all(asks), [0, 1, 2, 3]);
  const more = Array.from({ length: 8 }, (_, n) => pool.ask("slowTask", n));
  assert.deepEqual(pool.stats().load, { "s-1": 2, "s-2": 2, "s-3": 2, "s-4": 2 });
  await Promise.all(more);
  await pool.close();
});
