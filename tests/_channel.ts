// In-thread test helpers for the protocol's two sides: what arrives, taken in
// order with a bounded wait, and a `Peer` that plays one end of a channel
// (the parent for `serve()`, the actor for `ActorCell`).

import type { Transport } from "../transports/transport.ts";
import { within } from "./_helpers.ts";

/** One protocol message. */
export type Message = unknown[];

/** How long a test waits for something that should arrive at once. */
const WAIT_MS = 2000;

/** Items that arrive over time, taken in arrival order; every wait is bounded. */
export class Arrivals<T> {
  #items: T[] = [];
  #taken = 0;
  #wake: (() => void) | undefined;
  #ended = false;

  /** Everything that arrived, taken or not. */
  get all(): readonly T[] {
    return this.#items;
  }

  /** Adds an item and wakes a waiting `next()`. */
  add(item: T): void {
    this.#items.push(item);
    this.#notify();
  }

  /** No more items will arrive: a waiting `next()` rejects. */
  end(): void {
    this.#ended = true;
    this.#notify();
  }

  /** The next item not taken yet; rejects if none arrives within `ms`. */
  async next(what: string, ms: number = WAIT_MS): Promise<T> {
    while (this.#taken === this.#items.length) {
      if (this.#ended) throw new Error(`Ended before ${what}`);
      await within(new Promise<void>((resolve) => this.#wake = resolve), ms, what);
    }
    return this.#items[this.#taken++]!;
  }

  /** The next `n` items. */
  async take(n: number, what: string): Promise<T[]> {
    const items: T[] = [];
    for (let i = 0; i < n; i++) items.push(await this.next(`${what} (${i + 1} of ${n})`));
    return items;
  }

  /** The items that arrived and were not taken, taking them. */
  rest(): T[] {
    const rest = this.#items.slice(this.#taken);
    this.#taken = this.#items.length;
    return rest;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/** The test's end of a channel: reads everything that arrives, sends what the test says. */
export class Peer {
  readonly transport: Transport;
  /** Every message that arrived, one by one. */
  readonly messages: Arrivals<Message> = new Arrivals();
  /** Every batch that arrived, as it arrived. */
  readonly batches: Message[][] = [];
  /** Resolves once the other end closed the channel (or this one did). */
  readonly closed: Promise<void>;

  constructor(transport: Transport) {
    this.transport = transport;
    this.closed = this.#read();
  }

  async #read(): Promise<void> {
    try {
      for await (const batch of this.transport.receive()) {
        this.batches.push(batch as Message[]);
        for (const message of batch) this.messages.add(message as Message);
      }
    } finally {
      this.messages.end();
    }
  }

  /** Sends `messages` as one batch. */
  send(...messages: Message[]): void {
    void this.transport.send(messages);
  }

  /** The next message. */
  next(what: string): Promise<Message> {
    return this.messages.next(what);
  }

  /** The next `n` messages. */
  take(n: number, what: string): Promise<Message[]> {
    return this.messages.take(n, what);
  }

  /** Resolves once the other end closed the channel; rejects after a bound. */
  async untilClosed(what: string): Promise<void> {
    await within(this.closed, WAIT_MS, what);
  }

  /** Closes this end and waits for the read loop to end. */
  async close(): Promise<void> {
    await this.transport.close();
    await this.untilClosed("the peer's own end to close");
  }
}

/** A promise with its resolvers, for a test to settle when it decides. */
export function deferred<T = void>(): PromiseWithResolvers<T> {
  return Promise.withResolvers<T>();
}

/** Resolves like `promise`, bounded by the test wait. */
export function soon<T>(promise: Promise<T>, what: string): Promise<T> {
  return within(promise, WAIT_MS, what);
}

/**
 * Resolves once every microtask queued so far, and every one they queue, has
 * run: for asserting that something did not happen in this thread (a batch
 * the coalescer would have sent). It waits for no other thread.
 */
export function afterMicrotasks(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
