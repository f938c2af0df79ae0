/**
 * A first-in first-out queue over an array read from a head index: a push
 * and a shift are an array write and an index step, and the array is
 * compacted as it empties (at once when it is empty, else once the consumed
 * head is at least 1024 entries and half the array), so a queue that never
 * quite empties keeps only about twice its live entries.
 *
 * @module
 */

/** A FIFO queue; `items` from `head` on are the live entries. */
export class Fifo<T> {
  items: (T | undefined)[] = [];
  head = 0;

  /** Adds `item` at the tail. */
  push(item: T): void {
    this.items.push(item);
  }

  /** Takes the oldest entry, `undefined` when there is none. */
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** The oldest entry, left in place. */
  get first(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  /** The newest entry. */
  get last(): T | undefined {
    return this.head < this.items.length ? this.items[this.items.length - 1] : undefined;
  }

  /** Live entries. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** `true` when there is no live entry. */
  get empty(): boolean {
    return this.head >= this.items.length;
  }
}
