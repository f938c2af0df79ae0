/**
 * Measures, in a fresh process, how long N actors take to start and how much memory each adds:
 * starts an actor system, lets it settle, reads the resident memory, spawns N actors on HOST at
 * once (each with its host's default transport) and asks each one `pid`, which times
 * `spawnMs` (from the first `spawn` call to the last reply), lets them settle, and reads the
 * memory again. Memory per actor is the rise of this process's `Deno.memoryUsage().rss`, plus,
 * for process actors, every child's `VmRSS` (`/proc/<pid>/status`), divided by N. Prints
 * `{"spawnMs": n, "perActorMiB": n}`.
 *
 * Usage: `deno run --allow-read --allow-run ... _scale_probe.ts HOST N SETTLE_MS`
 *
 * @module
 */

import { ActorSystem, type HostKind } from "../mod.ts";
import type { scaleActor } from "./actors/scale_actor.ts";
import { delay } from "./baselines/_util.ts";
import { vmRssMiB } from "./baselines/spawn.ts";

const ACTOR = new URL("./actors/scale_actor.ts", import.meta.url);
const host = (Deno.args[0] ?? "worker") as HostKind;
const count = Number(Deno.args[1] ?? 10);
const settleMs = Number(Deno.args[2] ?? 100);
const MIB = 1024 * 1024;

const system = await ActorSystem.start();
try {
  await delay(settleMs);
  const before = Deno.memoryUsage().rss;
  const start = performance.now();
  const pids = await Promise.all(Array.from({ length: count }, async () => {
    const ref = await system.spawn<typeof scaleActor>(ACTOR, { host, timeout: 120_000 });
    return await ref.ask("pid");
  }));
  const spawnMs = performance.now() - start;
  await delay(settleMs);
  let total = (Deno.memoryUsage().rss - before) / MIB;
  if (host === "process") { for (const pid of pids) total += await vmRssMiB(pid); }
  console.log(JSON.stringify({ spawnMs, perActorMiB: total / count }));
} finally {
  await system.shutdown({ timeout: 10_000 });
}
