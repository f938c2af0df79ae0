/**
 * `Pool`: N identical actors behind one handle, like Python's
 * `multiprocessing.Pool` and `JoinableQueue` together.
 *
 * Guarantees:
 * - Work goes to the least-loaded worker (fewest tasks in flight; ties to the
 *   lowest index), or round-robin if asked.
 * - `drain()` resolves once every task submitted so far has been handled
 *   (`JoinableQueue.join`); it never waits for tasks submitted after it.
 * - A worker that dies is replaced by its supervisor. The task it was
 *   running is retried once on another worker (`retry: true`, the default)
 *   or fails with the worker's `ActorCrashedError`.
 * - `close()` sends exactly one stop sentinel to each worker, behind the
 *   tasks already queued, like putting N `None`s on a queue with N workers.
 * - Tasks in flight are bounded by `size * capacity`: past that, `tell`
 *   waits for room.
 *
 * @module
 */

import type { ActorRef, AskOptions, DeadLetter } from "../core/actor_ref.ts";
import type {
  AnyActorDefinition,
  HandlersOf,
  MessageName,
  PayloadArgs,
  ReplyOf,
} from "../core/define_actor.ts";
import { ActorCrashedError, ActorStoppedError } from "../../internal/errors.ts";
import type { ChildSpec, SupervisorRuntime } from "./supervisor.ts";
import { abortable, watchDeadline } from "../../internal/abort.ts";

/** How a pool picks the worker for a task. */
export type PoolStrategy = "least-loaded" | "round-robin";

/** Options of `ActorSystem.pool`. */
export interface PoolOptions<A = unknown> extends Omit<ChildSpec, "id" | "module" | "args"> {
  /** The pool's id; workers are `<id>-1` to `<id>-<size>`. Default: the module's name. */
  id?: string;
  /** How many workers. Default `navigator.hardwareConcurrency`. */
  size?: number;
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

/** A snapshot of a pool's counters. */
export interface PoolStats {
  /** The pool's id. */
  id: string;
  /** Workers. */
  size: number;
  /** Tasks submitted and not yet settled. */
  inflight: number;
  /** Tasks handled successfully. */
  completed: number;
  /** Tasks that failed (the handler threw, or the worker died and no retry was left). */
  failed: number;
  /** Tasks retried on another worker after their worker died. */
  retried: number;
  /** Tasks in flight per worker, by worker id. */
  load: Record<string, number>;
}

interface Worker {
  ref: ActorRef<AnyActorDefinition>;
  load: number;
}

/** What a pool needs from its system. */
export interface PoolKit {
  runtime: SupervisorRuntime;
  refs: ActorRef<AnyActorDefinition>[];
  capacity: number;
  deadLetter(letter: DeadLetter): void;
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
 */
export class Pool<D extends AnyActorDefinition> implements AsyncDisposable {
  /** The pool's id; its workers are `<id>-1` to `<id>-<size>`. */
  readonly id: string;
  #kit: PoolKit;
  #workers: Worker[];
  #strategy: PoolStrategy;
  #retry: boolean;
  #next = 0;
  #inflight = 0;
  #completed = 0;
  #failed = 0;
  #retried = 0;
  #closed: Promise<void> | undefined;
  #drains: { target: number; resolve: () => void }[] = [];
  /** Tasks are numbered in submission order; the pending numbers are kept. */
  #submitted = 0;
  #pending = new Set<number>();
  /** The lowest task number that may still be pending. */
  #lowest = 0;
  #room: (() => void)[] = [];

  /**
   * Made by `ActorSystem.pool`; not constructed directly.
   *
   * @param id The pool's id (internal).
   * @param kit The pool's workers and supervisor (internal).
   * @param options The strategy and retry settings (internal).
   */
  constructor(id: string, kit: never, options: { strategy?: PoolStrategy; retry?: boolean }) {
    this.id = id;
    this.#kit = kit as PoolKit;
    this.#workers = this.#kit.refs.map((ref) => ({ ref, load: 0 }));
    this.#strategy = options.strategy ?? "least-loaded";
    this.#retry = options.retry ?? true;
  }

  /** How many workers the pool has. */
  get size(): number {
    return this.#workers.length;
  }

