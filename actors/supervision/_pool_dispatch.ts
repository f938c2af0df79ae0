// A pool's tasks: which worker gets one (least-loaded or round-robin, at
// most `tasksPerWorker` at a time), the tasks waiting in the pool by
// priority, the retry of a task whose worker died under it, the counters,
// `drain()`'s waits and `tell`'s wait for room, and the broadcasts. The
// workers themselves (starting, retiring, recycling) are `_pool_workers.ts`'s.

import type { AskOptions, TellOptions } from "../core/actor_ref.ts";
import { ActorCrashedError, ActorStoppedError } from "../../internal/errors.ts";
import { noop, watchDeadline } from "../../internal/abort.ts";
import { PriorityQueue } from "./_pool_queue.ts";
import type { PoolSettings, PoolStrategy } from "./_pool_settings.ts";
import { type PoolKit, PoolWorkers, type Worker, type WorkerOwner } from "./_pool_workers.ts";
import type { BroadcastResult } from "./pool_options.ts";

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

/** A pool's tasks, from submission until they settle, and the workers they go to. */
export class PoolDispatch implements WorkerOwner {
  readonly id: string;
  readonly workers: PoolWorkers;
  /** The pool is closing: no task is taken any more, none is retried. */
  closed = false;
  /** Tasks submitted and not yet settled. */
  inflight = 0;
  completed = 0;
  failed = 0;
  retried = 0;
  /** Tasks are numbered in submission order; the pending numbers are kept. */
  submitted = 0;
  /** The lowest task number that may still be pending. */
  lowest = 0;
  /** The most tasks sent to one worker at a time. */
  window: number;
  readonly queue = new PriorityQueue<Task>();
  #kit: PoolKit;
  #strategy: PoolStrategy;
  #retry: boolean;
  #next = 0;
  /** The worker the latest task went to, which the next one prefers (see `#pick`). */
  #last: Worker | undefined;
  #drains: { target: number; resolve: () => void }[] = [];
  #pending = new Set<number>();
  #room: (() => void)[] = [];

  constructor(id: string, kit: PoolKit, settings: Partial<PoolSettings>) {
    this.id = id;
    this.#kit = kit;
    this.workers = new PoolWorkers(id, kit, settings, this);
    this.#strategy = settings.strategy ?? "least-loaded";
    this.#retry = settings.retry ?? true;
    this.window = settings.tasksPerWorker ?? (this.workers.dynamic ? 1 : kit.capacity);
  }

  /** How many tasks wait in the pool for a worker with room. */
  get waiting(): number {
    return this.queue.size;
  }

  /** Tasks in flight past which `tell` waits for room: `size * capacity`. */
  get bound(): number {
    return Math.max(this.workers.list.length, this.workers.min) * this.#kit.capacity;
  }

  /** A worker with room for a task, or (when none has) the one that would be next. */
  #pick(except?: Worker): Worker | undefined {
    const workers = this.workers.list;
    const n = workers.length;
    if (n === 0) return undefined;
    if (this.#strategy === "round-robin") {
      let first: Worker | undefined;
      for (let i = 0; i < n; i++) {
        const worker = workers[this.#next++ % n]!;
        if (worker === except && n > 1) continue;
        if (worker.load < this.window) return worker;
        first ??= worker;
      }
      return first;
    }
    let best: Worker | undefined;
    for (const worker of workers) {
      if (worker === except && n > 1) continue;
      if (best === undefined || worker.load < best.load) best = worker;
    }
    // Affinity: the previous task's worker again, while it runs at most a
    // quarter more than the least loaded (so a few slow tasks still spread).
    const last = this.#last;
    if (
      last !== undefined && last !== best && best !== undefined && last !== except &&
      last.retiring === undefined && last.load < this.window &&
      last.load <= best.load + (best.load >> 2)
    ) return last;
    return best;
  }

