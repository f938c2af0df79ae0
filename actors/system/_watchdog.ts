// The heartbeat watchdog: one timer on the parent's thread that declares dead
// a worker actor silent for three of its ticks while not inside a handler,
// and not decoding a message. It runs while there are actors to watch, and
// never keeps the process alive.

import type { ActorCell } from "../core/cell.ts";

/** Watchdog ticks without a sign of life after which a worker actor is declared dead. */
const MISSED_HEARTBEATS = 3;

/** What the watchdog remembers of one actor between ticks. */
interface Judged {
  /** The actor's `lastSeen` at the last tick. */
  seen: number;
  /** Ticks in a row without a sign of life. */
  silent: number;
  /** Its thread's CPU time at the last tick, while it was silent with messages untaken. */
  cpu: number | undefined;
}

/**
 * Whether a silent actor is decoding: a message sent to it is not taken yet
 * (decoding a large one holds the thread for seconds, a 1e6-key object say,
 * before any of the actor's code runs), and its thread used CPU since the
 * last tick. A thread that uses none is stuck, not decoding, and is judged
 * as silent. When the host cannot tell the thread's CPU time, a message not
 * taken yet is enough (as a running handler is).
 */
function decoding(cell: ActorCell, record: Judged): boolean {
  if (!cell.untaken) return false;
  const cpu = cell.threadCpu();
  if (cpu === undefined) return true;
  const worked = record.cpu === undefined || cpu > record.cpu;
  record.cpu = cpu;
  return worked;
}

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
    const judged = new WeakMap<ActorCell, Judged>();
    this.#timer = setInterval(() => {
      for (const cell of this.#cells()) {
        // Only actors that send heartbeats are judged by them (process actors send
        // none: their exit status says when they die).
        if (!cell.heartbeats || cell.state === "starting") continue;
        const record = judged.get(cell);
        if (record === undefined || record.seen !== cell.lastSeen || cell.busy) {
          judged.set(cell, { seen: cell.lastSeen, silent: 0, cpu: undefined });
        } else if (decoding(cell, record)) {
          record.silent = 0;
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
