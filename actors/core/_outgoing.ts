// Everything the actor's side sends its parent (replies, failures, dead
// letters, credits, lifecycle reports, calls) goes through one `Outgoing`:
// it coalesces the messages into batches, holds them back while the channel
// is full, turns a reply that cannot be encoded into a failure of its ask,
// and counts the credits the mailbox owes. Once closed, nothing more leaves.

import type { Transport } from "../../transports/transport.ts";
import { Coalescer, hintsFor } from "./_coalesce.ts";
import { type BatchKind, PLAIN_KIND, UNKNOWN_KIND } from "../../internal/batch.ts";
import { PayloadInspector } from "../../internal/payload.ts";
import { noop } from "../../internal/abort.ts";
import { privatize } from "../../internal/lent.ts";
import type { LocalSettle } from "./extension.ts";
import {
  CREDIT,
  DEAD_LETTER,
  expectsReply,
  FAIL,
  ITEM,
  LOCAL,
  REPLY,
  serializeError,
  TELL,
  TELLS,
} from "./protocol.ts";

/** One protocol message (see `protocol.ts`). */
export type Message = unknown[];

/** The actor's outgoing half of its channel to the parent. */
export class Outgoing {
  #transport: Transport;
  #out: Coalescer<Message>;
  #inspector = new PayloadInspector();
  /** The write the channel asked to wait for, while it lasts. */
  #sending: Promise<void> | undefined;
  #closed = false;
  /** Something other than a credit was posted since the last `release()`. */
  #due = false;
  /** Messages that left the mailbox since the last credit. */
  #uncredited = 0;
  #creditEvery: number;
  #broken: (error: unknown) => void;
  #lending = false;

  /**
   * @param transport The actor's end of the channel.
   * @param capacity The mailbox's capacity: credits go back every eighth of it.
   * @param broken Called when a write the channel was waiting on fails: the actor is lost.
   */
  constructor(transport: Transport, capacity: number, broken: (error: unknown) => void) {
    this.#transport = transport;
    this.#broken = broken;
    this.#creditEvery = Math.max(1, Math.floor(capacity / 8));
    this.#out = new Coalescer<Message>((batch, kind) => this.#deliver(batch, kind));
    if (transport.batchBytes !== undefined) this.#out.maxBytes = transport.batchBytes;
  }

  /** `true` once the actor has ended: nothing more goes to the parent. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * From now on, lent byte arrays in what is posted are copied first: a post
   * may be encoded after the memory they view was reused (see `internal/lent.ts`).
   */
  lend(): void {
    this.#lending = true;
  }

