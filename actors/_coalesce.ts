// Collects messages and hands them over as one batch. The flush runs as a
// microtask, but while the producer keeps adding messages (a loop of
// `await ref.tell(...)` adds one per microtask turn) it steps back behind the
// producer, so a busy loop fills a batch and a lone message leaves at once.

import { BATCH_KIND, type BatchKind, UNKNOWN_KIND } from "../transports/_batch.ts";

/** Messages per batch before it is sent regardless. */
const MAX_BATCH = 512;

export class Coalescer<T> {
  #items: T[] = [];
  /** The kinds of `#items`, or-ed: stated on the batch for the codec when all are known. */
  #kind: BatchKind = 0;
  /** Payload bytes in `#items`, as their senders estimated them. */
  #bytes = 0;
  #seen = 0;
  #scheduled = false;
  #paused = false;
  #deliver: (batch: T[]) => void;

  /** A batch is sent once it holds this many payload bytes (see `Transport.batchBytes`). */
  maxBytes = Infinity;

  constructor(deliver: (batch: T[]) => void) {
    this.#deliver = deliver;
  }

  get size(): number {
    return this.#items.length;
  }

  /**
   * Adds an item; `kind` is what its sender found walking it, if it did, and
   * `bytes` the size it estimated.
   */
  push(item: T, kind: BatchKind = UNKNOWN_KIND, bytes = 0): void {
    this.#kind |= kind;
    this.#bytes += bytes;
    this.#items.push(item);
    if (!this.#scheduled && !this.#paused) {
      this.#scheduled = true;
      this.#seen = -1;
      queueMicrotask(this.#tick);
    }
  }

  #tick = (): void => {
    const size = this.#items.length;
    if (this.#paused) {
      this.#scheduled = false;
      return;
    }
    if (size !== this.#seen && size < MAX_BATCH && this.#bytes < this.maxBytes) {
      this.#seen = size;
      queueMicrotask(this.#tick);
      return;
    }
    this.#scheduled = false;
    this.flush();
  };

  /** Hands over everything collected so far, now. */
  flush(): void {
    if (this.#items.length === 0 || this.#paused) return;
    const batch = this.#items;
    this.#items = [];
    const kind = this.#kind;
    this.#kind = 0;
    this.#bytes = 0;
    if ((kind & UNKNOWN_KIND) === 0) {
      (batch as T[] & { [BATCH_KIND]?: BatchKind })[BATCH_KIND] = kind;
    }
    this.#deliver(batch);
  }

  /** Holds batches back (the channel is busy) until `resume()`. */
  pause(): void {
    this.#paused = true;
  }

  /** Sends what was held back. */
  resume(): void {
    this.#paused = false;
    this.flush();
  }

  /** Takes everything not yet handed over. */
  take(): T[] {
    const items = this.#items;
    this.#items = [];
    this.#kind = 0;
    this.#bytes = 0;
    return items;
  }
}
