// The caller's side of the asks and streams an actor has not answered yet:
// their ids, how each settles, and the cancels sent when a caller gives up
// (its signal aborts or its timeout passes), so the handler hears of it.

import { watchDeadline } from "../../internal/abort.ts";
import { CANCEL, PULL } from "./protocol.ts";

/** One ask or stream waiting for its answer. */
export interface PendingCall {
  /** The handler's name, for the errors. */
  name: string;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  /** Cancels its deadline, when it has one. */
  cleanup: (() => void) | undefined;
  /** A stream's: takes each of its items. */
  item?: (value: unknown) => void;
}

/** The reason a `CANCEL` names: the caller's timeout, or any other abort. */
function cancelName(reason: unknown): string {
  return reason instanceof DOMException && reason.name === "TimeoutError"
    ? "TimeoutError"
    : "AbortError";
}

/** The asks and streams of one actor incarnation still waiting, by id. */
export class PendingCalls {
  #calls = new Map<number, PendingCall>();
  #next = 1;
  #control: (message: unknown[]) => void;

  /** @param control Sends a control message to the actor, past the mailbox's room. */
  constructor(control: (message: unknown[]) => void) {
    this.#control = control;
  }

  /** How many wait. */
  get size(): number {
    return this.#calls.size;
  }

  /** Registers a call; returns its id. */
  add(call: PendingCall): number {
    const id = this.#next++;
    this.#calls.set(id, call);
    return id;
  }

  /** Removes and returns call `id` (it is being answered), when it still waits. */
  take(id: number): PendingCall | undefined {
    const call = this.#calls.get(id);
    if (call === undefined) return undefined;
    this.#calls.delete(id);
    call.cleanup?.();
    return call;
  }

  /**
   * Sends call `id` with `push` (the outbox's promise, or `sent`). A refusal
   * later rejects the call; one now rejects it too, or, when `rethrow`,
   * forgets it and throws.
   */
  send(id: number, push: () => Promise<void>, sent: Promise<void>, rethrow = false): void {
    let queued: Promise<void>;
    try {
      queued = push();
    } catch (error) {
      if (!rethrow) return this.#reject(id, error);
      this.#calls.delete(id);
      throw error;
    }
    if (queued !== sent) queued.catch((error) => this.#reject(id, error));
  }

  /** Bounds call `id` by its caller's signal and timeout: on either, it is cancelled. */
  arm(id: number, signal: AbortSignal | undefined, timeout: number | undefined): void {
    const call = this.#calls.get(id);
    if (call) call.cleanup = watchDeadline(signal, timeout, (reason) => this.cancel(id, reason));
  }

  /** The caller gave up on call `id`: it rejects now, and the actor is told (its handler's signal aborts). */
  cancel(id: number, reason: unknown): void {
    if (!this.#calls.has(id)) return;
    this.#reject(id, reason);
    this.#control([CANCEL, id, cancelName(reason)]);
  }

  /** One item of stream `id`; one for a stream given up on makes sure the actor knows. */
  item(id: number, value: unknown): void {
    const call = this.#calls.get(id);
    if (call?.item) call.item(value);
    else this.#control([CANCEL, id, "AbortError"]);
  }

  /** Gives the actor credit for `n` more items of stream `id`, while it runs. */
  pull(id: number, n: number): void {
    if (this.#calls.has(id)) this.#control([PULL, id, n]);
  }

  /** The actor has ended: every call rejects with `error`. */
  rejectAll(error: unknown): void {
    for (const call of this.#calls.values()) {
      call.cleanup?.();
      call.reject(error);
    }
    this.#calls.clear();
  }

  #reject(id: number, reason: unknown): void {
    this.take(id)?.reject(reason);
  }
}
