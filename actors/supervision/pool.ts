/**
 * `Pool`: N identical actors behind one handle, like Python's
 * `multiprocessing.Pool` and `JoinableQueue` together.
 *
 * Guarantees:
 * - Work goes to the least-loaded worker (fewest tasks in flight), or
 *   round-robin if asked. Least-loaded keeps a burst on the worker the
 *   previous task went to while that one runs at most a quarter more tasks
 *   than the least loaded (rounded down, so a few tasks at once still go one
 *   to each worker); past that, to the least loaded, ties to the lowest
 *   index. A worker is sent at most `tasksPerWorker` tasks at a time; the
 *   others wait in the pool, highest `priority` first and first in, first
 *   out within a priority.
 * - `drain()` resolves once every task submitted so far has been handled
 *   (`JoinableQueue.join`); it never waits for tasks submitted after it.
 * - A worker that dies is replaced by its supervisor. The task it was
 *   running is retried once on another worker (`retry: true`, the default)
 *   or fails with the worker's `ActorCrashedError`.
 * - A dynamic pool (`min` below `max`) starts a worker when tasks wait in
 *   the pool and every worker is busy, and retires one idle for
 *   `idleTimeout` ms; it never has fewer than `min` or more than `max`
 *   workers taking tasks.
 * - A worker retired (idle, or recycled after `maxTasks` tasks or past
 *   `maxMemory`) gets no more tasks: it finishes those it has, then stops
 *   through its sentinel. Tasks waiting in the pool wait for another worker:
 *   none is lost.
 * - `askAll()` and `tellAll()` reach every worker, bypassing the queue.
 * - `close()` sends exactly one stop sentinel to each worker, behind the
 *   tasks already queued, like putting N `None`s on a queue with N workers.
 * - Tasks in flight are bounded by `size * capacity`: past that, `tell`
 *   waits for room.
 *
 * @module
 */

import type { AskOptions } from "../core/actor_ref.ts";
import type {
  AnyActorDefinition,
  HandlersOf,
  MessageName,
  PayloadArgs,
  ReplyOf,
} from "../core/define_actor.ts";
import { ActorStoppedError } from "../../internal/errors.ts";
import { abortable, watchDeadline } from "../../internal/abort.ts";
import { type PoolSettings, type PoolStrategy, splitPoolOptions } from "./_pool_settings.ts";
import { PoolDispatch } from "./_pool_dispatch.ts";
import type { PoolKit } from "./_pool_workers.ts";
import type {
  BroadcastResult,
  PoolAskOptions,
  PoolOptions,
  PoolStats,
  PoolTellOptions,
} from "./pool_options.ts";

export type {
  BroadcastResult,
  PoolAskOptions,
  PoolKit,
  PoolOptions,
  PoolSettings,
  PoolStats,
  PoolStrategy,
  PoolTellOptions,
};
export { splitPoolOptions };

function checkPriority(priority: number | undefined): string | undefined {
  if (priority === undefined || Number.isFinite(priority)) return undefined;
  return `Cannot submit task: priority must be a finite number, received ${priority}`;
}

/**
 * N identical actors behind one typed handle. Made by `ActorSystem.pool`.
 *
 * @example Four workers, a hundred tasks, then close
 * ```ts
 * import { ActorSystem } from "@troupe/troupe";
 * import type { wordCount } from "../../examples/actors/word_count.ts";
 * import assert from "node:assert/strict";
 *
 * await using system = await ActorSystem.start();
 * const pool = await system.pool<typeof wordCount>(
 *   new URL("../../examples/actors/word_count.ts", import.meta.url),
 *   { size: 4, args: { minLength: 1 } },
 * );
 * const counts = await Promise.all(
 *   Array.from({ length: 100 }, (_, i) => pool.ask("count", `task ${i}`)),
 * );
 * assert.equal(counts.length, 100);
 * await pool.close();
 * ```
 *
 * @example A dynamic pool: one to four workers, recycled every 1000 tasks
 * ```ts
 * import { ActorSystem } from "@troupe/troupe";
 * import type { wordCount } from "../../examples/actors/word_count.ts";
 * import assert from "node:assert/strict";
 *
 * await using system = await ActorSystem.start();
 * const pool = await system.pool<typeof wordCount>(
 *   new URL("../../examples/actors/word_count.ts", import.meta.url),
 *   { min: 1, max: 4, idleTimeout: 5000, maxTasks: 1000, args: { minLength: 1 } },
 * );
 * assert.equal(pool.size, 1);
 * await Promise.all(Array.from({ length: 20 }, (_, i) => pool.ask("count", `task ${i}`)));
 * assert.ok(pool.size >= 1 && pool.size <= 4);
 * await pool.close();
 * ```
 */
