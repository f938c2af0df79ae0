// The caller's side of a streaming call (`ActorRef.stream`): an async
// iterator over the items the actor sends, which gives credit back as they
// are taken and cancels the call when the caller stops early.

import { noop, watchDeadline } from "../../internal/abort.ts";
import { STREAM_WINDOW } from "./protocol.ts";

/** What a stream's items, end and failure are handed to. */
export interface StreamSink {
  item(value: unknown): void;
  end(): void;
  fail(error: unknown): void;
}

/** What a stream needs from the cell that sends it. */
export interface StreamChannel {
  /** Sends the call; returns its id. Throws when it cannot be sent (stopped, unknown name). */
  open(name: string, payload: unknown, sink: StreamSink): number;
  /** Gives the actor credit for `n` more items. */
  pull(id: number, n: number): void;
  /** Gives up on the call, when it is still pending: the actor's handler is ended. */
  cancel(id: number, reason: unknown): void;
}

/** Options of a stream: the caller's signal, and the time the whole stream may take. */
export interface StreamReaderOptions {
  timeout?: number;
  signal?: AbortSignal;
}

/** An async iterator over a streaming call's items; the call is sent on the first `next()`. */
export class StreamReader<T> implements AsyncIterableIterator<T> {
  #channel: StreamChannel;
  #name: string;
  #payload: unknown;
  #options: StreamReaderOptions | undefined;
  #id = 0;
  #started = false;
  /** Nothing more comes from the actor. */
  #ended = false;
  /** The caller has seen the end (or the error): every `next()` is done. */
  #finished = false;
  #error: { reason: unknown } | undefined;
  #items: unknown[] = [];
  #waiters: PromiseWithResolvers<IteratorResult<T, undefined>>[] = [];
  /** Items taken since the last credit went back. */
  #taken = 0;
  #cancelDeadline: () => void = noop;

  constructor(
    channel: StreamChannel,
    name: string,
    payload: unknown,
    options: StreamReaderOptions | undefined,
  ) {
    this.#channel = channel;
    this.#name = name;
    this.#payload = payload;
    this.#options = options;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (!this.#started) {
      const error = this.#start();
      if (error !== undefined) return Promise.reject(error.reason);
    }
    if (this.#items.length > 0) return Promise.resolve(this.#take(this.#items.shift()));
    if (this.#error !== undefined) {
      const { reason } = this.#error;
      this.#error = undefined;
      this.#finished = true;
      return Promise.reject(reason);
    }
    if (this.#ended || this.#finished) return Promise.resolve({ done: true, value: undefined });
    const waiter = Promise.withResolvers<IteratorResult<T, undefined>>();
    this.#waiters.push(waiter);
    return waiter.promise;
  }

  /** Ends the stream early (`break` calls it): the actor's handler is ended too. */
  return(): Promise<IteratorResult<T, undefined>> {
    if (this.#started && !this.#ended) {
      this.#channel.cancel(
        this.#id,
        new DOMException("The stream's consumer stopped", "AbortError"),
      );
    }
    this.#ended = this.#finished = true;
    this.#started = true;
    this.#items = [];
    this.#error = undefined;
    this.#cancelDeadline();
    for (const waiter of this.#waiters.splice(0)) waiter.resolve({ done: true, value: undefined });
    return Promise.resolve({ done: true, value: undefined });
  }

  #start(): { reason: unknown } | undefined {
    this.#started = true;
    const sink: StreamSink = {
      item: (value) => {
        if (this.#ended) return;
        const waiter = this.#waiters.shift();
        if (waiter) waiter.resolve(this.#take(value));
        else this.#items.push(value);
      },
      end: () => this.#end(undefined),
      fail: (error) => this.#end({ reason: error }),
    };
    try {
      this.#id = this.#channel.open(this.#name, this.#payload, sink);
    } catch (error) {
      this.#ended = this.#finished = true;
      return { reason: error };
    }
    const options = this.#options;
    if (options?.signal !== undefined || options?.timeout !== undefined) {
      this.#cancelDeadline = watchDeadline(options.signal, options.timeout, (reason) => {
        this.#channel.cancel(this.#id, reason);
        // Given up: what was buffered is dropped, the next `next()` rejects.
        this.#items = [];
        this.#end({ reason });
      });
    }
    return undefined;
  }

  /** Nothing more comes: buffered items are still taken first, then the end or the error. */
  #end(error: { reason: unknown } | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#cancelDeadline();
    const waiters = this.#waiters.splice(0);
    if (error === undefined) {
      for (const waiter of waiters) waiter.resolve({ done: true, value: undefined });
      return;
    }
    const first = waiters.shift();
    if (first === undefined) {
      this.#error = error;
      return;
    }
    this.#finished = true;
    first.reject(error.reason);
    for (const waiter of waiters) waiter.resolve({ done: true, value: undefined });
  }

  /** Hands one item to the caller, giving credit back every half window. */
  #take(value: unknown): IteratorResult<T, undefined> {
    if (!this.#ended && ++this.#taken >= STREAM_WINDOW / 2) {
      this.#channel.pull(this.#id, this.#taken);
      this.#taken = 0;
    }
    return { done: false, value: value as T };
  }
}
