// What becomes of a message the cell could not deliver: one its outbox
// dropped (the mailbox was full, or the actor had stopped) and one whose
// batch failed to encode or write. An ask or a stream call rejects its
// caller; a tell is a dead letter; the answer to the actor's own call fails
// that call instead; a stop sentinel that cannot go means the actor is lost.
// A batch that met a channel its actor already closed is left for the
// actor's exit, which is on its way: its callers then learn why the actor
// ended (a crash a pool retries), not that the channel was closed.

import type { DeadLetter } from "./actor_ref.ts";
import {
  ConnectionClosedError,
  type CrashReason,
  MailboxFullError,
} from "../../internal/errors.ts";
import type { Outbox } from "./outbox.ts";
import type { PendingCalls } from "./_pending_calls.ts";
import { ABORTABLE_ASK, ASK, RESULT, serializeError, STOP, STREAM, TRACED } from "./protocol.ts";

/** What the undelivered messages of one cell reach. */
export interface UndeliveredKit {
  readonly id: string;
  readonly pending: PendingCalls;
  readonly outbox: Outbox;
  /** Sends one batch again, on its own. */
  send(batch: unknown[][]): void | Promise<void>;
  /** Whether the actor's exit is decided. */
  ended(): boolean;
  deadLetter(letter: DeadLetter): void;
  crash(reason: CrashReason, error: Error): void;
  /**
   * A send met a closed channel: the actor's exit follows (the channel's
   * end is one), and settles what could not go; the kit bounds the wait.
   */
  channelGone(error: ConnectionClosedError): void;
}

/** A cell's messages that could not go. */
export class Undelivered {
  #kit: UndeliveredKit;

  constructor(kit: UndeliveredKit) {
    this.#kit = kit;
  }

  /** A message the outbox dropped, for `reason`: its caller learns, or it is a dead letter. */
  dropped(message: unknown[], reason: string): void {
    const kit = this.#kit;
    message = untraced(message);
    if (isCall(message)) {
      const pending = kit.pending.take(message[1] as number);
      pending?.reject(new MailboxFullError(kit.id, kit.outbox.capacity));
      return;
    }
    kit.deadLetter({ actorId: kit.id, messageName: message[1] as string, reason, count: 1 });
  }

  // A batch failed to encode or write. Payloads were checked when sent, so
  // this is rare: a message over the frame limit, or a closed channel. Send
  // the messages one by one so that one bad message fails alone, in order.
  /** A batch that failed to go; `written` when the channel broke under its write. */
  async sendFailed(error: unknown, batch: unknown[][], written: boolean): Promise<void> {
    if (error instanceof ConnectionClosedError) {
      // Nothing of it reached the actor: its asks stay pending and its tells
      // in flight, and the exit rejects and counts them.
      this.#kit.channelGone(error);
      return;
    }
    if (written) {
      // The channel broke under a write already under way: the actor is lost.
      this.#kit.crash("error", new Error("The actor's channel failed", { cause: error }));
      return;
    }
    if (batch.length === 1) {
      this.#undeliverable(batch[0]!, error);
      return;
    }
    for (const message of batch) {
      if (this.#kit.ended()) return;
      try {
        await this.#kit.send([message]);
      } catch (failure) {
        if (failure instanceof ConnectionClosedError) {
          this.#kit.channelGone(failure);
          return;
        }
        this.#undeliverable(message, failure);
      }
    }
  }

  #undeliverable(message: unknown[], error: unknown): void {
    const kit = this.#kit;
    message = untraced(message);
    if (message[0] === STOP) {
      kit.crash("error", new Error("Cannot send the stop sentinel", { cause: error }));
      return;
    }
    if (message[0] === RESULT) {
      // The answer to the actor's own call (a queue item that cannot be
      // cloned, say) took no room, and the actor waits for it: fail the call.
      // A failure that cannot go either means the channel is broken.
      if (message[2] === true) {
        kit.outbox.pushControl([RESULT, message[1], false, serializeError(error)]);
      }
      return;
    }
    kit.outbox.credit(1);
    if (isCall(message)) {
      kit.pending.take(message[1] as number)?.reject(error);
      return;
    }
    kit.deadLetter({
      actorId: kit.id,
      messageName: message[1] as string,
      reason: `cannot send: ${error instanceof Error ? error.message : String(error)}`,
      count: 1,
    });
  }
}

/** The message inside a `TRACED` envelope, or the message itself. */
function untraced(message: unknown[]): unknown[] {
  return message[0] === TRACED ? message[2] as unknown[] : message;
}

/** Whether a message is a call a caller waits on: an ask or a stream. */
function isCall(message: unknown[]): boolean {
  return message[0] === ASK || message[0] === ABORTABLE_ASK || message[0] === STREAM;
}
