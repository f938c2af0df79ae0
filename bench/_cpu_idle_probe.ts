/**
 * Measures, in a fresh process, the CPU time one idle actor costs: starts an actor system,
 * spawns one echo actor over TRANSPORT and asks it once (so both sides are past start-up and
 * the transport has carried traffic), lets it settle, then reads the process's CPU time (user +
 * system of every thread, `process.cpuUsage()`, which is `getrusage(RUSAGE_SELF)`) before and
 * after IDLE_MS of doing nothing. Prints `{"percent": n}`: percent of one core.
 *
 * Usage: `deno run --allow-read=DIR _cpu_idle_probe.ts IDLE_MS SETTLE_MS [TRANSPORT]`
 *
 * @module
 */

import process from "node:process";
import { ActorSystem } from "../mod.ts";
import type { echo } from "./actors/echo.ts";
import { delay } from "./baselines/_util.ts";

const ECHO = new URL("./actors/echo.ts", import.meta.url);
const idleMs = Number(Deno.args[0] ?? 2_000);
const settleMs = Number(Deno.args[1] ?? 200);
const transport = Deno.args[2] ?? "ring";

const system = await ActorSystem.start();
try {
  const ref = await system.spawn<typeof echo>(ECHO, { transport, timeout: 15_000 });
  if (await ref.ask("ping") !== "pong") throw new Error("Cannot measure: the actor did not pong");
  await delay(settleMs);
  const before = process.cpuUsage();
  const start = performance.now();
  await delay(idleMs);
  const used = process.cpuUsage(before);
  const wallUs = (performance.now() - start) * 1000;
  console.log(JSON.stringify({ percent: (used.user + used.system) / wallUs * 100 }));
} finally {
  await system.shutdown({ timeout: 2_000 });
}
