/**
 * `Mutex`: a lock in shared memory for worker actors and the main thread,
 * taken with `await using` and released at the end of the scope.
 *
 * @module
 */

import { Semaphore, type SemaphorePermit } from "./semaphore.ts";

/** Options of the {@linkcode Mutex} constructor. */
export interface MutexOptions {
  /** A name for error messages and diagnostics. Default `"mutex"`. */
  name?: string;
  /**
   * The owner id this handle locks as, unless a call names another one.
   * Default 0. See {@linkcode Mutex.releaseAllOf}.
   */
  owner?: number;
  /**
   * How many `lock` calls can hold a place in the FIFO queue at once
   * (rounded up to a power of two, at most 65536). Calls beyond that wait
   * for a free place, in no particular order among themselves. Default 256.
   */
  queueSize?: number;
}

/** Options of {@linkcode Mutex.from}. */
export interface MutexHandleOptions {
  /** The owner id this handle locks as, unless a call names another one. Default 0. */
  owner?: number;
}

/** Options of {@linkcode Mutex.lock}. */
export interface LockOptions {
  /** Rejects with the signal's reason when it aborts; the mutex is left as it was. */
  signal?: AbortSignal;
  /** Rejects with a `TimeoutError` `DOMException` after this many milliseconds; the mutex is left as it was. */
  timeout?: number;
  /** Who holds the lock. Default: the handle's owner. */
  owner?: number;
}

/** Options of {@linkcode Mutex.tryLock}. */
export interface TryLockOptions {
  /** Who holds the lock. Default: the handle's owner. */
  owner?: number;
}

/**
 * A held lock of a {@linkcode Mutex}. Unlock it once, by calling `unlock()`
 * or by letting `using` / `await using` dispose of it.
 */
export interface MutexGuard extends Disposable, AsyncDisposable {
  /** The owner id the lock is recorded under. */
  readonly owner: number;
  /** Whether `unlock()` (or disposal) has run. */
  readonly unlocked: boolean;
  /**
   * `true` when the previous holder ended holding the lock (it crashed, was
   * killed, or stopped without unlocking, and {@linkcode Mutex.releaseAllOf}
   * took the lock back), like a robust mutex's `EOWNERDEAD`: the data it
   * guarded may be half-updated, so check or repair it first.
   */
  readonly previousHolderDied: boolean;
  /**
   * Unlocks the mutex and wakes the first waiter. Calling it again does
   * nothing, and neither does unlocking a lock that `releaseAllOf` took back.
   */
  unlock(): void;
}

/**
 * What {@linkcode Mutex.share} returns: plain data that survives structured
 * clone, so an actor can rebuild the mutex with {@linkcode Mutex.from}.
 */
export interface MutexDescriptor {
  /** The mutex's name. */
  readonly name: string;
  /** The shared memory holding the mutex's state. */
  readonly buffer: SharedArrayBuffer;
}

const ATTACH: unique symbol = Symbol("attach");

// A mutex's lock is its semaphore's one permit under other names.
function guard(permit: SemaphorePermit): MutexGuard {
  return {
    owner: permit.owner,
    get unlocked(): boolean {
      return permit.released;
    },
    previousHolderDied: permit.previousHolderDied,
    unlock: (): void => permit.release(),
    [Symbol.dispose]: (): void => permit[Symbol.dispose](),
    [Symbol.asyncDispose]: (): PromiseLike<void> => permit[Symbol.asyncDispose](),
  };
}