export class Pool<D extends AnyActorDefinition> implements AsyncDisposable {
  /** The pool's id; its workers are `<id>-1` to `<id>-<size>`, later ones `<id>-<n>` counting on. */
  readonly id: string;
  #kit: PoolKit;
  #tasks: PoolDispatch;
  #closed: Promise<void> | undefined;

  /**
   * Made by `ActorSystem.pool`; not constructed directly.
   *
   * @param id The pool's id (internal).
   * @param kit The pool's workers and supervisor (internal).
   * @param settings The pool's checked options (internal).
   */
  constructor(id: string, kit: never, settings: Partial<PoolSettings>) {
    this.id = id;
    this.#kit = kit as PoolKit;
    this.#tasks = new PoolDispatch(id, this.#kit, settings);
  }

  /** How many workers take tasks now (not counting those starting, or retired and finishing). */
  get size(): number {
    return this.#tasks.workers.list.length;
  }

  /**
   * Runs a task on one worker and waits for its reply.
   *
   * @example Urgent work first: one worker, one task at a time
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import type { wordCount } from "../../examples/actors/word_count.ts";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const pool = await system.pool<typeof wordCount>(
   *   new URL("../../examples/actors/word_count.ts", import.meta.url),
   *   { size: 1, tasksPerWorker: 1, args: { minLength: 1 } },
   * );
   * const order: string[] = [];
   * const tasks = ["a", "b c", "d e f"].map((text, i) =>
   *   pool.ask("count", text, { priority: i }).then(() => order.push(text))
   * );
   * await Promise.all(tasks);
   * // "a" went first (the worker was free); then the higher priority.
   * assert.deepEqual(order, ["a", "d e f", "b c"]);
   * await pool.close();
   * ```
   *
   * @param name The handler's name.
   * @param args The payload, then optional `PoolAskOptions` (a timeout or a
   * signal also ends the wait in the pool; `priority` orders the waiting tasks).
   * @returns The handler's return value.
   * @throws {ActorError} When the handler throws.
   * @throws {ActorCrashedError} When the worker died and no retry was left.
   * @throws {ActorStoppedError} When the pool is closed.
   * @throws {RangeError} When the priority is not a finite number.
   */
  ask<K extends MessageName<D>>(
    name: K,
    ...args: [...PayloadArgs<HandlersOf<D>[K]>, options?: PoolAskOptions]
  ): Promise<ReplyOf<HandlersOf<D>[K]>> {
    const options = args[1] as PoolAskOptions | undefined;
    const priority = options?.priority;
    if (priority !== undefined) {
      const problem = checkPriority(priority);
      if (problem) return Promise.reject(new RangeError(problem));
    }
    return this.#tasks.run(name, args[0], options, priority ?? 0) as Promise<
      ReplyOf<HandlersOf<D>[K]>
    >;
  }

  /**
   * Submits a task without waiting for its reply. Resolves once the task is
   * accepted (at once, unless `size * capacity` tasks are in flight). A task
   * that fails is counted in `stats().failed` and reported as a dead letter.
   *
   * @param name The handler's name.
   * @param args The payload, when the handler takes one, then optional
   * `PoolTellOptions` (its `priority`; a `signal` or `timeout` gives up
   * waiting for room, and the task is not submitted).
   * @returns Once the task is accepted.
   * @throws {ActorStoppedError} When the pool is closed.
   * @throws {RangeError} When the priority is not a finite number.
   * @throws {DOMException} `TimeoutError` when no room came within `timeout`, or the signal's
   * reason when it aborted first.
   */
  async tell<K extends MessageName<D>>(
    name: K,
    ...args: [...PayloadArgs<HandlersOf<D>[K]>, options?: PoolTellOptions]
  ): Promise<void> {
    if (this.#closed) throw new ActorStoppedError(this.id);
    const options = args[1] as PoolTellOptions | undefined;
    const priority = options?.priority;
    const problem = checkPriority(priority);
    if (problem) throw new RangeError(problem);
    options?.signal?.throwIfAborted();
    const tasks = this.#tasks;
    if (tasks.inflight >= tasks.bound) await tasks.waitForRoom(options);
    if (this.#closed) throw new ActorStoppedError(this.id);
    tasks.run(name, args[0], undefined, priority ?? 0).catch((error) => {
      this.#kit.deadLetter({
        actorId: this.id,
        messageName: name,
        reason: `task failed: ${error instanceof Error ? error.message : String(error)}`,
        count: 1,
      });
    });
  }

