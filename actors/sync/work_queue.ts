/**
 * `WorkQueue`: a bounded multi-producer, multi-consumer queue with
 * `taskDone()` / `join()` and sentinel shutdown: Python's `JoinableQueue`
 * without its traps.
 *
 * Guarantees:
 * - FIFO: items come out in the order they went in; each item goes to exactly
 *   one consumer. Waiting consumers are served in the order they asked.
 * - Bounded: `put` waits while `capacity` items are queued (producers in
 *   order), `tryPut` refuses instead.
 * - `join()` resolves once every item ever put has been marked with
 *   `taskDone()`; a `taskDone()` too many throws instead of corrupting the count.
 * - `close()` is the sentinel: no more puts; consumers get the items still
 *   queued, then `get()` rejects with `QueueClosedError` and iteration ends.
 *   One close stops every consumer, however many there are.
 * - Timeouts and aborts leave the queue as it was: an item is never handed to
 *   a consumer that gave up, and a producer that gave up put nothing.
 *
 * Inside actors, `ctx.queue(name)` reaches a queue made with
 * `system.queue(name)`, from worker and process actors alike.
 *
 * @module
 */

import { QueueClosedError } from "../../internal/errors.ts";
import { noop, watchDeadline } from "../../internal/abort.ts";

export { QueueClosedError };

/** Options of calls that may wait. */
export interface QueueWaitOptions {
  /** Rejects with a `TimeoutError` `DOMException` after this many milliseconds. */
  timeout?: number;
  /** Rejects with the signal's reason when it aborts. */
  signal?: AbortSignal;
}

/** Options of {@linkcode WorkQueue}. */
export interface WorkQueueOptions {
  /** The most items it holds; `put` waits beyond. Default 1024. */
  capacity?: number;
}

/**
 * What both a {@linkcode WorkQueue} and an actor's `ctx.queue(name)` offer.
 * Inside a process actor, only `timeout` of the wait options is honoured.
 */
export interface QueueHandle<T> extends AsyncIterable<T> {
  /** Adds an item, waiting while the queue is full. */
  put(item: T, options?: QueueWaitOptions): Promise<void>;
  /** Takes the next item, waiting while the queue is empty; rejects with `QueueClosedError` once closed and empty. */
  get(options?: QueueWaitOptions): Promise<T>;
  /** Marks one taken item as handled. */
  taskDone(): void | Promise<void>;
  /** Resolves once every item put has been marked done. */
  join(options?: QueueWaitOptions): Promise<void>;
}

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/**
 * A bounded FIFO work queue with `taskDone`/`join` and close-as-sentinel.
 *
 * @example One producer, two consumers, join
 * ```ts
 * import { WorkQueue } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const queue = new WorkQueue<number>("jobs", { capacity: 4 });
 * const seen: number[] = [];
 * const consumer = async () => {
 *   for await (const item of queue) {
 *     seen.push(item);
 *     queue.taskDone();
 *   }
 * };
 * const consumers = [consumer(), consumer()];
 * for (let i = 0; i < 10; i++) await queue.put(i);
 * await queue.join();
 * queue.close();
 * await Promise.all(consumers);
 * assert.deepEqual(seen.sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
 * ```
 */
export class WorkQueue<T> implements QueueHandle<T> {
  /** The queue's name. */
  readonly name: string;
  /** The most items it holds. */
  readonly capacity: number;
  #items: T[] = [];
  #getters: Waiter<T>[] = [];
  #putters: (Waiter<void> & { item: T })[] = [];
  #joiners: Waiter<void>[] = [];
  #unfinished = 0;
  #closed = false;