/**
 * A mutual-exclusion lock in shared memory: one holder at a time across
 * worker actors and the main thread, for updates that span several values
 * (Python's `multiprocessing.Lock`). It is a {@linkcode Semaphore} with one
 * permit and shares its guarantees.
 *
 * Guarantees:
 * - At most one holder at any moment; plain (non-atomic) reads and writes
 *   made while holding the lock are seen by the next holder.
 * - Fair: `lock` calls get the mutex in the order they were made, across
 *   all threads; `tryLock` never overtakes a waiter.
 * - A `lock` that times out or is aborted leaves the mutex as it was and
 *   does not hold up the calls behind it.
 * - After an actor dies holding the lock, {@linkcode Mutex.releaseAllOf}
 *   with its owner id unlocks it.
 * - Waiting never blocks a thread: it uses `Atomics.waitAsync` and holds a
 *   timer while it waits.
 *
 * Limits: the lock is not re-entrant; a holder that locks again waits for
 * itself (give such calls a timeout). Shared memory cannot cross a process
 * boundary: send the descriptor to worker actors only.
 *
 * @example Keep two fields equal
 * ```ts
 * import { Mutex } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const mutex = new Mutex();
 * const fields = new Int32Array(new SharedArrayBuffer(8));
 * async function bump(): Promise<void> {
 *   await using _lock = await mutex.lock({ timeout: 1000 });
 *   fields[0]++;
 *   await Promise.resolve(); // others may run here, but none holds the lock
 *   fields[1]++;
 * }
 * await Promise.all([bump(), bump(), bump()]);
 * assert.deepEqual([...fields], [3, 3]);
 * assert.equal(mutex.locked, false);
 * ```
 *
 * @example In a worker actor
 * ```ts
 * import { defineActor, Mutex, type MutexDescriptor } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * export const writer = defineActor({
 *   init: (args: { lock: MutexDescriptor; owner: number }) => ({
 *     lock: Mutex.from(args.lock, { owner: args.owner }),
 *   }),
 *   handlers: {
 *     async write(state, line: string) {
 *       using _lock = await state.lock.lock({ timeout: 5000 });
 *       return line.length; // one actor at a time here
 *     },
 *   },
 * });
 * // In the parent: spawn with { args: { lock: mutex.share(), owner: 1 } }
 * const mutex = new Mutex({ name: "log" });
 * assert.equal(Mutex.from(structuredClone(mutex.share())).name, "log");
 * ```
 */
export class Mutex {
  #semaphore: Semaphore;

