/**
 * `Pool`: N identical actors behind one handle, like Python's
 * `multiprocessing.Pool` and `JoinableQueue` together.
 *
 * Guarantees:
 * - Work goes to the least-loaded worker (fewest tasks in flight; ties to the
 *   lowest index), or round-robin if asked. A worker is sent at most
 *   `tasksPerWorker` tasks at a time; the others wait in the pool, highest
 *   `priority` first and first in, first out within a priority.
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

import type { ActorRef, AskOptions, DeadLetter, TellOptions } from "../core/actor_ref.ts";
import type {
  AnyActorDefinition,
  HandlersOf,
  MessageName,
  PayloadArgs,
  ReplyOf,
} from "../core/define_actor.ts";
import type { LifecycleEvent } from "../core/events.ts";
import { ActorCrashedError, ActorStoppedError } from "../../internal/errors.ts";
import type { ChildSpec, SupervisorRuntime } from "./supervisor.ts";
import { abortable, noop, watchDeadline } from "../../internal/abort.ts";
import { PriorityQueue } from "./_pool_queue.ts";
import { workerMemory } from "./_pool_memory.ts";
import {
  type PoolSettings,
  type PoolStrategy,
  splitPoolOptions,
  workerSpec,
} from "./_pool_settings.ts";

export type { PoolSettings, PoolStrategy };
export { splitPoolOptions };

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

/** Options of {@linkcode Pool.ask}: an ask's, and the task's priority. */
export interface PoolAskOptions extends AskOptions {
  /**
   * Among the tasks waiting in the pool, higher runs first; equal ones in
   * the order submitted. A finite number. Default 0.
   */
  priority?: number;
}

/** Options of {@linkcode Pool.tell}. */
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

interface Worker {
  ref: ActorRef<AnyActorDefinition>;
  load: number;
  /** Tasks sent to it, for `maxTasks`. */
  sent: number;
  /** When its load last fell to 0 (dynamic pools only). */
  idleSince: number;
  /** Why it was retired: it gets no more tasks, and stops once its load is 0. */
  retiring?: "idle" | "tasks" | "memory";
}

/** A task waiting in the pool for a worker with room. */
interface Task {
  readonly priority: number;
  cancelled: boolean;
  name: string;
  payload: unknown;
  options: AskOptions | undefined;
  seq: number;
  retry: boolean;
  /** When it was submitted, for what is left of its timeout. */
  since: number;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  stopWatching(): void;
}

/** A worker being started: its id, and the worker once it is up. */
interface Starting {
  id: string;
  worker: Promise<Worker>;
}

