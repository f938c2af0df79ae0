// A pool's maxMemory recycling holds for worker actors too: a worker reports
// its V8 heap in use (stats().heapUsed) through its liveness memory.
import assert from "node:assert/strict";
import { ActorSystem } from "../mod.ts";
import { within } from "./_helpers.ts";
import type { heapWorker } from "./fixtures/heap_worker.ts";

const WORKER = new URL("./fixtures/heap_worker.ts", import.meta.url);

Deno.test("a worker actor reports its heap in use, and maxMemory recycles a worker past the mark", async () => {
  await using system = await ActorSystem.start();
  const events = system.events();
  const pool = await system.pool<typeof heapWorker>(WORKER, {
    id: "heap",
    size: 1,
    maxMemory: 96 * 1024 * 1024,
    memoryInterval: 20,
  });
  assert.equal(await pool.ask("whoami", undefined), "heap-1");
  const before = system.actors().find((a) => a.id === "heap-1")!;
  assert.ok((before.heapUsed ?? 0) > 0, JSON.stringify(before));
  assert.ok(before.heapUsed! < 96 * 1024 * 1024, String(before.heapUsed));
  assert.equal(await pool.ask("hog", 128), "heap-1");
  const recycled = await within(
    (async () => {
      for await (const event of events) if (event.type === "pool-recycled") return event;
      throw new Error("the events ended");
    })(),
    20_000,
    "the recycling",
  );
  assert.equal(recycled.reason, "memory");
  assert.equal(recycled.worker, "heap-1");
  assert.ok((recycled.memory ?? 0) > 96 * 1024 * 1024, String(recycled.memory));
  assert.equal(await pool.ask("whoami", undefined), "heap-2");
  await events.return?.();
  await pool.close();
});