  /** Queues a message; `kind` says what travels in it, when known (see `PayloadInspector`). */
  post(message: Message, kind: BatchKind = UNKNOWN_KIND, bytes = 0): void {
    // A credit alone may wait for the next batch; anything else is an answer someone awaits.
    if (message[0] !== CREDIT) this.#due = true;
    if (this.#lending && kind !== PLAIN_KIND) message = privatize(message) as Message;
    this.#out.push(message, kind, bytes);
  }

  /** `true` when something other than a credit waits to be released (see `release()`). */
  get due(): boolean {
    return this.#due;
  }

  /**
   * Hands what was posted (replies, failures, dead letters, calls) to the
   * channel before the actor runs a handler that may hold its thread: it
   * leaves now rather than after that handler. Returns a promise when the
   * channel writes only once the thread is back in its event loop (a pipe or
   * socket stream): the handler may start once it resolves (it never
   * rejects). Does nothing when only credits wait, or while the channel is
   * full (what waits leaves as soon as it has room).
   */
  release(): void | Promise<void> {
    if (!this.#due || this.#closed || this.#sending) return;
    this.#due = false;
    this.#out.flush();
    if (this.#sending) return;
    return this.#transport.flush?.();
  }

  /** Sends what is queued now rather than a few microtask turns later. */
  flush(): void {
    this.#out.flush();
  }

  /**
   * Answers a handled message: `message` is its envelope, `ok` whether the
   * handler returned (`value`) or threw (`value` is the error).
   */
  settle(message: Message, ok: boolean, value: unknown): void {
    if (message[0] === LOCAL) return (message[1] as LocalSettle)(ok, value);
    if (expectsReply(message[0])) {
      if (ok) {
        try {
          if (value === undefined) {
            // Read back as undefined, and keeps the batch plain data (see ActorCell.tell).
            this.post([REPLY, message[1]], PLAIN_KIND);
          } else {
            const bytes = this.#inspector.inspect(value, "reply");
            this.post([REPLY, message[1], value], this.#inspector.kind, bytes);
          }
        } catch (error) {
          this.post([FAIL, message[1], serializeError(error), false], PLAIN_KIND);
        }
      } else this.post([FAIL, message[1], serializeError(value), false], PLAIN_KIND);
    } else if (!ok) {
      // A tell has nobody to answer; the error is reported as a dead letter.
      this.post(
        [DEAD_LETTER, message[1], `handler threw ${serializeError(value).message}`],
        PLAIN_KIND,
      );
    }
  }

  /**
   * Sends one item of stream `id`. Throws, sending nothing, when the item
   * cannot travel (the stream then fails with that error).
   */
  item(id: number, value: unknown): void {
    if (value === undefined) {
      this.post([ITEM, id], PLAIN_KIND);
      return;
    }
    const bytes = this.#inspector.inspect(value, "item");
    this.post([ITEM, id, value], this.#inspector.kind, bytes);
  }

  /** Answers a message to a name the actor has no handler for. */
  unknown(message: Message, name: string): void {
    if (message[0] === LOCAL) return (message[1] as LocalSettle)(false, undefined, "unknown");
    if (expectsReply(message[0])) {
      this.post([FAIL, message[1], serializeError(new Error("unknown")), true], PLAIN_KIND);
    } else this.post([DEAD_LETTER, name, "unknown message"], PLAIN_KIND);
  }

  /** Answers a message that arrived after the stop sentinel and will not be handled. */
  refuse(message: Message): void {
    if (message[0] === LOCAL) return (message[1] as LocalSettle)(false, undefined, "stopped");
    if (expectsReply(message[0])) {
      this.post([FAIL, message[1], serializeError(new Error("stopped")), false]);
    } else if (message[0] === TELL) this.post([DEAD_LETTER, message[1], "sent after stop"]);
    else if (message[0] === TELLS) {
      // Untouched: the sentinel before it was taken only after the run ahead of it ended.
      for (const _ of message[2] as unknown[]) {
        this.post([DEAD_LETTER, message[1], "sent after stop"]);
      }
    }
  }

  /** Counts one message that left the mailbox (handled or answered), to be credited. */
  left(): void {
    this.#uncredited++;
  }

  /** Once enough messages left the mailbox, credits them and sends at once. */
  creditIfDue(): void {
    if (this.#uncredited >= this.#creditEvery) {
      this.credit(false);
      this.flush();
    }
  }

  /** Queues a credit for the messages that left the mailbox: when `force`, however few. */
  credit(force: boolean): void {
    if (this.#uncredited > 0 && (force || this.#uncredited >= this.#creditEvery)) {
      this.post([CREDIT, this.#uncredited], PLAIN_KIND);
      this.#uncredited = 0;
    }
  }

  #deliver(batch: Message[], kind: BatchKind | undefined): void {
    if (this.#closed) return;
    let pending: void | Promise<void>;
    try {
      pending = this.#transport.send(batch, hintsFor(kind, false));
    } catch {
      pending = this.#sendOneByOne(batch);
    }
    if (pending) {
      this.#out.pause();
      this.#sending = pending.then(() => {
        this.#sending = undefined;
        this.#out.resume();
      }, (error) => this.#broken(error));
    }
  }

  // A batch failed to encode (a reply over the frame limit, say): send it
  // message by message, in order, turning a reply (or a stream's item) that
  // cannot go into a failure of that ask. Anything else failing means the channel is broken,
  // and the rejection ends the actor through #deliver().
  async #sendOneByOne(batch: Message[]): Promise<void> {
    for (const message of batch) {
      try {
        await this.#transport.send([message]);
      } catch (error) {
        if (message[0] !== REPLY && message[0] !== ITEM) throw error;
        await this.#transport.send([[FAIL, message[1], serializeError(error), false]]);
      }
    }
  }

  /** Resolves once everything queued has left (or the actor ended meanwhile). */
  async drain(): Promise<void> {
    while (this.#sending || this.#out.size > 0) {
      if (this.#sending) await this.#sending.catch(noop);
      else this.#out.flush();
      if (this.#closed) return;
    }
  }

  /**
   * Sends everything queued at once, past a full channel, then `last` alone
   * when given: best effort, for an actor that is going away.
   */
  flushNow(last?: Message): void {
    if (this.#closed) return;
    const batch = this.#out.take();
    if (batch.length > 0) {
      try {
        void this.#transport.send(batch);
      } catch {
        // Best effort: the actor is going away.
      }
    }
    if (last === undefined) return;
    try {
      void this.#transport.send([last]);
    } catch {
      // The channel itself is broken; the host's error path reports it.
    }
  }

  /** Lets nothing more go to the parent. */
  close(): void {
    this.#closed = true;
  }
}