  /**
   * Creates a queue.
   *
   * @param name The queue's name, used in errors.
   * @param options The capacity.
   * @throws {RangeError} When the capacity is not a positive integer.
   */
  constructor(name: string, options: WorkQueueOptions = {}) {
    const capacity = options.capacity ?? 1024;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Cannot create queue "${name}": capacity must be a positive integer, received ${capacity}`,
      );
    }
    this.name = name;
    this.capacity = capacity;
  }

  /** Items waiting to be taken. */
  get size(): number {
    return this.#items.length;
  }

  /** Items put and not yet marked done. */
  get unfinished(): number {
    return this.#unfinished;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  #wait<V>(
    list: Waiter<V>[],
    options: QueueWaitOptions | undefined,
    extra?: Partial<Waiter<V>> & Record<string, unknown>,
  ): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      let stopWatching = noop;
      const waiter: Waiter<V> = {
        ...extra,
        resolve: (value: V) => {
          stopWatching();
          resolve(value);
        },
        reject: (error: unknown) => {
          stopWatching();
          reject(error);
        },
      };
      list.push(waiter);
      // A signal that is already aborted ends the wait here, before it starts.
      stopWatching = watchDeadline(options?.signal, options?.timeout, (reason) => {
        const index = list.indexOf(waiter);
        if (index >= 0) list.splice(index, 1);
        waiter.reject(reason);
      });
    });
  }

  /**
   * Adds an item, waiting while the queue is full.
   *
   * @param item The item.
   * @param options A timeout or signal; giving up puts nothing.
   * @returns Once the item is in the queue (or handed to a waiting consumer).
   * @throws {QueueClosedError} When the queue is closed.
   */
  put(item: T, options?: QueueWaitOptions): Promise<void> {
    if (this.#closed) return Promise.reject(new QueueClosedError(this.name));
    if (this.tryPut(item)) return Promise.resolve();
    return this.#wait(this.#putters as Waiter<void>[], options, { item });
  }

  /**
   * Adds an item if there is room.
   *
   * @param item The item.
   * @returns Whether it was added.
   * @throws {QueueClosedError} When the queue is closed.
   */
  tryPut(item: T): boolean {
    if (this.#closed) throw new QueueClosedError(this.name);
    const getter = this.#getters.shift();
    if (getter) {
      this.#unfinished++;
      getter.resolve(item);
      return true;
    }
    if (this.#items.length >= this.capacity || this.#putters.length > 0) return false;
    this.#items.push(item);
    this.#unfinished++;
    return true;
  }

  /**
   * Takes the next item, waiting while the queue is empty.
   *
   * @param options A timeout or signal; giving up takes nothing.
   * @returns The item.
   * @throws {QueueClosedError} When the queue is closed and empty.
   */
  get(options?: QueueWaitOptions): Promise<T> {
    if (this.#items.length > 0) {
      const item = this.#items.shift()!;
      this.#admitPutter();
      return Promise.resolve(item);
    }
    if (this.#closed) return Promise.reject(new QueueClosedError(this.name));
    return this.#wait(this.#getters, options);
  }

  /**
   * Takes up to `max` items that are waiting now, without waiting (an empty
   * array when none is). The runtime uses it to hand an actor iterating a
   * queue several items per round trip.
   *
   * @example
   * ```ts
   * import { WorkQueue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const queue = new WorkQueue<number>("jobs");
   * for (const n of [1, 2, 3]) queue.tryPut(n);
   * assert.deepEqual(queue.takeAvailable(2), [1, 2]);
   * assert.equal(queue.size, 1);
   * ```
   *
   * @param max The most items to take.
   * @returns The items taken, oldest first.
   */
  takeAvailable(max: number): T[] {
    const taken: T[] = [];
    while (taken.length < max && this.#items.length > 0) {
      taken.push(this.#items.shift()!);
      this.#admitPutter();
    }
    return taken;
  }

  /**
   * Puts back, at the front and in their order, items taken and not handled
   * (an actor that stopped iterating with items fetched ahead, or one that
   * ended holding items). Consumers waiting get them first, oldest item to
   * the consumer that asked first; the rest go ahead of the items queued. The
   * items stay unfinished.
   *
   * @example
   * ```ts
   * import { WorkQueue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const queue = new WorkQueue<number>("jobs");
   * const waiting = queue.get();
   * queue.requeueAll([1, 2, 3]);
   * queue.tryPut(4);
   * assert.equal(await waiting, 1);
   * assert.deepEqual(queue.takeAvailable(3), [2, 3, 4]);
   * ```
   *
   * @param items The items, oldest first.
   */
  requeueAll(items: readonly T[]): void {
    let next = 0;
    while (next < items.length && this.#getters.length > 0) {
      this.#getters.shift()!.resolve(items[next++]!);
    }
    if (next < items.length) this.#items = [...items.slice(next), ...this.#items];
  }

  #admitPutter(): void {
    const putter = this.#putters.shift();
    if (!putter) return;
    this.#items.push(putter.item);
    this.#unfinished++;
    putter.resolve();
  }

  /**
   * Puts back, at the front, an item taken with `get` that its consumer could
   * not handle (the runtime does this for an actor that ended holding items
   * it had not marked done). The item stays unfinished.
   *
   * @param item The item.
   */
  requeue(item: T): void {
    this.requeueAll([item]);
  }

  /**
   * Marks one item taken with `get` as handled.
   *
   * @throws {RangeError} When called more times than items were put.
   */
  taskDone(): void {
    if (this.#unfinished === 0) {
      throw new RangeError(`Cannot mark a task done in queue "${this.name}": none is unfinished`);
    }
    this.#unfinished--;
    if (this.#unfinished === 0) { for (const joiner of this.#joiners.splice(0)) joiner.resolve(); }
  }

  /**
   * Resolves once every item put has been marked with `taskDone()`.
   *
   * @param options A timeout or signal.
   * @returns When the queue's work is done.
   */
  join(options?: QueueWaitOptions): Promise<void> {
    if (this.#unfinished === 0) return Promise.resolve();
    return this.#wait(this.#joiners, options);
  }

  /**
   * The sentinel: refuses further puts (waiting producers reject), lets
   * consumers take what is queued, then ends them all.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const putter of this.#putters.splice(0)) putter.reject(new QueueClosedError(this.name));
    for (const getter of this.#getters.splice(0)) getter.reject(new QueueClosedError(this.name));
  }

  /** Takes items until the queue is closed and empty. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      try {
        yield await this.get();
      } catch (error) {
        if (error instanceof QueueClosedError) return;
        throw error;
      }
    }
  }
}
