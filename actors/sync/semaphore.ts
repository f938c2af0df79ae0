/**
 * `Semaphore`: a counting semaphore in shared memory for worker actors and
 * the main thread, with a FIFO queue, timeouts and aborts, and a supervisor's
 * way to take back the permits of an actor that died.
 *
 * @module
 */

import { noop, watchDeadline } from "../../internal/abort.ts";
import {
  ATTACH,
  checkDescriptor,
  checkName,
  checkOwner,
  checkSignal,
  checkTimeout,
  DEFAULT_QUEUE,
  H_GEN,
  H_HEAD,
  H_MAGIC,
  H_ORPHANS,
  H_PERMITS,
  H_QUEUE,
  HEADER_BYTES,
  KEEPALIVE_MS,
  MAGIC,
  MAX_PERMITS,
  MAX_QUEUE,
  ORPHANED,
} from "./_semaphore_layout.ts";
import { TicketQueue } from "./_semaphore_queue.ts";
import type {
  AcquireOptions,
  SemaphoreDescriptor,
  SemaphoreHandleOptions,
  SemaphoreOptions,
  SemaphorePermit,
  TryAcquireOptions,
} from "./semaphore_types.ts";

export type {
  AcquireOptions,
  SemaphoreDescriptor,
  SemaphoreHandle,
  SemaphoreHandleOptions,
  SemaphoreOptions,
  SemaphorePermit,
  TryAcquireOptions,
} from "./semaphore_types.ts";

/**
 * A counting semaphore in shared memory: at most `permits` holders at once,
 * across worker actors and the main thread (Python's
 * `multiprocessing.Semaphore(2)`), waited for without blocking any event loop.
 *
 * Guarantees:
 * - At most `permits` permits are held at any moment, whatever the threads.
 * - FIFO: an `acquire` takes a ticket when it is called and waiters get
 *   permits in ticket order, across all threads. `tryAcquire` never
 *   overtakes a waiter. While more than `queueSize` calls wait at once, the
 *   extra ones wait for a place in the queue in no particular order.
 * - A waiter that times out or is aborted takes no permit and keeps no
 *   place: the waiters behind it move up.
 * - Every permit is recorded under its holder's owner id. After an actor
 *   dies, the supervisor calls {@linkcode Semaphore.releaseAllOf} with its
 *   owner id: its permits come back, its queued waits are dropped, and the
 *   waiters behind are woken. No crashed holder leaks a permit forever.
 * - Waiting uses `Atomics.waitAsync` and holds a timer while it waits, so
 *   the event loop stays free and alive; nothing ever blocks a thread.
 *
 * Limits: the front waiter takes a free permit when its own event loop runs,
 * so a thread stuck in synchronous code holds up the waiters behind it. The
 * owner ids are labels chosen by the caller (0 to 2 ** 30 - 2); give each
 * actor its own. `releaseAllOf` gives a dead holder's permits back but cannot
 * repair what it left half-done. Taking a permit scans the permit table, so
 * it costs O(permits) when nearly all are taken; the state takes
 * 32 + 8 × queueSize + 4 × permits bytes. Shared memory cannot cross a
 * process boundary: send the descriptor to worker actors only.
 *
 * @example Two permits, three holders
 * ```ts
 * import { Semaphore } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const sem = new Semaphore(2);
 * const a = await sem.acquire({ owner: 1 });
 * const b = await sem.acquire({ owner: 2 });
 * const third = sem.acquire({ owner: 3, timeout: 1000 });
 * assert.equal(sem.available, 0);
 * a.release();
 * const c = await third;
 * assert.equal(c.owner, 3);
 * b.release();
 * c.release();
 * assert.equal(sem.available, 2);
 * ```
 *
 * @example In a worker actor, with `await using`
 * ```ts
 * import { defineActor, Semaphore, type SemaphoreDescriptor } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * export const downloader = defineActor({
 *   init: (args: { slots: SemaphoreDescriptor; owner: number }) => ({
 *     slots: Semaphore.from(args.slots, { owner: args.owner }),
 *   }),
 *   handlers: {
 *     async fetch(state, url: string) {
 *       await using _permit = await state.slots.acquire({ timeout: 10_000 });
 *       return url.length; // at most two actors are here at once
 *     },
 *   },
 * });
 * // In the parent: spawn with { args: { slots: sem.share(), owner: 1 } }
 * const sem = new Semaphore(2, { name: "downloads" });
 * assert.equal(Semaphore.from(structuredClone(sem.share())).name, "downloads");
 * ```
 */
export class Semaphore {
  /** The semaphore's name, for messages and diagnostics. */
  readonly name: string;
  /** The owner id this handle acquires as by default. */
  readonly owner: number;
  #buffer: SharedArrayBuffer;
  #header: Int32Array;
  #tickets: TicketQueue;
  #permits: Int32Array;
  /** Whether the slot `#take` took last had been taken back from a dead holder. */
  #orphan = false;
  #hint = 0;

