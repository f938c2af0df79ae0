// How much memory one pool worker uses, for recycling past `maxMemory`:
// a process actor's resident set (RSS, from /proc/<pid>/status), a worker
// actor's V8 heap in use (`stats().heapUsed`, when the stats carry it).

import type { ActorStats } from "../core/actor_ref.ts";

/**
 * A worker's memory in bytes, or `undefined` when it cannot be read (no
 * `/proc`, no read permission, the process is gone, or a worker actor's
 * stats do not carry `heapUsed`).
 */
export async function workerMemory(stats: ActorStats): Promise<number | undefined> {
  if (stats.host === "process") {
    if (stats.pid === undefined) return undefined;
    return await processRss(stats.pid);
  }
  return stats.heapUsed;
}

/** A process's resident set in bytes, from the `VmRSS` line of `/proc/<pid>/status` (in kB). */
async function processRss(pid: number): Promise<number | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(`/proc/${pid}/status`);
  } catch {
    return undefined;
  }
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  return match ? Number(match[1]) * 1024 : undefined;
}
