// The figures `ActorSystem.actors()` adds to each cell's counters for
// operators: resident memory and CPU time of a process actor (from /proc),
// CPU time of a worker actor's thread, since when it has been in its current
// handler (first seen busy on the liveness flag), and its last crash; and
// the snapshot itself, each cell's counters with its restarts and these.

import type { ActorStats } from "../core/actor_ref.ts";
import type { ActorCell } from "../core/cell.ts";
import type { LifecycleEvent } from "../core/events.ts";
import type { SupervisorRuntime } from "../supervision/supervisor.ts";

/** Linux's USER_HZ: the clock ticks per second that /proc's CPU times count. */
const TICKS_PER_SECOND = 100;
/** Ids whose last crash is remembered, at most. */
const MAX_CRASHES = 1000;

/** What the system remembers of its actors between two snapshots. */
export class ActorExtras {
  #busySince = new Map<string, number>();
  #crashes = new Map<string, NonNullable<ActorStats["lastCrash"]>>();

  /** Records a crash, from the system's lifecycle events. */
  event(event: LifecycleEvent): void {
    if (event.type !== "crashed") return;
    const crash: NonNullable<ActorStats["lastCrash"]> = { reason: event.reason, time: event.time };
    if (event.error?.message) crash.message = event.error.message;
    this.#crashes.delete(event.id); // re-inserted last: the map is in crash order
    this.#crashes.set(event.id, crash);
    // Bounded: ids come and go (a pool's recycled workers), the oldest crashes go first.
    if (this.#crashes.size > MAX_CRASHES) {
      this.#crashes.delete(this.#crashes.keys().next().value!);
    }
  }

  /**
   * Every running actor's counters, in spawn order, with its restarts (from
   * the supervisors) and these figures: what `ActorSystem.actors()` returns.
   */
  snapshot(
    running: ReadonlyMap<string, ActorCell>,
    supervisors: readonly SupervisorRuntime[],
  ): ActorStats[] {
    const restarts = new Map<string, number>();
    for (const runtime of supervisors) {
      for (const [id, count] of runtime.restartCounts()) restarts.set(id, count);
    }
    this.prune(new Set(running.keys()));
    const now = Date.now();
    return [...running.values()].map((cell) => ({
      ...cell.stats(),
      restarts: restarts.get(cell.id) ?? 0,
      ...this.of(cell, now),
    }));
  }

  /** The extra fields of one running actor. */
  of(cell: ActorCell, now: number = Date.now()): Partial<ActorStats> {
    const extra: Partial<ActorStats> = {};
    if (cell.busy) {
      const since = this.#busySince.get(cell.id) ?? now;
      this.#busySince.set(cell.id, since);
      extra.busySince = since;
    } else this.#busySince.delete(cell.id);
    const crash = this.#crashes.get(cell.id);
    if (crash) extra.lastCrash = crash;
    const pid = cell.pid;
    if (pid !== undefined) {
      const rss = processRss(pid);
      if (rss !== undefined) extra.rss = rss;
      const ticks = processTicks(pid);
      if (ticks !== undefined) extra.cpuMs = (ticks * 1000) / TICKS_PER_SECOND;
    } else {
      const ticks = cell.threadCpu();
      if (ticks !== undefined) extra.cpuMs = (ticks * 1000) / TICKS_PER_SECOND;
    }
    return extra;
  }

  /** Forgets the actors that no longer run. */
  prune(running: ReadonlySet<string>): void {
    for (const id of this.#busySince.keys()) if (!running.has(id)) this.#busySince.delete(id);
  }
}

/** A process's resident set in bytes, from `VmRSS` in `/proc/<pid>/status`. */
function processRss(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** A process's user and system CPU time in clock ticks, from `/proc/<pid>/stat`. */
function processTicks(pid: number): number | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}
