// The sender's half of a bounded mailbox. The actor returns one credit per
// message that leaves its mailbox; the outbox never has more than `capacity`
// messages in flight. What happens to a message sent while the mailbox is full
// is the overflow policy. Messages are coalesced into one transport batch per
// tick.

import { FrameTooLargeError, MailboxFullError } from "../../internal/errors.ts";
import { Coalescer } from "./_coalesce.ts";
import { type BatchKind, UNKNOWN_KIND } from "../../internal/batch.ts";
import { watchDeadline } from "../../internal/abort.ts";
import { Fifo } from "../../internal/fifo.ts";
import { ABORTABLE_ASK, ASK } from "./protocol.ts";

/**
 * What a full mailbox does with one more message:
 * - `"backpressure"`: `tell` returns a promise that resolves once the
 *   message is in the mailbox; up to `capacity` messages wait in the sender,
 *   one more throws `MailboxFullError` (the sender ignored the promises).
 * - `"drop-oldest"`: the oldest message still waiting in the sender is
 *   dropped (a dead letter) to make room; `tell` never waits.
 * - `"drop-newest"`: the new message is dropped (a dead letter).
 * - `"fail"`: `tell` throws `MailboxFullError` at once.
 */
export type OverflowPolicy = "backpressure" | "drop-oldest" | "drop-newest" | "fail";

/** The overflow policies, for validation. */
export const OVERFLOW_POLICIES: readonly OverflowPolicy[] = [
  "backpressure",
  "drop-oldest",
  "drop-newest",
  "fail",
];

interface Waiting {
  message: unknown[];
  kind: BatchKind;
  bytes: number;
  counted: boolean;
  /** Set for a `tell` that waits for room (backpressure). */
  resolve?: () => void;
  reject?: (error: unknown) => void;
  /** Stops watching the waiting tell's signal and deadline. */
  stopWatching?: () => void;
  /** The buffers the message moves (see `WaitOptions.transfer`). */
  transfer?: readonly Transferable[] | undefined;
}

/** What a waiting `tell` may give up on, and what it moves (see `TellOptions`). */
export interface WaitOptions {
  timeout?: number;
  signal?: AbortSignal;
  /** Buffers the batch carrying this message moves rather than copies, where the channel can. */
  transfer?: readonly Transferable[];
}

/**
 * A payload whose size estimate is at least this fraction of the frame limit
 * is sent alone (see `Outbox.push`): its encoding may take several times the
 * estimate (JSON escapes a control character in six bytes).
 */
const LARGE_FRACTION = 16;

/** What `push` returns when the message is queued for sending now: one shared settled promise. */
export const SENT: Promise<void> = Promise.resolve();

/**
 * Sends a batch, with its kind when the outbox knows it; returns a promise
 * when the caller must wait before the next one.
 */
export type SendBatch = (
  batch: unknown[],
  kind: BatchKind | undefined,
  transfer: Transferable[] | undefined,
) => void | Promise<void>;

export class Outbox {
  readonly capacity: number;
  readonly policy: OverflowPolicy;
  /** Messages sent and not yet credited back. */
  inflight = 0;
  #actorId: string;
  #send: SendBatch;
  #onDrop: (message: unknown[]) => void;
  #onSendError: (error: unknown, batch: unknown[][], written: boolean) => void | Promise<void>;
  #waiting: Waiting[] = [];
  #waitingHead = 0;
  #batch: Coalescer<unknown[]> = new Coalescer((batch, kind) => this.#flush(batch, kind));
  #closed: unknown = undefined;
  #maxFrameBytes: number | undefined;
  /** The transfer lists of messages in the coalescer (see `WaitOptions.transfer`). */
  #transfers = new WeakMap<unknown[], readonly Transferable[]>();
  /** Messages in `#transfers`: a batch is looked through only while some are. */
  #transferring = 0;
  /**
   * Something other than an ask (a tell, a control message, the sentinel) is
   * in the coalescer: its batch is not held (see `#holdAsks`).
   */
  #urgent = false;
  /** Messages ever credited back (see `credit()`). */
  #credited = 0;
  /**
   * For each batch sent and not yet wholly credited, oldest first: the count
   * `#credited` reaches once it is (a `Fifo`, so an actor that never quite
   * catches up does not grow it by one entry per batch for good).
   */
  #bounds = new Fifo<number>();

  constructor(
    actorId: string,
    capacity: number,
    policy: OverflowPolicy,
    send: SendBatch,
    onDrop: (message: unknown[]) => void,
    onSendError: (error: unknown, batch: unknown[][], written: boolean) => void | Promise<void>,
  ) {
    this.#actorId = actorId;
    this.capacity = capacity;
    this.policy = policy;
    this.#send = send;
    this.#onDrop = onDrop;
    this.#onSendError = onSendError;
    this.#batch.hold = this.#holdAsks;
  }