  #pick(except?: Worker): Worker {
    const candidates = except && this.#workers.length > 1
      ? this.#workers.filter((w) => w !== except)
      : this.#workers;
    if (this.#strategy === "round-robin") {
      return candidates[this.#next++ % candidates.length]!;
    }
    let best = candidates[0]!;
    for (const worker of candidates) if (worker.load < best.load) best = worker;
    return best;
  }

  /** Asks `worker`; the caller counts the task in the worker's load until it settles. */
  #call(worker: Worker, name: string, payload: unknown, options?: AskOptions): Promise<unknown> {
    worker.load++;
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
  #run(name: string, payload: unknown, options: AskOptions | undefined): Promise<unknown> {
    if (this.#closed) return Promise.reject(new ActorStoppedError(this.id));
    this.#inflight++;
    const seq = this.#submitted++;
    this.#pending.add(seq);
    const worker = this.#pick();
    return this.#call(worker, name, payload, options).then(
      (value) => this.#done(worker, seq, true, value),
      (error) => {
        if (!(this.#retry && error instanceof ActorCrashedError) || this.#closed) {
          return this.#done(worker, seq, false, error);
        }
        worker.load--;
        this.#retried++;
        const other = this.#pick(worker);
        return this.#call(other, name, payload, options).then(
          (value) => this.#done(other, seq, true, value),
          (error) => this.#done(other, seq, false, error),
        );
      },
    );
  }

  /** Gives `worker`'s load back and settles the task. */
  #done(worker: Worker, seq: number, ok: boolean, result: unknown): unknown {
    worker.load--;
    return this.#settled(seq, ok, result);
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
    return this.#workers.length * this.#kit.capacity;
  }

  /**
   * Runs a task on one worker and waits for its reply.
   *
   * @param name The handler's name.
   * @param args The payload, then optional `AskOptions`.
   * @returns The handler's return value.
   * @throws {ActorError} When the handler throws.
   * @throws {ActorCrashedError} When the worker died and no retry was left.
   * @throws {ActorStoppedError} When the pool is closed.
   */
  ask<K extends MessageName<D>>(
    name: K,
    ...args: [...PayloadArgs<HandlersOf<D>[K]>, options?: AskOptions]
  ): Promise<ReplyOf<HandlersOf<D>[K]>> {
    return this.#run(name, args[0], args[1] as AskOptions | undefined) as Promise<
      ReplyOf<HandlersOf<D>[K]>
    >;
  }

  /**
   * Submits a task without waiting for its reply. Resolves once the task is
   * accepted (at once, unless `size * capacity` tasks are in flight). A task
   * that fails is counted in `stats().failed` and reported as a dead letter.
   *
   * @param name The handler's name.
   * @param payload The payload, when the handler takes one.
   * @returns Once the task is accepted.
   * @throws {ActorStoppedError} When the pool is closed.
   */
  async tell<K extends MessageName<D>>(
    name: K,
    ...payload: PayloadArgs<HandlersOf<D>[K]>
  ): Promise<void> {
    if (this.#closed) throw new ActorStoppedError(this.id);
    while (this.#inflight >= this.#bound) {
      await new Promise<void>((resolve) => this.#room.push(resolve));
    }
    this.#run(name, payload[0], undefined).catch((error) => {
      this.#kit.deadLetter({
        actorId: this.id,
        messageName: name,
        reason: `task failed: ${error instanceof Error ? error.message : String(error)}`,
        count: 1,
      });
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
   * Stops the pool: each worker gets exactly one stop sentinel, behind the
   * tasks already queued to it, handles them, runs its stop hook and exits.
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
   * `ActorCrashedError`, and no worker is restarted.
   * @returns Once every worker has ended.
   */
  close(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#closed ??= this.#kit.runtime.stop();
    if (options.signal !== undefined) {
      const cancel = watchDeadline(options.signal, undefined, (r) => this.#kit.runtime.kill(r));
      void this.#closed.then(cancel);
    }
    return this.#closed;
  }

  /**
   * A snapshot of the pool's counters.
   *
   * @returns The counters now.
   */
  stats(): PoolStats {
    const load: Record<string, number> = {};
    for (const worker of this.#workers) load[worker.ref.id] = worker.load;
    return {
      id: this.id,
      size: this.#workers.length,
      inflight: this.#inflight,
      completed: this.#completed,
      failed: this.#failed,
      retried: this.#retried,
      load,
    };
  }

  /** Closes the pool (see {@linkcode Pool.close}). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
