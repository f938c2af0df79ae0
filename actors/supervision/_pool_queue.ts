// The tasks waiting in a pool for a worker with room: highest priority
// first, first in first out within a priority. One FIFO per priority, and the
// priorities in use kept sorted, so the usual case (one priority) costs an
// array push and a head index; a task that gives up waiting (its signal or
// timeout) is marked and skipped, not searched for.

import { Fifo } from "../../internal/fifo.ts";

/** An item of the queue; `cancelled` ones are skipped and not counted. */
export interface Queued {
  readonly priority: number;
  cancelled: boolean;
}

/** A priority queue, FIFO within a priority. */
export class PriorityQueue<T extends Queued> {
  /** Items waiting, not counting cancelled ones. */
  size = 0;
  #fifos = new Map<number, Fifo<T>>();
  /** The priorities that have a FIFO, highest first. */
  #priorities: number[] = [];

  push(item: T): void {
    let fifo = this.#fifos.get(item.priority);
    if (!fifo) {
      fifo = new Fifo<T>();
      this.#fifos.set(item.priority, fifo);
      let at = 0;
      while (at < this.#priorities.length && this.#priorities[at]! > item.priority) at++;
      this.#priorities.splice(at, 0, item.priority);
    }
    fifo.push(item);
    this.size++;
  }

  /** Takes the first item of the highest priority, or `undefined` when none waits. */
  shift(): T | undefined {
    while (this.#priorities.length > 0) {
      const priority = this.#priorities[0]!;
      const fifo = this.#fifos.get(priority)!;
      const item = fifo.shift();
      if (fifo.empty) {
        this.#fifos.delete(priority);
        this.#priorities.shift();
      }
      if (item === undefined) continue;
      if (item.cancelled) continue;
      this.size--;
      return item;
    }
    return undefined;
  }

  /** Marks an item as gone (it stays in its FIFO until it reaches the head). */
  cancel(item: T): void {
    if (item.cancelled) return;
    item.cancelled = true;
    this.size--;
  }

  /** Takes every item still waiting, in the order they would have run. */
  takeAll(): T[] {
    const all: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) all.push(item);
    return all;
  }
}
