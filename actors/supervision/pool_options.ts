/**
 * The options and results of a `Pool`: what `ActorSystem.pool`,
 * `Pool.ask`, `Pool.tell` and the broadcasts take, and what `Pool.stats` and
 * the broadcasts give back.
 *
 * @module
 */

import type { AskOptions, TellOptions } from "../core/actor_ref.ts";
import type { ChildSpec } from "./supervisor.ts";
import type { PoolStrategy } from "./_pool_settings.ts";

/** Options of `ActorSystem.pool`. */
export interface PoolOptions<A = unknown> extends Omit<ChildSpec, "id" | "module" | "args"> {
  /** The pool's id; workers are `<id>-1` to `<id>-<size>`, and later ones count on. Default: the module's name. */
  id?: string;
  /** How many workers, for a pool of fixed size. Default `navigator.hardwareConcurrency`. */
  size?: number;
  /**
   * The fewest workers of a dynamic pool, started with it (not with `size`).
   * Default 1 when `max` is given.
   */
  min?: number;
  /**
   * The most workers of a dynamic pool (not with `size`). Default
   * `navigator.hardwareConcurrency` (at least `min`) when `min` is given.
   */
  max?: number;
  /**
   * A dynamic pool retires a worker that has had no task for this many
   * milliseconds, down to `min`. Default 10,000.
   */
  idleTimeout?: number;
  /**
   * The most tasks sent to one worker at a time; the others wait in the pool
   * by priority. Default 1 for a dynamic pool (so that waiting tasks make it
   * grow), else the mailbox capacity (the fastest: tasks wait in the
   * workers' mailboxes, and priorities only order those past `size *
   * capacity`). Set 1 for priorities to take effect at once.
   */
  tasksPerWorker?: number;
  /**
   * Recycles a worker once it has been sent this many tasks (Python's
   * `maxtasksperchild`): it finishes them and stops, and a new one takes its
   * place. Default: never.
   */
  maxTasks?: number;
  /**
   * Recycles a worker that uses more than this many bytes: a process actor's
   * resident set (from `/proc/<pid>/status`; the parent needs read access to
   * `/proc`), a worker actor's V8 heap in use (`stats().heapUsed`, when the
   * stats carry it; otherwise the mark is not checked). Default: never.
   */
  maxMemory?: number;
  /** How often `maxMemory` is checked, in milliseconds. Default 1000. */
  memoryInterval?: number;
  /** The argument each worker's `init` gets. */
  args?: A;
  /** How tasks are spread. Default `"least-loaded"`. */
  strategy?: PoolStrategy;
  /** Retry a task once on another worker when its worker dies under it. Default true. */
  retry?: boolean;
  /**
   * Abandons the start: the workers started so far are stopped, and the
   * pool's promise rejects with the signal's reason. It does not outlive the start.
   */
  signal?: AbortSignal;
}

/** Options of `Pool.ask`: an ask's, and the task's priority. */
export interface PoolAskOptions extends AskOptions {
  /**
   * Among the tasks waiting in the pool, higher runs first; equal ones in
   * the order submitted. A finite number. Default 0.
   */
  priority?: number;
}

/** Options of `Pool.tell`. */
export interface PoolTellOptions extends Pick<TellOptions, "timeout" | "signal"> {
  /** As {@linkcode PoolAskOptions.priority}. Default 0. */
  priority?: number;
}

/** What one worker made of a broadcast: a settled result and the worker's id. */
export type BroadcastResult<T> = (PromiseFulfilledResult<T> | PromiseRejectedResult) & {
  /** The worker's id. */
  worker: string;
};

/** A snapshot of a pool's counters. */
export interface PoolStats {
  /** The pool's id. */
  id: string;
  /** Workers taking tasks (not counting those starting or retired and finishing). */
  size: number;
  /** The fewest workers (`size` for a pool of fixed size). */
  min: number;
  /** The most workers (`size` for a pool of fixed size). */
  max: number;
  /** Tasks submitted and not yet settled. */
  inflight: number;
  /** Tasks waiting in the pool for a worker with room (part of `inflight`). */
  queued: number;
  /** Tasks handled successfully. */
  completed: number;
  /** Tasks that failed (the handler threw, the worker died and no retry was left, or the wait ended). */
  failed: number;
  /** Tasks retried on another worker after their worker died. */
  retried: number;
  /** Workers recycled after `maxTasks` tasks or past `maxMemory`. */
  recycled: number;
  /** Tasks in flight per worker, by worker id (a retired worker finishing its tasks included). */
  load: Record<string, number>;
}