  /** Asks `worker`; the caller counts the task in the worker's load until it settles. */
  #call(worker: Worker, name: string, payload: unknown, options?: AskOptions): Promise<unknown> {
    worker.load++;
    this.#last = worker;
    this.workers.sent(worker);
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
  /** Submits a task: to a worker with room at once, or to the queue. */
  run(
    name: string,
    payload: unknown,
    options: AskOptions | undefined,
    priority: number,
  ): Promise<unknown> {
    if (this.closed) return Promise.reject(new ActorStoppedError(this.id));
    this.inflight++;
    const seq = this.submitted++;
    this.#pending.add(seq);
    if (this.queue.size === 0) {
      const worker = this.#pick();
      if (worker !== undefined && worker.load < this.window) {
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
        if (!(retry && error instanceof ActorCrashedError) || this.closed) {
          return this.#done(worker, seq, false, error);
        }
        this.#release(worker);
        this.retried++;
        const other = this.#pick(worker);
        if (other !== undefined && other.load < this.window && this.queue.size === 0) {
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
    this.queue.push(task);
    if (options !== undefined) {
      task.stopWatching = watchDeadline(options.signal, options.timeout, (reason) => {
        if (task.cancelled) return;
        this.queue.cancel(task);
        this.#fail(task, reason);
      });
    }
    if (!task.cancelled) {
      this.workers.grow();
      if (this.workers.list.length === 0 && this.workers.starting.size === 0) {
        this.failQueued(new ActorStoppedError(this.id));
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
  failQueued(error: unknown): void {
    for (const task of this.queue.takeAll()) {
      task.stopWatching();
      this.#fail(task, error);
    }
  }

  /** Sends waiting tasks to workers with room, in priority order. */
  pump(): void {
    while (this.queue.size > 0) {
      const worker = this.#pick();
      if (worker === undefined || worker.load >= this.window) return;
      const task = this.queue.shift()!;
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
    if (--worker.load === 0) this.workers.idle(worker);
  }

  /** Counts a finished task and returns its value, or throws its error. */
  #settled(seq: number, ok: boolean, result: unknown): unknown {
    if (ok) this.completed++;
    else this.failed++;
    this.inflight--;
    this.#pending.delete(seq);
    this.wake();
    if (!ok) throw result;
    return result;
  }

  /** Sends waiting tasks on, and settles the drains and the waits for room now due. */
  wake(): void {
    if (this.queue.size > 0) this.pump();
    while (this.lowest < this.submitted && !this.#pending.has(this.lowest)) this.lowest++;
    if (this.#drains.length > 0) this.#settleDrains();
    while (this.#room.length > 0 && this.inflight < this.bound) this.#room.shift()!();
  }

  /** Resolves once every task numbered below `target` has settled. */
  drained(target: number): Promise<void> {
    return new Promise<void>((resolve) => this.#drains.push({ target, resolve }));
  }

  #settleDrains(): void {
    this.#drains = this.#drains.filter((drain) => {
      if (this.lowest < drain.target) return true;
      drain.resolve();
      return false;
    });
  }

  /** Waits until fewer than `size * capacity` tasks are in flight, or the options give up. */
  async waitForRoom(options: TellOptions | undefined): Promise<void> {
    const started = Date.now();
    while (this.inflight >= this.bound) {
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

  /** Sends to the workers a broadcast reaches: those taking tasks, and those starting. */
  everyWorker<T>(send: (worker: Worker) => Promise<T>): Promise<BroadcastResult<T>[]> {
    const settle = (id: string, promise: Promise<T>): Promise<BroadcastResult<T>> =>
      promise.then(
        (value) => ({ worker: id, status: "fulfilled", value }),
        (reason) => ({ worker: id, status: "rejected", reason }),
      );
    const now = this.workers.list.map((worker) => settle(worker.ref.id, send(worker)));
    const later = [...this.workers.starting].map((starting) =>
      settle(starting.id, starting.worker.then(send))
    );
    return Promise.all([...now, ...later]);
  }
}
