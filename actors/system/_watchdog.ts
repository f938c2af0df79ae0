// The heartbeat watchdog: one timer on the parent's thread that declares dead
// a worker actor silent for three of its ticks while not inside a handler.
// It runs while there are actors to watch, and never keeps the process alive.

import type { ActorCell } from "../core/cell.ts";

/** Watchdog ticks without a sign of life after which a worker actor is declared dead. */
const MISSED_HEARTBEATS = 3;

/** Judges the actors of a system by their heartbeats, one tick per heartbeat interval. */
export class Watchdog {
  #intervalMs: number;
  #cells: () => Iterable<ActorCell>;
  #timer: ReturnType<typeof setInterval> | undefined;

  /**
   * @param intervalMs Milliseconds between ticks (the actors' heartbeat interval); 0 for none.
   * @param cells The actors to judge, read at each tick.
   */
  constructor(intervalMs: number, cells: () => Iterable<ActorCell>) {
    this.#intervalMs = intervalMs;
    this.#cells = cells;
  }

  /** Starts ticking, unless it ticks already or the interval is 0. */
  start(): void {
    if (this.#timer !== undefined || this.#intervalMs === 0) return;
    // Silence is counted in watchdog ticks, not read off the clock: when this
    // thread itself stalls (a long synchronous task, a starved CPU), ticks
    // stall with it, and heartbeats queued meanwhile are not held against
    // the actors that sent them.
    const judged = new WeakMap<ActorCell, { seen: number; silent: number }>();
    this.#timer = setInterval(() => {
      for (const cell of this.#cells()) {
        // Only actors that send heartbeats are judged by them (process actors send
        // none: their exit status says when they die).
        if (!cell.heartbeats || cell.state === "starting") continue;
        const record = judged.get(cell);
        if (record === undefined || record.seen !== cell.lastSeen || cell.busy) {
          judged.set(cell, { seen: cell.lastSeen, silent: 0 });
        } else if (++record.silent >= MISSED_HEARTBEATS) {
          cell.lostHeartbeat();
        }
      }
    }, this.#intervalMs);
    Deno.unrefTimer(this.#timer as unknown as number);
  }

  /** Stops ticking; `start()` begins again with every actor's silence at 0. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
