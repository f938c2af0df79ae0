// A worker actor's V8 heap in use, reported to its parent through the
// liveness memory it already shares (slot `LIVENESS_HEAP_KIB`, in KiB):
// written at start and every second, read by `troupe status` (MEM) and by a
// pool's `maxMemory` recycling.

import { LIVENESS_HEAP_KIB } from "../core/protocol.ts";
import { every } from "../../internal/ticker.ts";

/** How often the worker writes its heap figure. */
export const HEAP_REPORT_MS = 1000;

/** Starts writing this isolate's `heapUsed` into `liveness` (on a ticker: it keeps nothing alive, and reads no timers global). */
export function reportHeap(liveness: Int32Array, intervalMs: number = HEAP_REPORT_MS): void {
  if (liveness.length <= LIVENESS_HEAP_KIB) return;
  const write = () => {
    try {
      const kib = Math.min(0x7fffffff, Math.ceil(Deno.memoryUsage().heapUsed / 1024));
      Atomics.store(liveness, LIVENESS_HEAP_KIB, kib);
    } catch {
      // Not available here: the parent reads 0, "unknown".
    }
  };
  write();
  every(intervalMs, write);
}
