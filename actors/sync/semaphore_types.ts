/**
 * The option and handle types of `Semaphore` (`semaphore.ts` re-exports
 * them).
 *
 * @module
 */

/** Options of the {@linkcode Semaphore} constructor. */
export interface SemaphoreOptions {
  /** A name for error messages and diagnostics. Default `"semaphore"`. */
  name?: string;
  /**
   * The owner id this handle acquires as, unless a call names another one.
   * Default 0. See {@linkcode Semaphore.releaseAllOf}.
   */
  owner?: number;
  /**
   * How many `acquire` calls can hold a place in the FIFO queue at once
   * (rounded up to a power of two, at most 65536). Calls beyond that wait
   * for a free place, in no particular order among themselves. Default 256.
   */
  queueSize?: number;
}

/** Options of {@linkcode Semaphore.from}. */
export interface SemaphoreHandleOptions {
  /** The owner id this handle acquires as, unless a call names another one. Default 0. */
  owner?: number;
}

/** Options of {@linkcode Semaphore.acquire}. */
export interface AcquireOptions {
  /** Rejects with the signal's reason when it aborts; no permit is taken. */
  signal?: AbortSignal;
  /** Rejects with a `TimeoutError` `DOMException` after this many milliseconds; no permit is taken. */
  timeout?: number;
  /** Who holds the permit. Default: the handle's owner. */
  owner?: number;
}

/** Options of {@linkcode Semaphore.tryAcquire}. */
export interface TryAcquireOptions {
  /** Who holds the permit. Default: the handle's owner. */
  owner?: number;
}

/**
 * A permit of a {@linkcode Semaphore}. Release it once, by calling
 * `release()` or by letting `using` / `await using` dispose of it.
 */
export interface SemaphorePermit extends Disposable, AsyncDisposable {
  /** The owner id the permit is recorded under. */
  readonly owner: number;
  /** Whether `release()` (or disposal) has run. */
  readonly released: boolean;
  /**
   * `true` when the permit's previous holder ended holding it (it crashed,
   * was killed, or stopped without releasing, and its permit came back
   * through {@linkcode Semaphore.releaseAllOf}), like a robust mutex's
   * `EOWNERDEAD`: what that holder guarded may be half-changed, so check or
   * repair it before going on.
   */
  readonly previousHolderDied: boolean;
  /**
   * Gives the permit back and wakes the first waiter. Calling it again does
   * nothing, and neither does releasing a permit that `releaseAllOf` took back.
   */
  release(): void;
}

/**
 * What an actor's `ctx.semaphore(name)` gives: acquire a permit (a
 * disposable, so `await using` releases it), or release one by hand. In a
 * worker actor it is the shared-memory semaphore itself; in a process actor
 * every call goes through the parent, which holds the semaphore.
 */
export interface SemaphoreHandle {
  /** The semaphore's name. */
  readonly name: string;
  /** Waits for a permit (FIFO); a timeout or abort takes none. */
  acquire(options?: { timeout?: number; signal?: AbortSignal }): Promise<SemaphorePermit>;
  /** Gives back one permit this actor holds. */
  release(): void;
}

/**
 * What {@linkcode Semaphore.share} returns: plain data that survives
 * structured clone, so an actor can rebuild the semaphore with
 * {@linkcode Semaphore.from}. Everything else lives in the shared buffer.
 */
export interface SemaphoreDescriptor {
  /** The semaphore's name. */
  readonly name: string;
  /** The shared memory holding the semaphore's state. */
  readonly buffer: SharedArrayBuffer;
}