  /**
   * Whether the open batch, asks only, waits (Nagle's rule, with room for
   * two batches): while two batches sent to the actor are not yet wholly
   * credited back, asks issued in later turns join the open batch, and it
   * leaves with the turn of the credit that settles the older one (see
   * `credit()`). Batches split on the way (a reply released alone before a
   * handler that may run long, a credit mid-batch) so merge again, instead of
   * going on as single messages, one post and one event on each side per
   * message; two in flight keep the actor busy while its replies to the other
   * are handled here. An ask waits only behind two batches the actor has not
   * yet taken from its mailbox (it credits once its mailbox is empty), so a
   * lone ask, or one with a single batch ahead, is never held. Anything but
   * an ask is never held, and takes the held asks along.
   */
  #holdAsks = (): boolean => !this.#urgent && this.#bounds.length >= 2;

  /** Entries the credit bounds' array holds, live or consumed (a test watches it stay bounded). */
  get creditBoundsKept(): number {
    return this.#bounds.items.length;
  }

  /** Messages waiting in the sender for room in the mailbox. */
  get waiting(): number {
    return this.#waiting.length - this.#waitingHead;
  }

  /**
   * Queues a message. `counted: false` is for the stop sentinel: it takes no
   * room but keeps its place behind every message sent before it.
   * `kind` is what the sender found walking the message, for the codec, and
   * `bytes` the payload size it estimated.
   * Returns a settled promise when the message is queued for sending now.
   */
  push(
    message: unknown[],
    counted = true,
    kind: BatchKind = UNKNOWN_KIND,
    bytes = 0,
    options?: WaitOptions,
  ): Promise<void> {
    if (this.#closed !== undefined) throw this.#closed;
    const transfer = options?.transfer?.length ? options.transfer : undefined;
    if (!counted) {
      if (this.waiting > 0) {
        this.#waiting.push({ message, kind, bytes, counted, transfer });
      } else this.#enqueue(message, kind, bytes, transfer);
      return SENT;
    }
    if (this.inflight < this.capacity && this.waiting === 0) {
      this.inflight++;
      if (this.#large(bytes)) this.#sendAlone(message, kind, transfer);
      else this.#enqueue(message, kind, bytes, transfer);
      return SENT;
    }
    switch (this.policy) {
      case "fail":
        throw new MailboxFullError(this.#actorId, this.capacity);
      case "drop-newest":
        this.#onDrop(message);
        return SENT;
      case "drop-oldest":
        if (this.waiting >= this.capacity) this.#dropOldestWaiting();
        this.#waiting.push({ message, kind, bytes, counted, transfer });
        return SENT;
      case "backpressure":
        if (this.waiting >= this.capacity) {
          throw new MailboxFullError(this.#actorId, this.capacity, {
            cause: new Error(
              `${this.waiting} more messages already wait for room: await the promise tell returns`,
            ),
          });
        }
        return new Promise<void>((resolve, reject) => {
          const entry: Waiting = { message, kind, bytes, counted, resolve, reject, transfer };
          this.#waiting.push(entry);
          if (options?.signal === undefined && options?.timeout === undefined) return;
          // The caller gives up: the message leaves the queue unsent, its place to the next.
          entry.stopWatching = watchDeadline(options.signal, options.timeout, (reason) => {
            const at = this.#waiting.indexOf(entry, this.#waitingHead);
            if (at < 0) return;
            this.#waiting.splice(at, 1);
            reject(reason);
          });
          entry.resolve = () => {
            entry.stopWatching!();
            resolve();
          };
          entry.reject = (error) => {
            entry.stopWatching!();
            reject(error);
          };
        });
    }
  }

  #dropOldestWaiting(): void {
    for (let i = this.#waitingHead; i < this.#waiting.length; i++) {
      const entry = this.#waiting[i]!;
      if (!entry.counted) continue;
      this.#waiting.splice(i, 1);
      this.#onDrop(entry.message);
      return;
    }
  }

  /**
   * Sends a control message (an answer to the actor's own request) at once:
   * it takes no room and does not wait behind messages held for room, or an
   * actor blocked on the answer could never make room.
   */
  pushControl(message: unknown[]): void {
    if (this.#closed !== undefined) return;
    this.#enqueue(message, UNKNOWN_KIND);
  }

  /**
   * The actor reports that `n` messages left its mailbox. With `release`
   * false (a dying actor's last word) the room it frees goes to nobody.
   */
  credit(n: number, release = true): void {
    this.#credited += Math.min(n, this.inflight);
    this.inflight = Math.max(0, this.inflight - n);
    // Asks held behind a batch now wholly credited leave with this turn (see `#holdAsks`).
    const bounds = this.#bounds;
    if (!bounds.empty && bounds.first! <= this.#credited) {
      while (!bounds.empty && bounds.first! <= this.#credited) bounds.shift();
      this.#batch.release();
    }
    while (release && this.waiting > 0) {
      const entry = this.#waiting[this.#waitingHead]!;
      if (entry.counted) {
        if (this.inflight >= this.capacity) break;
        this.inflight++;
      }
      this.#waiting[this.#waitingHead++] = undefined as unknown as Waiting;
      if (entry.counted && this.#large(entry.bytes)) {
        // Its exact size is known only once encoded: sent alone, as at once.
        try {
          this.#sendAlone(entry.message, entry.kind, entry.transfer);
        } catch (error) {
          // FrameTooLargeError, nothing of it sent and its room given back:
          // the waiting tell rejects; a tell that did not wait is a dead letter.
          if (entry.reject) entry.reject(error);
          else this.#onDrop(entry.message);
          continue;
        }
      } else this.#enqueue(entry.message, entry.kind, entry.bytes, entry.transfer);
      entry.resolve?.();
    }
    if (this.#waitingHead > 0 && this.waiting === 0) {
      this.#waiting = [];
      this.#waitingHead = 0;
    }
  }

  /**
   * Refuses further messages with `error`, and hands back the messages that
   * never left the sender (each waiting `tell` promise rejects with `error`).
   */
  close(error: unknown): unknown[][] {
    if (this.#closed !== undefined) return [];
    this.#closed = error;
    const unsent: unknown[][] = this.#batch.take();
    for (let i = this.#waitingHead; i < this.#waiting.length; i++) {
      const entry = this.#waiting[i]!;
      unsent.push(entry.message);
      entry.reject?.(error);
    }
    this.#waiting = [];
    this.#waitingHead = 0;
    return unsent;
  }

  /**
   * Whether a payload this size may come near the frame limit once encoded
   * (its estimate is a lower bound: text can take a few bytes a character).
   */
  #large(bytes: number): boolean {
    return this.#maxFrameBytes !== undefined && bytes * LARGE_FRACTION >= this.#maxFrameBytes;
  }

  /**
   * Sends a large message now, alone, after what was queued before it, so
   * that a frame the transport refuses (`FrameTooLargeError`: the envelope
   * and the encoding count, not just the payload) throws at the sender, as
   * if it never was sent. While the channel is full (the coalescer is
   * paused) the batches held back go first, and then this one: the channel
   * queues what it has no room for, and only a send tells the exact size.
   * What is held is bounded by the mailbox's capacity.
   */
  #sendAlone(
    message: unknown[],
    kind: BatchKind,
    transfer: readonly Transferable[] | undefined,
  ): void {
    if (this.#batch.paused) this.#batch.flushHeld();
    else this.#batch.flush();
    const batch = [message];
    let pending: void | Promise<void>;
    try {
      pending = this.#send(batch, kind, transfer && [...transfer]);
    } catch (error) {
      if (error instanceof FrameTooLargeError) {
        this.inflight--;
        throw error;
      }
      pending = this.#onSendError(error, batch, false);
    }
    this.#hold(pending, batch);
  }

  #enqueue(
    message: unknown[],
    kind: BatchKind,
    bytes = 0,
    transfer?: readonly Transferable[],
  ): void {
    if (transfer !== undefined) {
      this.#transfers.set(message, transfer);
      this.#transferring++;
    }
    if (message[0] !== ASK && message[0] !== ABORTABLE_ASK) this.#urgent = true;
    this.#batch.push(message, kind, bytes);
  }

  /** Payload bytes after which a batch is sent (the transport's `batchBytes`). */
  set batchBytes(bytes: number) {
    this.#batch.maxBytes = bytes;
  }

  /** The transport's frame limit: a message that may come near it is sent alone, at once. */
  set maxFrameBytes(bytes: number) {
    this.#maxFrameBytes = bytes;
  }

  #flush(batch: unknown[][], kind: BatchKind | undefined): void {
    if (this.#batch.size === 0) this.#urgent = false;
    if (this.#closed !== undefined) return;
    this.#sentBatch();
    let pending: void | Promise<void>;
    try {
      pending = this.#send(batch, kind, this.#transferOf(batch));
    } catch (error) {
      // The batch did not go out; the owner may resend it piecewise. Later
      // messages wait so that order is kept.
      pending = this.#onSendError(error, batch, false);
    }
    this.#hold(pending, batch);
  }

  /**
   * Counts a batch handed to the channel as in flight until the actor has
   * credited everything sent so far (what still waits in the coalescer
   * aside; its uncounted messages make the bound low, never high).
   */
  #sentBatch(): void {
    const bound = this.#credited + this.inflight - this.#batch.size;
    const bounds = this.#bounds;
    if (bound <= this.#credited) return;
    if (!bounds.empty && bounds.last! >= bound) return;
    bounds.push(bound);
  }

  /** The buffers the messages of `batch` move, each once; `undefined` when none does. */
  #transferOf(batch: unknown[][]): Transferable[] | undefined {
    if (this.#transferring === 0) return undefined;
    let transfer: Set<Transferable> | undefined;
    for (const message of batch) {
      const list = this.#transfers.get(message);
      if (list === undefined) continue;
      this.#transfers.delete(message);
      this.#transferring--;
      transfer ??= new Set();
      for (const item of list) transfer.add(item);
    }
    return transfer && [...transfer];
  }

  /** Holds the next batches back until a send that asked to wait is done. */
  #hold(pending: void | Promise<void>, batch: unknown[][]): void {
    if (pending) {
      this.#batch.pause();
      pending.then(
        () => this.#batch.resume(),
        (error) => this.#onSendError(error, batch, true),
      );
    }
  }
}