  /**
   * Asks every worker the same thing (reload a config, report a figure) and
   * collects each one's reply, settled, so one failing worker does not hide
   * the others.
   *
   * - It reaches the workers taking tasks when called, and those starting
   *   then (the pool growing, or replacing a recycled one) once they are up;
   *   not a retired worker finishing its last tasks, nor one started later.
   * - It is no task: it goes straight to each worker's mailbox, behind the
   *   tasks sent to it and ahead of those waiting in the pool, and is not
   *   counted in `stats()` or `drain()`.
   * - A worker being restarted gets it per its `whileRestarting`: by default
   *   its next incarnation handles it (bounded by the ask's timeout or
   *   signal); with `"fail"` its result is an `ActorRestartingError`.
   *   A restarted incarnation starts from its `init`: what a broadcast set
   *   in the one before is gone, so keep settings every worker needs in its
   *   `args` too.
   *
   * @example Ask every worker, then read each result
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import type { counter } from "../../examples/actors/counter.ts";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const url = new URL("../../examples/actors/counter.ts", import.meta.url);
   * const pool = await system.pool<typeof counter>(url, { id: "counters", size: 2 });
   * await pool.tellAll("inc", 5);
   * const results = await pool.askAll("get");
   * assert.deepEqual(results.map((r) => r.worker), ["counters-1", "counters-2"]);
   * for (const result of results) {
   *   assert.equal(result.status === "fulfilled" && result.value, 5);
   * }
   * await pool.close();
   * ```
   *
   * @param name The handler's name.
   * @param args The payload, when the handler takes one, then optional
   * `AskOptions` (its timeout or signal bounds each worker's ask).
   * @returns One settled result per worker, with the worker's id, in the
   * pool's order.
   * @throws {ActorStoppedError} When the pool is closed.
   */
  askAll<K extends MessageName<D>>(
    name: K,
    ...args: [...PayloadArgs<HandlersOf<D>[K]>, options?: AskOptions]
  ): Promise<BroadcastResult<ReplyOf<HandlersOf<D>[K]>>[]> {
    if (this.#closed) return Promise.reject(new ActorStoppedError(this.id));
    const options = args[1] as AskOptions | undefined;
    return this.#tasks.everyWorker((worker) => {
      const ref = worker.ref as unknown as {
        ask(name: string, payload: unknown, options?: AskOptions): Promise<unknown>;
      };
      return ref.ask(name, args[0], options) as Promise<ReplyOf<HandlersOf<D>[K]>>;
    });
  }

  /**
   * Tells every worker the same thing, as {@linkcode Pool.askAll} asks it
   * (the same workers, the same order, the same restarts), without waiting
   * for the handlers.
   *
   * @example Tell every worker
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import type { counter } from "../../examples/actors/counter.ts";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const url = new URL("../../examples/actors/counter.ts", import.meta.url);
   * const pool = await system.pool<typeof counter>(url, { size: 3 });
   * const accepted = await pool.tellAll("inc", 1);
   * assert.equal(accepted.filter((r) => r.status === "fulfilled").length, 3);
   * await pool.close();
   * ```
   *
   * @param name The handler's name.
   * @param payload The payload, when the handler takes one.
   * @returns One settled result per worker: fulfilled once its mailbox took
   * the message, rejected when it was refused (a dead letter, as a
   * supervised ref's tell).
   * @throws {ActorStoppedError} When the pool is closed.
   */
  tellAll<K extends MessageName<D>>(
    name: K,
    ...payload: PayloadArgs<HandlersOf<D>[K]>
  ): Promise<BroadcastResult<void>[]> {
    if (this.#closed) return Promise.reject(new ActorStoppedError(this.id));
    return this.#tasks.everyWorker((worker) => {
      const ref = worker.ref as unknown as {
        tell(name: string, payload: unknown): Promise<void>;
      };
      try {
        return ref.tell(name, payload[0]);
      } catch (error) {
        return Promise.reject(error);
      }
    });
  }

  /**
   * Resolves once every task submitted before the call has settled, like
   * `JoinableQueue.join()`.
   *
   * @example Wait for the pool to catch up, for at most two seconds
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import type { counter } from "../../examples/actors/counter.ts";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const url = new URL("../../examples/actors/counter.ts", import.meta.url);
   * const pool = await system.pool<typeof counter>(url, { size: 2 });
   * for (let i = 0; i < 10; i++) await pool.tell("inc", 1);
   * await pool.drain({ signal: AbortSignal.timeout(2000) });
   * assert.equal(pool.stats().completed, 10);
   * await pool.close();
   * ```
   *
   * @param options A signal that ends the wait: the promise rejects with its
   * reason (the tasks go on).
   * @returns When the pool has caught up.
   */
  drain(options: { signal?: AbortSignal } = {}): Promise<void> {
    const tasks = this.#tasks;
    const target = tasks.submitted;
    tasks.wake();
    if (tasks.lowest >= target) return Promise.resolve();
    return abortable(tasks.drained(target), options.signal);
  }

  /**
   * Stops the pool: once the tasks waiting in the pool have gone to workers,
   * each worker gets exactly one stop sentinel, behind the tasks queued to
   * it, handles them, runs its stop hook and exits.
   *
   * @example Close, killing the workers still busy after two seconds
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import type { counter } from "../../examples/actors/counter.ts";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const url = new URL("../../examples/actors/counter.ts", import.meta.url);
   * const pool = await system.pool<typeof counter>(url, { size: 2 });
   * await pool.close({ signal: AbortSignal.timeout(2000) });
   * assert.equal(system.stats().actors, 0);
   * ```
   *
   * @param options A signal: on abort every worker still running or stopping
   * is terminated at once (exit reason `"killed"`); its tasks fail with
   * `ActorCrashedError`, the tasks still waiting in the pool with
   * `ActorStoppedError`, and no worker is restarted.
   * @returns Once every worker has ended.
   */
  close(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (!this.#closed) {
      this.#tasks.workers.stopTimers();
      this.#tasks.closed = true;
      this.#closed = this.#closing();
    }
    if (options.signal !== undefined) {
      const cancel = watchDeadline(options.signal, undefined, (reason) => {
        this.#tasks.failQueued(new ActorStoppedError(this.id));
        this.#kit.runtime.kill(reason);
      });
      void this.#closed.then(cancel);
    }
    return this.#closed;
  }

  /**
   * Sends the tasks waiting in the pool to the workers (past their
   * `tasksPerWorker`: each worker's stop waits for what it was sent, within
   * its `shutdown` timeout), then stops every worker through its sentinel.
   */
  async #closing(): Promise<void> {
    const tasks = this.#tasks;
    await Promise.allSettled([...tasks.workers.starting].map((starting) => starting.worker));
    await tasks.workers.memoryCheck;
    tasks.window = Infinity;
    tasks.pump();
    tasks.failQueued(new ActorStoppedError(this.id));
    await this.#kit.runtime.stop();
  }

  /**
   * A snapshot of the pool's counters.
   *
   * @returns The counters now.
   */
  stats(): PoolStats {
    const load: Record<string, number> = {};
    const tasks = this.#tasks;
    const workers = tasks.workers;
    for (const worker of workers.list) load[worker.ref.id] = worker.load;
    for (const worker of workers.leaving) load[worker.ref.id] = worker.load;
    return {
      id: this.id,
      size: workers.list.length,
      min: workers.min,
      max: workers.max,
      inflight: tasks.inflight,
      queued: tasks.queue.size,
      completed: tasks.completed,
      failed: tasks.failed,
      retried: tasks.retried,
      recycled: workers.recycled,
      load,
    };
  }

  /** Closes the pool (see {@linkcode Pool.close}). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
