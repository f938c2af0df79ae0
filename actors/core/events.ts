/**
 * Lifecycle events: what happened to which actor, when, and why. Read them
 * from `ActorSystem.events()`; their counts are in `ActorSystem.stats()`.
 *
 * @module
 */

import type { ExitReason } from "./actor_ref.ts";
import type { ClusterEvent } from "./cluster_events.ts";

export type { ClusterEvent } from "./cluster_events.ts";

/** One crash a supervisor counted toward its restart intensity. */
export interface CrashRecord {
  /** The child that crashed. */
  id: string;
  /** Why it ended. */
  reason: ExitReason;
  /** The error behind it, when there was one. */
  error?: Error;
  /** The names of the messages it was handling, when it could say (see `ActorExit.handling`). */
  handling?: string[];
  /** When, in milliseconds since the epoch. */
  time: number;
}

/**
 * Something that happened to an actor or a supervisor:
 * - `started`: an actor is up (its `init` ran);
 * - `crashed`: an actor ended abnormally (`reason` and `error` say how, `handling` names the
 *   messages it was handling);
 * - `stopped`: an actor ended through its stop sentinel or was terminated at its deadline;
 * - `restarted`: a supervisor started a child again after `delayMs` of backoff;
 * - `gave-up`: a supervisor exceeded its restart intensity, stopped its children and failed;
 * - `permits-recovered`: permits an ended actor held were given back to a semaphore;
 * - `pool-grew`: a dynamic pool started a worker because tasks waited and every worker was busy
 *   (`size` is the pool's size with it);
 * - `pool-shrank`: a dynamic pool retired a worker idle for its `idleTimeout` (`size` without it);
 * - `pool-recycled`: a pool retired a worker past its `maxTasks` or `maxMemory` (`reason` says
 *   which) and started `replacement` in its place;
 * - `nats-*`: a {@linkcode ClusterEvent} of a NATS node connected with this system
 *   (`NatsNode.connect({ system })`): disconnects, reconnects, dead letters...
 *
 * @example Count crashes
 * ```ts
 * import type { LifecycleEvent } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const events: LifecycleEvent[] = [
 *   { type: "crashed", id: "a", reason: "error", time: 0 },
 *   { type: "restarted", id: "a", supervisor: "root", attempt: 1, delayMs: 0, time: 1 },
 * ];
 * assert.equal(events.filter((e) => e.type === "crashed").length, 1);
 * ```
 */
export type LifecycleEvent =
  | {
    type: "started";
    id: string;
    host: "worker" | "process" | "thread";
    pid?: number;
    supervisor?: string;
    time: number;
  }
  | {
    type: "crashed";
    id: string;
    reason: ExitReason;
    error?: Error;
    /** The names of the messages it was handling, when it could say (see `ActorExit.handling`). */
    handling?: string[];
    supervisor?: string;
    time: number;
  }
  | {
    type: "stopped";
    id: string;
    reason: ExitReason;
    /** A worker whose thread still ran after its termination (see `ActorExit.leaked`). */
    leaked?: boolean;
    supervisor?: string;
    time: number;
  }
  | {
    type: "restarted";
    id: string;
    supervisor: string;
    attempt: number;
    delayMs: number;
    /** Set when an operator asked for the restart (`Supervisor.restart`), not a crash. */
    requested?: boolean;
    time: number;
  }
  | { type: "gave-up"; id: string; crashes: CrashRecord[]; error: Error; time: number }
  | {
    type: "permits-recovered";
    id: string;
    semaphore: string;
    permits: number;
    time: number;
  }
  | {
    type: "pool-grew";
    /** The pool's id. */
    id: string;
    /** The worker it started. */
    worker: string;
    /** How many workers the pool has now. */
    size: number;
    time: number;
  }
  | {
    type: "pool-shrank";
    /** The pool's id. */
    id: string;
    /** The worker it retired: it stops through its sentinel. */
    worker: string;
    /** How many workers the pool has now. */
    size: number;
    time: number;
  }
  | {
    type: "pool-recycled";
    /** The pool's id. */
    id: string;
    /** The worker retired: it finishes the tasks it has, then stops through its sentinel. */
    worker: string;
    /** The worker started in its place. */
    replacement: string;
    /** `"tasks"`: it was sent `maxTasks` tasks; `"memory"`: it used more than `maxMemory`. */
    reason: "tasks" | "memory";
    /** Tasks it was sent. */
    tasks: number;
    /** The memory it used, in bytes, when `reason` is `"memory"`. */
    memory?: number;
    time: number;
  }
  | ClusterEvent;

/** The `type`s of lifecycle events. */
export type LifecycleEventType = LifecycleEvent["type"];
