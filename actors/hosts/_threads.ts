// Which thread a worker actor runs on, so that after `terminate()` the
// parent can tell a thread that ended from one still spinning in synchronous
// code (Deno cannot stop those: see ../../ARCHITECTURE.md and the README's
// "What JavaScript cannot do"). Linux names a Deno worker's thread
// "worker-<n>"; the constructor starts it synchronously, so the one new
// such thread across `new Worker(...)` is the actor's.

import type { TransportLink } from "../../transports/transport.ts";

const TASKS = "/proc/self/task";

/**
 * How long a kill waits for the worker's thread to end: it takes 2 to 4 ms
 * after `terminate()` (more on a loaded machine), and one spinning in
 * synchronous code never ends. Only such a leak waits this long.
 */
export const THREAD_END_MS = 200;

/**
 * Tells the link that the worker is gone once its thread has surely ended
 * (`peerGone`, so a ring transport may reuse its buffers); never for a thread
 * that does not end within `THREAD_END_MS` or that cannot be seen. Resolves
 * when it told the link or gave up: the host's release waits for it, so no
 * poll outlives the actor (a thread usually ends within a few milliseconds).
 */
export function afterThreadEnds(thread: string | undefined, link: TransportLink): Promise<void> {
  if (thread === undefined || link.peerGone === undefined) return Promise.resolve();
  const deadline = performance.now() + THREAD_END_MS;
  return new Promise((resolve) => {
    const check = () => {
      if (!threadRunning(thread)) {
        link.peerGone?.();
        resolve();
      } else if (performance.now() < deadline) setTimeout(check, 2);
      else resolve();
    };
    check();
  });
}

let readable: boolean | undefined;

/** Whether this process may read its own thread list (Linux, with read permission). */
function canRead(): boolean {
  if (readable === undefined) {
    try {
      readable = Deno.build.os === "linux" &&
        Deno.permissions.querySync({ name: "read", path: TASKS }).state === "granted";
    } catch {
      readable = false;
    }
  }
  return readable;
}

/** The ids of this process's threads now, or `undefined` when they cannot be read. */
export function threadIds(): Set<string> | undefined {
  if (!canRead()) return undefined;
  try {
    const ids = new Set<string>();
    for (const entry of Deno.readDirSync(TASKS)) ids.add(entry.name);
    return ids;
  } catch {
    return undefined;
  }
}

/** The one worker thread started since `before` was taken; `undefined` unless exactly one. */
export function newWorkerThread(before: Set<string> | undefined): string | undefined {
  const now = before && threadIds();
  if (!now) return undefined;
  let found: string | undefined;
  for (const id of now) {
    if (before!.has(id) || !threadName(id)?.startsWith("worker-")) continue;
    if (found !== undefined) return undefined; // another thread started a worker meanwhile
    found = id;
  }
  return found;
}

function threadName(id: string): string | undefined {
  try {
    return Deno.readTextFileSync(`${TASKS}/${id}/comm`).trim();
  } catch {
    return undefined;
  }
}

/** Whether the thread `id` of this process still exists (and is not a zombie). */
export function threadRunning(id: string): boolean {
  try {
    const stat = Deno.readTextFileSync(`${TASKS}/${id}/stat`);
    const state = stat[stat.lastIndexOf(")") + 2];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/**
 * The CPU time (user and system, in clock ticks) the thread `id` of this
 * process has used, or `undefined` when it cannot be read.
 */
export function threadCpuTicks(id: string): number | undefined {
  try {
    const stat = Deno.readTextFileSync(`${TASKS}/${id}/stat`);
    // After the name: state (field 3), ... utime (14), stime (15).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}