/** What a pool needs from its system. */
export interface PoolKit {
  runtime: SupervisorRuntime;
  refs: ActorRef<AnyActorDefinition>[];
  capacity: number;
  /** The first worker's child spec: later workers get it with their own id. */
  worker: ChildSpec;
  deadLetter(letter: DeadLetter): void;
}

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
  #workers: Worker[];
  #strategy: PoolStrategy;
  #retry: boolean;
  #min: number;
  #max: number;
  #dynamic: boolean;
  #window: number;
  #idleTimeout: number;
  #maxTasks: number;
  #maxMemory: number;
  #memoryInterval: number;
  #next = 0;
  #inflight = 0;
  #completed = 0;
  #failed = 0;
  #retried = 0;
  #recycled = 0;
  #closed: Promise<void> | undefined;
  #drains: { target: number; resolve: () => void }[] = [];
  /** Tasks are numbered in submission order; the pending numbers are kept. */
  #submitted = 0;
  #pending = new Set<number>();
  /** The lowest task number that may still be pending. */
  #lowest = 0;
  #room: (() => void)[] = [];
  #queue = new PriorityQueue<Task>();
  /** Retired workers finishing their last tasks. */
  #leaving = new Set<Worker>();
  #starting = new Set<Starting>();
  /** The last worker number given. */
  #numbered: number;
  #shrinkTimer: ReturnType<typeof setTimeout> | undefined;
  #memoryTimer: ReturnType<typeof setTimeout> | undefined;
  #memoryCheck: Promise<void> = Promise.resolve();
  #ended = false;

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
    const now = Date.now();
    this.#workers = this.#kit.refs.map((ref) => ({ ref, load: 0, sent: 0, idleSince: now }));
    this.#numbered = this.#workers.length;
    this.#strategy = settings.strategy ?? "least-loaded";
    this.#retry = settings.retry ?? true;
    this.#min = settings.min ?? this.#workers.length;
    this.#max = settings.max ?? this.#workers.length;
    this.#dynamic = this.#max > this.#min;
    this.#window = settings.tasksPerWorker ?? (this.#dynamic ? 1 : this.#kit.capacity);
    this.#idleTimeout = settings.idleTimeout ?? 10_000;
    this.#maxTasks = settings.maxTasks ?? 0;
    this.#maxMemory = settings.maxMemory ?? 0;
    this.#memoryInterval = settings.memoryInterval ?? 1000;
    const end = () => this.#end();
    void this.#kit.runtime.done.then(end, end);
    if (this.#maxMemory > 0) this.#armMemory();
  }

  /** How many workers take tasks now (not counting those starting, or retired and finishing). */
  get size(): number {
    return this.#workers.length;
  }

  /** A worker with room for a task, or (when none has) the one that would be next. */
  #pick(except?: Worker): Worker | undefined {
    const workers = this.#workers;
    const n = workers.length;
    if (n === 0) return undefined;
    if (this.#strategy === "round-robin") {
      let first: Worker | undefined;
      for (let i = 0; i < n; i++) {
        const worker = workers[this.#next++ % n]!;
        if (worker === except && n > 1) continue;
        if (worker.load < this.#window) return worker;
        first ??= worker;
      }
      return first;
    }
    let best: Worker | undefined;
    for (const worker of workers) {
      if (worker === except && n > 1) continue;
      if (best === undefined || worker.load < best.load) best = worker;
    }
    return best;
  }

  /** Asks `worker`; the caller counts the task in the worker's load until it settles. */
  #call(worker: Worker, name: string, payload: unknown, options?: AskOptions): Promise<unknown> {
    worker.load++;
    if (this.#maxTasks !== 0 && ++worker.sent >= this.#maxTasks) this.#recycle(worker, "tasks");
    const ref = worker.ref as unknown as {
      ask(name: string, payload: unknown, options?: AskOptions): Promise<unknown>;
    };
    try {
      return ref.ask(name, payload, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // One task: promise callbacks rather than nested async functions, whose
  // frames and promises cost the parent's thread more than the ask itself
  // when a pool runs hundreds of small tasks at once. The callbacks give the
  // worker's load back themselves: a `finally` would cost every task one
  // more promise.
  #run(
    name: string,
    payload: unknown,
    options: AskOptions | undefined,
    priority: number,
  ): Promise<unknown> {
    if (this.#closed) return Promise.reject(new ActorStoppedError(this.id));
    this.#inflight++;
    const seq = this.#submitted++;
    this.#pending.add(seq);
    if (this.#queue.size === 0) {
      const worker = this.#pick();
      if (worker !== undefined && worker.load < this.#window) {
        return this.#attempt(worker, name, payload, options, seq, this.#retry);
      }
    }
    return this.#enqueue(name, payload, options, priority, seq, this.#retry);
  }

  /** Runs a task on `worker`; a crash under it retries it once elsewhere, when `retry`. */
  #attempt(
    worker: Worker,
    name: string,
    payload: unknown,
    options: AskOptions | undefined,
    seq: number,
    retry: boolean,
  ): Promise<unknown> {
    return this.#call(worker, name, payload, options).then(
      (value) => this.#done(worker, seq, true, value),
      (error) => {
        if (!(retry && error instanceof ActorCrashedError) || this.#closed) {
          return this.#done(worker, seq, false, error);
        }
        this.#release(worker);
        this.#retried++;
        const other = this.#pick(worker);
        if (other !== undefined && other.load < this.#window && this.#queue.size === 0) {
          return this.#attempt(other, name, payload, options, seq, false);
        }
        return this.#enqueue(name, payload, options, Infinity, seq, false);
      },
    );
  }

  /** Holds a task in the pool until a worker has room for it. */
  #enqueue(
    name: string,
    payload: unknown,
    options: AskOptions | undefined,
    priority: number,
    seq: number,
    retry: boolean,
  ): Promise<unknown> {
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const task: Task = {
      priority,
      cancelled: false,
      name,
      payload,
      options,
      seq,
      retry,
      since: options?.timeout === undefined ? 0 : Date.now(),
      resolve,
      reject,
      stopWatching: noop,
    };
    this.#queue.push(task);
    if (options !== undefined) {
      task.stopWatching = watchDeadline(options.signal, options.timeout, (reason) => {
        if (task.cancelled) return;
        this.#queue.cancel(task);
        this.#fail(task, reason);
      });
    }
    if (!task.cancelled) {
      this.#grow();
      if (this.#workers.length === 0 && this.#starting.size === 0) {
        this.#failQueued(new ActorStoppedError(this.id));
      }
    }
    return promise;
  }

  /** Settles a task that never reached a worker as failed. */
  #fail(task: Task, error: unknown): void {
    try {
      this.#settled(task.seq, false, error);
    } catch {
      // #settled throws the error it is given: it goes to the task's promise.
    }
    task.reject(error);
  }

  /** Fails every task waiting in the pool (the pool was killed, or no worker is left). */
  #failQueued(error: unknown): void {
    for (const task of this.#queue.takeAll()) {
      task.stopWatching();
      this.#fail(task, error);
    }
  }

  /** Sends waiting tasks to workers with room, in priority order. */
  #pump(): void {
    while (this.#queue.size > 0) {
      const worker = this.#pick();
      if (worker === undefined || worker.load >= this.#window) return;
      const task = this.#queue.shift()!;
      task.stopWatching();
      let options = task.options;
      if (options?.timeout !== undefined) {
        options = {
          ...options,
          timeout: Math.max(0, options.timeout - (Date.now() - task.since)),
        };
      }
      task.resolve(
        this.#attempt(worker, task.name, task.payload, options, task.seq, task.retry),
      );
    }
  }

  /** Gives `worker`'s load back and settles the task. */
  #done(worker: Worker, seq: number, ok: boolean, result: unknown): unknown {
    this.#release(worker);
    return this.#settled(seq, ok, result);
  }

  /** Gives one task's room on `worker` back. */
  #release(worker: Worker): void {
    if (--worker.load === 0) {
      if (worker.retiring) this.#remove(worker);
      else if (this.#dynamic) {
        worker.idleSince = Date.now();
        this.#armShrink();
      }
    }
  }

  /** Counts a finished task and returns its value, or throws its error. */
  #settled(seq: number, ok: boolean, result: unknown): unknown {
    if (ok) this.#completed++;
    else this.#failed++;
    this.#inflight--;
    this.#pending.delete(seq);
    this.#wake();
    if (!ok) throw result;
    return result;
  }

  #wake(): void {
    if (this.#queue.size > 0) this.#pump();
    while (this.#lowest < this.#submitted && !this.#pending.has(this.#lowest)) this.#lowest++;
    if (this.#drains.length > 0) this.#settleDrains();
    while (this.#room.length > 0 && this.#inflight < this.#bound) this.#room.shift()!();
  }

  #settleDrains(): void {
    this.#drains = this.#drains.filter((drain) => {
      if (this.#lowest < drain.target) return true;
      drain.resolve();
      return false;
    });
  }

  get #bound(): number {
    return Math.max(this.#workers.length, this.#min) * this.#kit.capacity;
  }

  #emit(event: LifecycleEvent): void {
    this.#kit.runtime.kit.emit(event);
  }

  /** Starts a worker: the pool grows, or replaces one it retired. */
  #start(): Starting {
    const id = `${this.id}-${++this.#numbered}`;
    const starting: Starting = {
      id,
      worker: this.#kit.runtime.addChild(workerSpec(this.#kit.worker, id)).then((slot) => {
        this.#starting.delete(starting);
        const worker: Worker = { ref: slot.ref, load: 0, sent: 0, idleSince: Date.now() };
        this.#workers.push(worker);
        this.#wake();
        if (this.#dynamic) this.#armShrink();
        return worker;
      }),
    };
    this.#starting.add(starting);
    starting.worker.catch((error) => {
      this.#starting.delete(starting);
      // With no worker left to run them, the tasks waiting would wait forever.
      if (this.#workers.length === 0 && this.#starting.size === 0) this.#failQueued(error);
    });
    return starting;
  }

  /** A dynamic pool starts a worker for each task waiting beyond those starting, up to `max`. */
  #grow(): void {
    if (!this.#dynamic || this.#closed || this.#ended) return;
    while (
      this.#queue.size > this.#starting.size &&
      this.#workers.length + this.#starting.size < this.#max
    ) {
      const starting = this.#start();
      void starting.worker.then(() => {
        this.#emit({
          type: "pool-grew",
          id: this.id,
          worker: starting.id,
          size: this.#workers.length,
          time: Date.now(),
        });
      }, noop);
    }
  }

  /** Takes `worker` out of the pool: it gets no more tasks, and stops once it has none. */
  #retire(worker: Worker, why: "idle" | "tasks" | "memory"): boolean {
    if (worker.retiring || this.#closed || this.#ended) return false;
    worker.retiring = why;
    const index = this.#workers.indexOf(worker);
    if (index >= 0) this.#workers.splice(index, 1);
    this.#leaving.add(worker);
    if (worker.load === 0) this.#remove(worker);
    return true;
  }

  /** Stops a retired worker through its sentinel, now that it has no task. */
  #remove(worker: Worker): void {
    this.#leaving.delete(worker);
    const slot = this.#kit.runtime.find(worker.ref.id);
    if (slot) void this.#kit.runtime.removeChild(slot).catch(noop);
  }

  /** Retires `worker` after `maxTasks` tasks or past `maxMemory`, and starts one in its place. */
  #recycle(worker: Worker, reason: "tasks" | "memory", memory?: number): void {
    if (!this.#retire(worker, reason)) return;
    this.#recycled++;
    const replacement = this.#start();
    replacement.worker.catch(noop);
    this.#emit({
      type: "pool-recycled",
      id: this.id,
      worker: worker.ref.id,
      replacement: replacement.id,
      reason,
      tasks: worker.sent,
      ...(memory !== undefined ? { memory } : {}),
      time: Date.now(),
    });
  }

  #armShrink(): void {
    if (this.#shrinkTimer !== undefined || this.#closed || this.#ended) return;
    if (this.#workers.length <= this.#min) return;
    let due = Infinity;
    for (const worker of this.#workers) {
      if (worker.load === 0) due = Math.min(due, worker.idleSince + this.#idleTimeout);
    }
    if (due === Infinity) return;
    const timer = setTimeout(() => {
      this.#shrinkTimer = undefined;
      this.#shrink();
    }, Math.max(0, due - Date.now()));
    Deno.unrefTimer(timer);
    this.#shrinkTimer = timer;
  }

  /** Retires the workers idle for `idleTimeout`, newest first, down to `min`. */
  #shrink(): void {
    const now = Date.now();
    for (let i = this.#workers.length - 1; i >= 0 && this.#workers.length > this.#min; i--) {
      const worker = this.#workers[i]!;
      if (worker.load > 0 || now - worker.idleSince < this.#idleTimeout) continue;
      if (!this.#retire(worker, "idle")) return;
      this.#emit({
        type: "pool-shrank",
        id: this.id,
        worker: worker.ref.id,
        size: this.#workers.length,
        time: now,
      });
    }
    this.#armShrink();
  }

  #armMemory(): void {
    if (this.#closed || this.#ended) return;
    const timer = setTimeout(() => {
      this.#memoryTimer = undefined;
      this.#memoryCheck = this.#checkMemory().then(() => this.#armMemory(), noop);
    }, this.#memoryInterval);
    Deno.unrefTimer(timer);
    this.#memoryTimer = timer;
  }

  /** Recycles the workers past `maxMemory`. */
  async #checkMemory(): Promise<void> {
    const workers = this.#workers.slice();
    const used = await Promise.all(workers.map((worker) => workerMemory(worker.ref.stats())));
    workers.forEach((worker, i) => {
      const bytes = used[i];
      if (bytes !== undefined && bytes > this.#maxMemory) this.#recycle(worker, "memory", bytes);
    });
  }

  /** The supervisor ended (the pool closed, or the system shut down): stop the timers. */
  #end(): void {
    this.#ended = true;
    clearTimeout(this.#shrinkTimer);
    clearTimeout(this.#memoryTimer);
    this.#shrinkTimer = this.#memoryTimer = undefined;
    this.#failQueued(new ActorStoppedError(this.id));
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
    return this.#run(name, args[0], options, priority ?? 0) as Promise<
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
    if (this.#inflight >= this.#bound) await this.#waitForRoom(options);
    if (this.#closed) throw new ActorStoppedError(this.id);
    this.#run(name, args[0], undefined, priority ?? 0).catch((error) => {
      this.#kit.deadLetter({
        actorId: this.id,
        messageName: name,
        reason: `task failed: ${error instanceof Error ? error.message : String(error)}`,
        count: 1,
      });
    });
  }

  /** Waits until fewer than `size * capacity` tasks are in flight, or the options give up. */
  async #waitForRoom(options: TellOptions | undefined): Promise<void> {
    const started = Date.now();
    while (this.#inflight >= this.#bound) {
      await new Promise<void>((resolve, reject) => {
        const timeout = options?.timeout === undefined
          ? undefined
          : Math.max(0, options.timeout - (Date.now() - started));
        let stopWatching = noop;
        const wake = () => {
          stopWatching();
          resolve();
        };
        this.#room.push(wake);
        stopWatching = watchDeadline(options?.signal, timeout, (reason) => {
          const at = this.#room.indexOf(wake);
          if (at >= 0) this.#room.splice(at, 1);
          reject(reason);
        });
      });
    }
  }

  /** The workers a broadcast reaches: those taking tasks, and those starting. */
  #everyWorker<T>(send: (worker: Worker) => Promise<T>): Promise<BroadcastResult<T>[]> {
    const settle = (id: string, promise: Promise<T>): Promise<BroadcastResult<T>> =>
      promise.then(
        (value) => ({ worker: id, status: "fulfilled", value }),
        (reason) => ({ worker: id, status: "rejected", reason }),
      );
    const now = this.#workers.map((worker) => settle(worker.ref.id, send(worker)));
    const later = [...this.#starting].map((starting) =>
      settle(starting.id, starting.worker.then(send))
    );
    return Promise.all([...now, ...later]);
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
    return this.#everyWorker((worker) => {
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
    return this.#everyWorker((worker) => {
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
    const target = this.#submitted;
    this.#wake();
    if (this.#lowest >= target) return Promise.resolve();
    const drained = new Promise<void>((resolve) => this.#drains.push({ target, resolve }));
    return abortable(drained, options.signal);
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
      clearTimeout(this.#shrinkTimer);
      clearTimeout(this.#memoryTimer);
      this.#shrinkTimer = this.#memoryTimer = undefined;
      this.#closed = this.#closing();
    }
    if (options.signal !== undefined) {
      const cancel = watchDeadline(options.signal, undefined, (reason) => {
        this.#failQueued(new ActorStoppedError(this.id));
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
    await Promise.allSettled([...this.#starting].map((starting) => starting.worker));
    await this.#memoryCheck;
    this.#window = Infinity;
    this.#pump();
    this.#failQueued(new ActorStoppedError(this.id));
    await this.#kit.runtime.stop();
  }

  /**
   * A snapshot of the pool's counters.
   *
   * @returns The counters now.
   */
  stats(): PoolStats {
    const load: Record<string, number> = {};
    for (const worker of this.#workers) load[worker.ref.id] = worker.load;
    for (const worker of this.#leaving) load[worker.ref.id] = worker.load;
    return {
      id: this.id,
      size: this.#workers.length,
      min: this.#min,
      max: this.#max,
      inflight: this.#inflight,
      queued: this.#queue.size,
      completed: this.#completed,
      failed: this.#failed,
      retried: this.#retried,
      recycled: this.#recycled,
      load,
    };
  }

  /** Closes the pool (see {@linkcode Pool.close}). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