  /**
   * Creates a semaphore with `permits` permits in new shared memory.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const sem = new Semaphore(3, { name: "db", queueSize: 64 });
   * assert.equal(sem.permits, 3);
   * assert.equal(sem.available, 3);
   * ```
   *
   * @param permits How many holders at once, from 1 to 65536.
   * @param options A name, this handle's owner id, the queue size.
   * @throws {RangeError} When `permits`, `owner` or `queueSize` is out of range.
   * @throws {TypeError} When the name is not a string.
   */
  constructor(permits: number, options: SemaphoreOptions = {}) {
    const attached = (options as { [ATTACH]?: SemaphoreDescriptor })[ATTACH];
    const what = attached ? "rebuild semaphore" : "create semaphore";
    this.owner = checkOwner(options.owner ?? 0, what);
    let buffer: SharedArrayBuffer;
    if (attached) {
      buffer = attached.buffer;
      this.name = attached.name;
    } else {
      this.name = checkName(options.name, "semaphore", what);
      if (!Number.isInteger(permits) || permits < 1 || permits > MAX_PERMITS) {
        throw new RangeError(
          `Cannot ${what}: permits must be an integer from 1 to ${MAX_PERMITS}, received ${permits}`,
        );
      }
      const wanted = options.queueSize ?? DEFAULT_QUEUE;
      if (!Number.isInteger(wanted) || wanted < 1 || wanted > MAX_QUEUE) {
        throw new RangeError(
          `Cannot ${what}: queueSize must be an integer from 1 to ${MAX_QUEUE}, received ${wanted}`,
        );
      }
      const queue = 2 ** Math.ceil(Math.log2(wanted));
      buffer = new SharedArrayBuffer(HEADER_BYTES + 8 * queue + 4 * permits);
      const header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
      header[H_PERMITS] = permits;
      header[H_QUEUE] = queue;
      header[H_MAGIC] = MAGIC;
    }
    this.#buffer = buffer;
    this.#header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    const queue = this.#header[H_QUEUE];
    this.#tickets = new TicketQueue(this.#header, new BigInt64Array(buffer, HEADER_BYTES, queue));
    this.#permits = new Int32Array(buffer, HEADER_BYTES + 8 * queue, this.#header[H_PERMITS]);
  }

  /**
   * Rebuilds a semaphore from a descriptor made by {@linkcode Semaphore.share},
   * typically in the actor that received it. Both handles use the same memory.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const sem = new Semaphore(1);
   * const inWorker = Semaphore.from(structuredClone(sem.share()), { owner: 4 });
   * const permit = inWorker.tryAcquire();
   * assert.equal(sem.heldBy(4), 1);
   * permit?.release();
   * ```
   *
   * @param descriptor The name and shared buffer.
   * @param options This handle's owner id.
   * @returns A handle over the same semaphore.
   * @throws {TypeError} When the descriptor is not a semaphore's.
   * @throws {RangeError} When the owner id is out of range.
   */
  static from(descriptor: SemaphoreDescriptor, options: SemaphoreHandleOptions = {}): Semaphore {
    checkDescriptor(descriptor, "rebuild semaphore");
    return new Semaphore(0, { owner: options.owner, [ATTACH]: descriptor } as SemaphoreOptions);
  }