  /**
   * Creates an unlocked mutex in new shared memory.
   *
   * @example
   * ```ts
   * import { Mutex } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const mutex = new Mutex({ name: "accounts" });
   * assert.equal(mutex.locked, false);
   * ```
   *
   * @param options A name, this handle's owner id, the queue size.
   * @throws {RangeError} When `owner` or `queueSize` is out of range.
   * @throws {TypeError} When the name is not a string.
   */
  constructor(options: MutexOptions = {}) {
    const attached = (options as { [ATTACH]?: Semaphore })[ATTACH];
    this.#semaphore = attached ?? new Semaphore(1, {
      name: options.name ?? "mutex",
      owner: options.owner,
      queueSize: options.queueSize,
    });
  }

  /**
   * Rebuilds a mutex from a descriptor made by {@linkcode Mutex.share},
   * typically in the actor that received it. Both handles use the same memory.
   *
   * @example
   * ```ts
   * import { Mutex } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const mutex = new Mutex();
   * const inWorker = Mutex.from(structuredClone(mutex.share()), { owner: 2 });
   * using _lock = inWorker.tryLock()!;
   * assert.equal(mutex.locked, true);
   * ```
   *
   * @param descriptor The name and shared buffer.
   * @param options This handle's owner id.
   * @returns A handle over the same mutex.
   * @throws {TypeError} When the descriptor is not a mutex's.
   * @throws {RangeError} When the owner id is out of range.
   */
  static from(descriptor: MutexDescriptor, options: MutexHandleOptions = {}): Mutex {
    const semaphore = Semaphore.from(descriptor, options);
    if (semaphore.permits !== 1) {
      throw new TypeError(
        `Cannot rebuild mutex: the descriptor is a semaphore's with ${semaphore.permits} permits`,
      );
    }
    return new Mutex({ [ATTACH]: semaphore } as MutexOptions);
  }

  /**
   * Returns plain data to send to a worker actor, which rebuilds the mutex
   * with {@linkcode Mutex.from}.
   *
   * @example
   * ```ts
   * import { Mutex } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Mutex({ name: "m" }).share().name, "m");
   * ```
   *
   * @returns The name and the shared buffer.
   */
  share(): MutexDescriptor {
    return this.#semaphore.share();
  }

  /** The mutex's name, for messages and diagnostics. */
  get name(): string {
    return this.#semaphore.name;
  }

  /** The owner id this handle locks as by default. */
  get owner(): number {
    return this.#semaphore.owner;
  }

  /** Whether some owner holds the lock now (a snapshot). */
  get locked(): boolean {
    return this.#semaphore.available === 0;
  }

  /** How many `lock` calls hold a place in the queue now (a snapshot). */
  get waiting(): number {
    return this.#semaphore.waiting;
  }

  /**
   * Waits for the lock, in FIFO order. Unlock it with `unlock()`, or let
   * `using` / `await using` unlock it at the end of the scope.
   *
   * @example A lock with a deadline
   * ```ts
   * import { Mutex } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const mutex = new Mutex();
   * using _held = await mutex.lock();
   * await assert.rejects(
   *   mutex.lock({ timeout: 10 }),
   *   (error: unknown) => error instanceof DOMException && error.name === "TimeoutError",
   * );
   * assert.equal(mutex.waiting, 0);
   * ```
   *
   * @param options A signal, a timeout in milliseconds, who holds the lock.
   * @returns The held lock.
   * @throws {DOMException} A `TimeoutError` after `timeout` milliseconds.
   * @throws {RangeError} When the owner id or the timeout is out of range.
   * @throws {TypeError} When `releaseAllOf` dropped this call's place (its owner was declared dead).
   * The promise also rejects with `signal.reason` when the signal aborts.
   */
  async lock(options: LockOptions = {}): Promise<MutexGuard> {
    return guard(await this.#semaphore.acquire(options));
  }

  /**
   * Takes the lock if it is free and nobody is waiting, without waiting.
   *
   * @example
   * ```ts
   * import { Mutex } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const mutex = new Mutex();
   * const held = mutex.tryLock();
   * assert.ok(held);
   * assert.equal(mutex.tryLock(), undefined);
   * held.unlock();
   * assert.equal(mutex.locked, false);
   * ```
   *
   * @param options Who holds the lock.
   * @returns The held lock, or `undefined` when it is taken or others are waiting.
   * @throws {RangeError} When the owner id is out of range.
   */
  tryLock(options: TryLockOptions = {}): MutexGuard | undefined {
    const permit = this.#semaphore.tryAcquire(options);
    return permit && guard(permit);
  }

  /**
   * Unlocks the mutex held under an owner id, for code that does not keep
   * the guard (as with Python's `Lock.release()`). Prefer the guard's own
   * `unlock()`.
   *
   * @example
   * ```ts
   * import { Mutex } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const mutex = new Mutex();
   * await mutex.lock();
   * mutex.unlock();
   * assert.equal(mutex.locked, false);
   * assert.throws(() => mutex.unlock(), TypeError);
   * ```
   *
   * @param owner The owner id. Default: the handle's owner.
   * @throws {TypeError} When the mutex is not locked, or another owner holds it.
   * @throws {RangeError} When the owner id is out of range.
   */
  unlock(owner: number = this.owner): void {
    if (this.#semaphore.heldBy(owner) === 0) {
      throw new TypeError(
        `Cannot unlock mutex "${this.name}": ${
          this.locked ? `another owner holds it, not owner ${owner}` : "it is not locked"
        }`,
      );
    }
    this.#semaphore.release(owner);
  }

  /**
   * Unlocks the mutex if `owner` holds it and drops that owner's queued
   * `lock` calls, then wakes the waiters. The supervisor calls it on the
   * parent thread after the actor with that owner id died. Call it only once
   * the owner's thread has ended, and again after a short grace period: see
   * `Semaphore.releaseAllOf`, whose rules it follows.
   *
   * @example
   * ```ts
   * import { Mutex } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const mutex = new Mutex();
   * mutex.tryLock({ owner: 5 }); // an actor's lock, never unlocked
   * // ... the actor with owner id 5 crashed:
   * assert.equal(mutex.releaseAllOf(5), true);
   * assert.equal(mutex.locked, false);
   * ```
   *
   * @param owner The dead owner's id.
   * @returns Whether that owner held the lock.
   * @throws {RangeError} When the owner id is out of range.
   */
  releaseAllOf(owner: number): boolean {
    return this.#semaphore.releaseAllOf(owner) > 0;
  }
}
