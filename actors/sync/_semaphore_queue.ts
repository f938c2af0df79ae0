/**
 * A `Semaphore`'s waiters: the FIFO ring of tickets in shared memory (see
 * `_semaphore_layout.ts` for the layout and the record packing). A ticket is
 * taken at the tail and published, the head moves past each ticket served or
 * cancelled, and a dead owner's tickets are cancelled so the waiters behind
 * move up. The permits themselves are the semaphore's (`semaphore.ts`).
 *
 * @module
 */

import {
  CANCELLED,
  H_HEAD,
  H_TAIL,
  ownerOf,
  record,
  stateOf,
  ticketOf,
  WAITING,
} from "./_semaphore_layout.ts";

/** The ticket ring of one semaphore, over its shared header and queue. */
export class TicketQueue {
  #header: Int32Array;
  #queue: BigInt64Array;
  #mask: number;

  /**
   * @param header The semaphore's shared header (head and tail live there).
   * @param queue The ring of records, a power of two long.
   */
  constructor(header: Int32Array, queue: BigInt64Array) {
    this.#header = header;
    this.#queue = queue;
    this.#mask = queue.length - 1;
  }

  /** The ticket at the front now. */
  get head(): number {
    return Atomics.load(this.#header, H_HEAD);
  }

  /** How many tickets wait in the ring now (a snapshot). */
  get waiting(): number {
    const head = Atomics.load(this.#header, H_HEAD);
    const tail = Atomics.load(this.#header, H_TAIL);
    let count = 0;
    for (let t = head, n = 0; t !== tail && n <= this.#mask; t = (t + 1) | 0, n++) {
      if (this.#isQueued(t, WAITING)) count++;
    }
    return count;
  }

  /**
   * Records a ticket for `owner` at the tail of the queue and publishes it.
   * Returns undefined when the queue is full (or, with `onlyIfEmpty`, when
   * anyone else holds a ticket).
   */
  take(owner: number, onlyIfEmpty: boolean): number | undefined {
    const header = this.#header;
    while (true) {
      const tail = Atomics.load(header, H_TAIL);
      const head = Atomics.load(header, H_HEAD);
      if (onlyIfEmpty ? tail !== head : ((tail - head) | 0) > this.#mask) return undefined;
      const i = tail & this.#mask;
      const old = Atomics.load(this.#queue, i);
      if (old !== 0n) {
        const held = ticketOf(old);
        if (held === tail) {
          // Recorded by another thread, not yet published: publish it for them.
          this.#publish(tail);
          continue;
        }
        if (((tail - held) | 0) <= 0) continue; // our tail was stale
      }
      if (Atomics.compareExchange(this.#queue, i, old, record(tail, owner, WAITING)) !== old) {
        continue;
      }
      this.#publish(tail);
      return tail;
    }
  }

  // Moves the tail past `tail`, whose record is written: publishes the ticket.
  #publish(tail: number): void {
    Atomics.compareExchange(this.#header, H_TAIL, tail, (tail + 1) | 0);
  }

  // Whether ticket `t`'s record is in the queue with state `state`.
  #isQueued(t: number, state: number): boolean {
    const rec = Atomics.load(this.#queue, t & this.#mask);
    return rec !== 0n && ticketOf(rec) === t && stateOf(rec) === state;
  }

  /**
   * Moves the head past `ticket`, then past every cancelled ticket after it,
   * waking the waiters each time. Whoever cancels a ticket checks the head
   * after marking it, and whoever moves the head checks the next record after
   * moving it: with sequentially consistent atomics one of them always sees
   * the other, so no cancelled ticket is left at the front.
   */
  advance(ticket: number): void {
    let t = ticket;
    while (Atomics.compareExchange(this.#header, H_HEAD, t, (t + 1) | 0) === t) {
      Atomics.notify(this.#header, H_HEAD);
      t = (t + 1) | 0;
      if (!this.#isQueued(t, CANCELLED)) return;
    }
  }

  /** Gives up `owner`'s `ticket`: it keeps no place, and the waiters behind move up. */
  cancel(ticket: number, owner: number): void {
    Atomics.compareExchange(
      this.#queue,
      ticket & this.#mask,
      record(ticket, owner, WAITING),
      record(ticket, owner, CANCELLED),
    );
    if (Atomics.load(this.#header, H_HEAD) === ticket) this.advance(ticket);
  }

  /** Cancels every ticket of a dead `owner`, one it recorded but did not publish included. */
  dropOwner(owner: number): void {
    const queue = this.#queue;
    // A thread that died between recording its ticket and publishing it left
    // a record at the tail: publish it, so it is cancelled like the rest.
    const tail = Atomics.load(this.#header, H_TAIL);
    const last = Atomics.load(queue, tail & this.#mask);
    if (last !== 0n && ticketOf(last) === tail) {
      this.#publish(tail);
    }
    for (let i = 0; i <= this.#mask; i++) {
      const rec = Atomics.load(queue, i);
      if (rec !== 0n && stateOf(rec) === WAITING && ownerOf(rec) === owner) {
        Atomics.compareExchange(queue, i, rec, record(ticketOf(rec), owner, CANCELLED));
      }
    }
  }

  /** Moves the head past a cancelled ticket at the front (and those after it). */
  skipCancelled(): void {
    const head = Atomics.load(this.#header, H_HEAD);
    if (this.#isQueued(head, CANCELLED)) this.advance(head);
  }
}