  /**
   * Returns plain data to send to a worker actor, which rebuilds the
   * semaphore with {@linkcode Semaphore.from}.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const descriptor = new Semaphore(2, { name: "db" }).share();
   * assert.equal(descriptor.name, "db");
   * assert.ok(descriptor.buffer instanceof SharedArrayBuffer);
   * ```
   *
   * @returns The name and the shared buffer.
   */
  share(): SemaphoreDescriptor {
    return { name: this.name, buffer: this.#buffer };
  }

  /** How many permits the semaphore has in all. */
  get permits(): number {
    return this.#permits.length;
  }

  /** How many permits are free now (a snapshot). */
  get available(): number {
    return this.#count(0) + this.#count(ORPHANED);
  }

  /** How many `acquire` calls hold a place in the queue now (a snapshot). */
  get waiting(): number {
    return this.#tickets.waiting;
  }

  /**
   * Counts the permits held under an owner id.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const sem = new Semaphore(2);
   * using _permit = sem.tryAcquire({ owner: 7 })!;
   * assert.equal(sem.heldBy(7), 1);
   * assert.equal(sem.heldBy(8), 0);
   * ```
   *
   * @param owner The owner id.
   * @returns How many permits it holds now.
   * @throws {RangeError} When the owner id is out of range.
   */
  heldBy(owner: number): number {
    return this.#count(checkOwner(owner, `count the permits of "${this.name}"`) + 1);
  }

  /**
   * Takes a permit if one is free and nobody is waiting, without waiting.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const sem = new Semaphore(1);
   * const permit = sem.tryAcquire();
   * assert.ok(permit);
   * assert.equal(sem.tryAcquire(), undefined);
   * permit.release();
   * ```
   *
   * @param options Who holds the permit.
   * @returns The permit, or `undefined` when none is free or others are waiting.
   * @throws {RangeError} When the owner id is out of range.
   */
  tryAcquire(options: TryAcquireOptions = {}): SemaphorePermit | undefined {
    const owner = checkOwner(options.owner ?? this.owner, `acquire "${this.name}"`);
    const ticket = this.#tickets.take(owner, true);
    if (ticket === undefined) return undefined;
    // Holding the front ticket: nobody can take a permit in between.
    const slot = this.#take(owner);
    this.#tickets.advance(ticket);
    return slot < 0 ? undefined : this.#permit(slot, owner);
  }

  /**
   * Waits for a permit, in FIFO order. Release it with `release()`, or let
   * `using` / `await using` release it at the end of the scope.
   *
   * @example Wait with a deadline
   * ```ts
   * import { Semaphore } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const sem = new Semaphore(1);
   * {
   *   await using _permit = await sem.acquire();
   *   await assert.rejects(
   *     sem.acquire({ timeout: 10 }),
   *     (error: unknown) => error instanceof DOMException && error.name === "TimeoutError",
   *   );
   * }
   * assert.equal(sem.available, 1);
   * ```
   *
   * @param options A signal, a timeout in milliseconds, who holds the permit.
   * @returns The permit.
   * @throws {DOMException} A `TimeoutError` after `timeout` milliseconds.
   * @throws {RangeError} When the owner id or the timeout is out of range.
   * @throws {TypeError} When `releaseAllOf` dropped this call's place (its owner was declared dead).
   * The promise also rejects with `signal.reason` when the signal aborts.
   */
  async acquire(options: AcquireOptions = {}): Promise<SemaphorePermit> {
    const what = `acquire "${this.name}"`;
    const owner = checkOwner(options.owner ?? this.owner, what);
    const timeout = checkTimeout(options.timeout, what);
    const signal = checkSignal(options.signal, what);
    signal?.throwIfAborted();
    const ticket = this.#tickets.take(owner, false);
    if (ticket !== undefined && this.#tickets.head === ticket) {
      const slot = this.#take(owner);
      if (slot >= 0) {
        this.#tickets.advance(ticket);
        return this.#permit(slot, owner);
      }
    }
    return await this.#wait(ticket, owner, timeout, signal);
  }

  /**
   * Gives back one permit held under an owner id, for code that does not
   * keep the permit object (as with Python's `release()`). Prefer the
   * permit's own `release()`.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const sem = new Semaphore(1);
   * await sem.acquire();
   * sem.release();
   * assert.equal(sem.available, 1);
   * assert.throws(() => sem.release(), TypeError);
   * ```
   *
   * @param owner The owner id. Default: the handle's owner.
   * @throws {TypeError} When that owner holds no permit.
   * @throws {RangeError} When the owner id is out of range.
   */
  release(owner: number = this.owner): void {
    const what = `release "${this.name}"`;
    const tag = checkOwner(owner, what) + 1;
    for (let j = 0; j < this.#permits.length; j++) {
      if (Atomics.load(this.#permits, j) === tag && this.#free(j, owner)) return;
    }
    throw new TypeError(`Cannot ${what}: owner ${owner} holds no permit`);
  }

  /**
   * Takes back every permit held under `owner` and drops its queued waits,
   * then wakes the waiters. The supervisor calls it on the parent thread
   * once the actor with that owner id has died (crashed, was killed or
   * terminated), so a crashed holder does not keep its permits forever.
   *
   * Call it only once the owner's thread has ended: a live owner's permits
   * would be handed to others while it still uses them, and its pending
   * `acquire` calls reject with a `TypeError`. `worker.terminate()` returns
   * before the worker's thread stops, and in that moment the thread may still
   * queue or take a permit. The call is idempotent: make it when the exit is
   * reported and once more after a short grace period (say 100 ms) to take
   * back anything taken in between.
   *
   * @example Take back the permit of a holder that died
   * ```ts
   * import { Semaphore } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const sem = new Semaphore(1);
   * sem.tryAcquire({ owner: 7 }); // an actor's permit, never released
   * const waiter = sem.acquire({ owner: 8, timeout: 1000 });
   * // ... the actor with owner id 7 crashed:
   * assert.equal(sem.releaseAllOf(7), 1);
   * (await waiter).release();
   * ```
   *
   * @param owner The dead owner's id.
   * @returns How many permits came back.
   * @throws {RangeError} When the owner id is out of range.
   */
  releaseAllOf(owner: number): number {
    const o = checkOwner(owner, `release the permits of "${this.name}"`);
    const header = this.#header;
    this.#tickets.dropOwner(o);
    let freed = 0;
    for (let j = 0; j < this.#permits.length; j++) {
      if (Atomics.compareExchange(this.#permits, j, o + 1, ORPHANED) === o + 1) freed++;
    }
    if (freed > 0) {
      // The next holders learn that their predecessor died (`previousHolderDied`).
      Atomics.add(header, H_ORPHANS, freed);
      Atomics.add(header, H_GEN, 1);
    }
    this.#tickets.skipCancelled();
    // The dead thread may have died between a change and its wake-up call.
    Atomics.notify(header, H_HEAD);
    Atomics.notify(header, H_GEN);
    return freed;
  }

  // How many permit slots hold `tag` (0 when free, else owner + 1) now.
  #count(tag: number): number {
    let count = 0;
    for (let j = 0; j < this.#permits.length; j++) {
      if (Atomics.load(this.#permits, j) === tag) count++;
    }
    return count;
  }

  // Takes a free permit slot for `owner`; -1 when none is free. A slot taken
  // back from a dead holder goes first, so the next holder learns of the death;
  // `#orphan` says whether the slot taken was one.
  #take(owner: number): number {
    const permits = this.#permits;
    const n = permits.length;
    const orphans = Atomics.load(this.#header, H_ORPHANS) > 0;
    for (const free of orphans ? [ORPHANED, 0] : [0]) {
      for (let k = 0; k < n; k++) {
        const j = (this.#hint + k) % n;
        if (
          Atomics.load(permits, j) === free &&
          Atomics.compareExchange(permits, j, free, owner + 1) === free
        ) {
          this.#orphan = free === ORPHANED;
          if (this.#orphan) Atomics.sub(this.#header, H_ORPHANS, 1);
          this.#hint = (j + 1) % n;
          return j;
        }
      }
    }
    return -1;
  }

  // Frees a permit slot held by `owner` and wakes the front waiter.
  #free(slot: number, owner: number): boolean {
    if (Atomics.compareExchange(this.#permits, slot, owner + 1, 0) !== owner + 1) return false;
    Atomics.add(this.#header, H_GEN, 1);
    Atomics.notify(this.#header, H_GEN);
    return true;
  }

  #permit(slot: number, owner: number): SemaphorePermit {
    const previousHolderDied = this.#orphan;
    this.#orphan = false;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.#free(slot, owner);
    };
    return {
      owner,
      get released(): boolean {
        return released;
      },
      previousHolderDied,
      release,
      [Symbol.dispose]: release,
      [Symbol.asyncDispose]: (): Promise<void> => {
        release();
        return Promise.resolve();
      },
    };
  }

  async #wait(
    ticket: number | undefined,
    owner: number,
    timeout: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<SemaphorePermit> {
    const header = this.#header;
    let stopped = false;
    let reason: unknown;
    const interrupted = Promise.withResolvers<void>();
    const stopWatching = watchDeadline(
      signal,
      timeout,
      (why) => {
        stopped = true;
        reason = why;
        interrupted.resolve();
      },
      () =>
        new DOMException(
          `Timed out after ${timeout} ms waiting for "${this.name}"`,
          "TimeoutError",
        ),
    );
    // The deadline's timer keeps the event loop alive; without a deadline,
    // a ref'd interval does.
    const keepAlive = timeout === undefined ? setInterval(noop, KEEPALIVE_MS) : undefined;
    try {
      while (true) {
        if (stopped) {
          if (ticket !== undefined) this.#tickets.cancel(ticket, owner);
          throw reason;
        }
        let index: number;
        let value: number;
        if (ticket === undefined) {
          // The queue was full: wait for the head to move, then try again.
          value = Atomics.load(header, H_HEAD);
          ticket = this.#tickets.take(owner, false);
          if (ticket !== undefined) continue;
          index = H_HEAD;
        } else {
          const head = Atomics.load(header, H_HEAD);
          if (head === ticket) {
            // At the front: take a free permit, or wait for a release.
            value = Atomics.load(header, H_GEN);
            const slot = this.#take(owner);
            if (slot >= 0) {
              this.#tickets.advance(ticket);
              return this.#permit(slot, owner);
            }
            index = H_GEN;
          } else if (((ticket - head) | 0) < 0) {
            throw new TypeError(
              `Cannot acquire "${this.name}": releaseAllOf(${owner}) dropped this wait, as if owner ${owner} had died`,
            );
          } else {
            index = H_HEAD;
            value = head;
          }
        }
        const result = Atomics.waitAsync(header, index, value);
        if (result.async) await Promise.race([result.value, interrupted.promise]);
      }
    } finally {
      stopWatching();
      clearInterval(keepAlive);
    }
  }
}
