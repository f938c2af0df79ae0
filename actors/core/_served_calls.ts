// The actor's side of the calls its caller may give up on: an abort
// controller per `ABORTABLE_ASK` or `STREAM` in flight (the handler's
// `ctx.signal`), and the pump that streams a handler's items back under the
// caller's credit. Plain asks and tells never come here: they cost nothing.

import type { ActorContext } from "./define_actor.ts";
import { STREAM_WINDOW } from "./protocol.ts";

/** One call in flight that its caller may cancel. */
interface ServedCall {
  controller: AbortController;
  /** The context its handler gets (made on first use). */
  ctx: ActorContext | undefined;
  /** Items the handler may still send before the caller pulls. */
  credit: number;
  /** Wakes the stream pump waiting for credit or an abort. */
  wake: (() => void) | undefined;
}

/** The reason a handler's signal aborts with when its caller gave up. */
function cancelReason(name: string): DOMException {
  return new DOMException(
    name === "TimeoutError" ? "The caller's ask timed out" : "The caller gave up on the call",
    name === "TimeoutError" ? "TimeoutError" : "AbortError",
  );
}

/** The iterator of what a streaming handler returned, or a `TypeError` when it is not iterable. */
function iteratorOf(name: string, value: unknown): AsyncIterator<unknown> | Iterator<unknown> {
  if (typeof value === "object" && value !== null) {
    const asyncIterator = (value as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator];
    if (typeof asyncIterator === "function") return asyncIterator.call(value);
    const iterator = (value as Partial<Iterable<unknown>>)[Symbol.iterator];
    if (typeof iterator === "function") return iterator.call(value);
  }
  throw new TypeError(
    `Cannot stream "${name}": the handler returned ${
      value === null ? "null" : typeof value
    }, not an async iterable`,
  );
}

/** The calls in flight that their callers may cancel, by ask id. */
export class ServedCalls {
  #calls = new Map<number, ServedCall>();
  /** Cancels that overtook their call (it waited for room in the sender), by id. */
  #early = new Map<number, string>();
  /** The highest id opened: a cancel above it is for a call still on its way. */
  #highest = 0;
  #base: ActorContext;

  /** @param base The actor's context: its signal (the stop) aborts every call too. */
  constructor(base: ActorContext) {
    this.#base = base;
    base.signal.addEventListener("abort", () => {
      for (const call of this.#calls.values()) this.#abort(call, base.signal.reason);
    }, { once: true });
  }

  /** A cancellable call arrived: its signal lives until {@linkcode close}. */
  open(id: number): void {
    if (id > this.#highest) this.#highest = id;
    const call: ServedCall = {
      controller: new AbortController(),
      ctx: undefined,
      credit: STREAM_WINDOW,
      wake: undefined,
    };
    this.#calls.set(id, call);
    const early = this.#early.get(id);
    if (early !== undefined) {
      this.#early.delete(id);
      call.controller.abort(cancelReason(early));
    } else if (this.#base.signal.aborted) call.controller.abort(this.#base.signal.reason);
  }

  /** The context for the handler of call `id`: its signal aborts when the caller gives up. */
  ctx(id: number): ActorContext {
    const call = this.#calls.get(id);
    if (call === undefined) return this.#base;
    return call.ctx ??= { ...this.#base, signal: call.controller.signal };
  }

  /** The signal of call `id`, when it is open. */
  signal(id: number): AbortSignal | undefined {
    return this.#calls.get(id)?.controller.signal;
  }

  /** The caller gave up on call `id`; ignored for one that already ended. */
  cancel(id: number, reason: string): void {
    const call = this.#calls.get(id);
    if (call !== undefined) this.#abort(call, cancelReason(reason));
    else if (id > this.#highest) this.#early.set(id, reason);
  }

  /** The caller took `n` more items of stream `id`. */
  pull(id: number, n: number): void {
    const call = this.#calls.get(id);
    if (call === undefined) return;
    call.credit += n;
    this.#wake(call);
  }

  /** Call `id` was answered: nothing more can cancel it. */
  close(id: number): void {
    this.#calls.delete(id);
  }

  /**
   * Sends the items of what the handler of stream `id` returned with `send`,
   * never more than the caller's credit ahead. Resolves once the iterator is
   * done; rejects with its error, or the call's abort reason once the caller
   * gave up or the actor stops (the iterator is then ended with `return()`).
   */
  async stream(
    id: number,
    name: string,
    value: unknown,
    send: (item: unknown) => void,
  ): Promise<void> {
    const call = this.#calls.get(id);
    const iterator = iteratorOf(name, value);
    if (call === undefined) throw new Error(`Stream ${id} is not open`);
    const signal = call.controller.signal;
    let done = false;
    try {
      while (true) {
        while (call.credit === 0 && !signal.aborted) {
          await new Promise<void>((resolve) => call.wake = resolve);
        }
        signal.throwIfAborted();
        const result = await iterator.next();
        if (result.done) {
          done = true;
          return;
        }
        signal.throwIfAborted();
        call.credit--;
        send(result.value);
      }
    } finally {
      if (!done) {
        try {
          await iterator.return?.();
        } catch {
          // The stream already failed or was cancelled: its own error stands.
        }
      }
    }
  }

  #abort(call: ServedCall, reason: unknown): void {
    call.controller.abort(reason);
    this.#wake(call);
  }

  #wake(call: ServedCall): void {
    const wake = call.wake;
    call.wake = undefined;
    wake?.();
  }
}
