// Collects messages and hands them over as one batch. The flush runs as a
// microtask, but while the producer keeps adding messages (a loop of
// `await ref.tell(...)` adds one per microtask turn) it steps back behind the
// producer, so a busy loop fills a batch and a lone message leaves at once.

/** Messages per batch before it is sent regardless. */
const MAX_BATCH = 512;

export class Coalescer<T> {
  #items: T[] = [];
  #seen = 0;
  #scheduled = false;
  #paused = false;
  #deliver: (batch: T[]) => void;

  constructor(deliver: (batch: T[]) => void) {
    this.#deliver = deliver;
  }

  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
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
    if (size !== this.#seen && size < MAX_BATCH) {
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
    return items;
  }
}
