/**
 * Measures, in a fresh process, the resident memory that idle worker actors add, the same way
 * `baselines/_rss_probe.ts` measures raw workers: reads `Deno.memoryUsage().rss` after the actor
 * system has started, spawns COUNT echo actors one after the other (each `spawn` resolves once
 * the actor's `init` ran and it said it is ready), lets them settle, reads it again, shuts the
 * system down and prints `{"perActorMiB": n}`.
 *
 * Usage: `deno run --allow-read=DIR _actor_rss_probe.ts COUNT SETTLE_MS [TRANSPORT]`
 *
 * @module
 */

import { ActorSystem } from "../mod.ts";
import type { echo } from "./actors/echo.ts";
import { delay } from "./baselines/_util.ts";

const ECHO = new URL("./actors/echo.ts", import.meta.url);
const count = Number(Deno.args[0] ?? 4);
const settleMs = Number(Deno.args[1] ?? 100);
const transport = Deno.args[2] ?? "queue";

const system = await ActorSystem.start();
try {
  await delay(settleMs);
  const before = Deno.memoryUsage().rss;
  for (let i = 0; i < count; i++) {
    await system.spawn<typeof echo>(ECHO, { transport, timeout: 15_000 });
  }
  await delay(settleMs);
  const after = Deno.memoryUsage().rss;
  console.log(JSON.stringify({ perActorMiB: (after - before) / count / (1024 * 1024) }));
} finally {
  await system.shutdown({ timeout: 2_000 });
}
