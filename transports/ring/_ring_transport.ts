/**
 * One end of a `ring` channel, {@linkcode RingTransport}: it writes one ring
 * and reads the other, queues what waits for room, and asks the wait policy
 * when to spin, block or sleep. `ring.ts` states its guarantees and opens it.
 *
 * @module
 */

import {
  ConnectionClosedError,
  FrameTooLargeError,
  ProtocolError,
} from "../../internal/channel_errors.ts";
import {
  READER_SLEEP,
  RECORD_ALIGN,
  RECORD_HEADER_BYTES,
  ringCapacity,
  RingReader,
  RingWriter,
  WRITER_WAIT,
} from "./_ring.ts";
import type { Codec } from "../codec.ts";
import { FrameCodec } from "../framing/frame_codec.ts";
import { emptyStats, type SendHints, type Transport, type TransportStats } from "../transport.ts";
import { WaitPolicy } from "./_wait_policy.ts";

/** Largest {@linkcode RingTransport.batchBytes}. */
const BATCH_BYTES = 128 * 1024;

interface PendingWrite {
  /** The payload bytes not yet written, from payload offset `base` on. */
  frame: Uint8Array;
  base: number;
  length: number;
  done: number;
  resolve: () => void;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/** One end of a `ring` channel: writes one ring, reads the other. */
export class RingTransport implements Transport, AsyncDisposable {
  readonly name = "ring";
  /** The largest encoded message this end sends. */
  readonly maxFrameBytes: number;
  /**
   * A quarter of the ring, at most 128 KiB: the receiver copies a batch out
   * and decodes it while the sender writes the next, and it copies a batch
   * (which ends up to one message past this size) into a pooled buffer rather
   * than one of its own.
   */
  readonly batchBytes: number;
  #out: RingWriter;
  #in: RingReader;
  #codec: FrameCodec;
  #maxBytes: number;
  #stats = emptyStats();
  #closed = false;
  #roomWanted: number;

  // Receiving.
  #receiving = false;
  #ended = false;
  #frames: Uint8Array[] = [];
  #frameIndex = 0;
  /** The batch last delivered was decoded from a lent record, given back at the next poll. */
  #lentOut = false;

  // Spinning, sleeping, fairness and keep-alive.
  readonly #wait: WaitPolicy;

  // Sending.
  #queue: PendingWrite[] = [];
  #pumping = false;

  constructor(
    inbound: SharedArrayBuffer,
    outbound: SharedArrayBuffer,
    codec: Codec,
    maxFrameBytes: number,
    spinMs: number,
    backoffReplies = false,
  ) {
    this.#codec = new FrameCodec(codec);
    this.#in = new RingReader(inbound, maxFrameBytes, this.#codec.reusable);
    this.#out = new RingWriter(outbound);
    this.#maxBytes = maxFrameBytes;
    this.maxFrameBytes = maxFrameBytes;
    this.#wait = new WaitPolicy(this.#in, this.#out, spinMs, backoffReplies);
    this.#roomWanted = Math.max(RECORD_HEADER_BYTES, ringCapacity(outbound) / 4);
    this.batchBytes = Math.min(this.#roomWanted, BATCH_BYTES);
  }

  send(messages: readonly unknown[], hints?: SendHints): void | Promise<void> {
    if (this.#closed) throw new ConnectionClosedError("send", "local");
    if (this.#out.readerClosed()) throw new ConnectionClosedError("send", "peer");
    const codec = this.#codec;
    const frame = codec.encode(messages, hints?.kind);
    const length = codec.length;
    if (length > this.#maxBytes) throw new FrameTooLargeError(length, this.#maxBytes);
    const stats = this.#stats;
    stats.messagesSent += messages.length;
    stats.batchesSent++;
    stats.bytesSent += length;
    if (hints?.quiet !== true) this.#wait.arm();
    let done = 0;
    if (this.#queue.length === 0) {
      const out = this.#out;
      const total = length + RECORD_HEADER_BYTES;
      done = out.write(frame, length, 0);
      if (done === total) return;
      // The ring is full, and its reader frees room soon: wait for it here,
      // holding the thread for at most the spin the pump would make, so that
      // the frame need not be copied to wait in the queue.
      const wait = this.#wait;
      const deadline = wait.roomDeadline();
      while (wait.spinForRoom(this.#roomFor(total, done), deadline) && !out.readerClosed()) {
        const before = done;
        done = out.write(frame, length, done);
        if (done === total) return;
        if (done === before) break;
      }
    }
    const { rest, base } = codec.keep(frame, Math.max(0, done - RECORD_HEADER_BYTES));
    return new Promise<void>((resolve) => {
      this.#queue.push({ frame: rest, base, length, done, resolve });
      if (!this.#pumping) this.#pump();
    });
  }

  /**
   * From now on, byte arrays in received batches of at least 4 KiB may be
   * views of the ring's shared memory rather than copies, valid until the
   * receive iterator's next `next()` call: the ring's space stays taken
   * until then. Only the built-in codec's binary frames are lent.
   *
   * @returns Whether this end lends (`false` for a custom or JSON codec).
   */
  lendBytes(): boolean {
    const lendable = this.#codec.lendable;
    if (lendable === undefined) return false;
    this.#in.lend(lendable);
    return true;
  }

  receive(): AsyncIterable<unknown[]> {
    if (this.#receiving) {
      throw new TypeError("Cannot receive: receive() was already called on this transport");
    }
    this.#receiving = true;
    const iterator: AsyncIterator<unknown[]> = {
      next: () => this.#next(),
      return: () => {
        this.#ended = true;
        this.#wait.wake();
        return Promise.resolve(DONE);
      },
    };
    return { [Symbol.asyncIterator]: () => iterator };
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    // A batch cut off mid-record is dropped by the peer, not reported as truncated.
    const cut = this.#queue.length > 0 && this.#queue[0]!.done > 0;
    // Reader first: once the peer sees this end's stream end, it must also see
    // that nobody reads what it sends (its send() then throws at once).
    this.#in.closeReader();
    this.#out.closeWriter(cut);
    // Wake this end's own waiters: the receiver and a send waiting for room.
    Atomics.notify(this.#in.words, READER_SLEEP);
    Atomics.notify(this.#out.words, WRITER_WAIT);
    this.#wait.close();
    const queue = this.#queue;
    this.#queue = [];
    for (const pending of queue) pending.resolve();
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  stats(): TransportStats {
    return { ...this.#stats };
  }

  // ---- Receiving ----

  #next(): Promise<IteratorResult<unknown[]>> {
    if (this.#ended) return Promise.resolve(DONE);
    try {
      let batch = this.#poll();
      // A reply to what this end just sent is likely: wait for it here.
      if (batch === undefined && !this.#ended && this.#wait.spinForReply()) batch = this.#poll();
      if (batch !== undefined) return this.#wait.deliver(batch);
      if (this.#ended) return Promise.resolve(DONE);
    } catch (error) {
      this.#ended = true;
      return Promise.reject(error);
    }
    return this.#sleepingNext();
  }

  async #sleepingNext(): Promise<IteratorResult<unknown[]>> {
    const wait = this.#wait;
    wait.ref();
    try {
      while (true) {
        await wait.sleep();
        const batch = this.#poll();
        if (batch !== undefined) {
          wait.flowing = true;
          return { value: batch, done: false };
        }
        if (this.#ended) return DONE;
      }
    } catch (error) {
      this.#ended = true;
      throw error;
    } finally {
      wait.unref();
    }
  }

  /** The next decoded batch, or `undefined` when none is ready (`#ended` tells why). */
  #poll(): unknown[] | undefined {
    if (this.#lentOut) {
      // The receiver is done with the batch it was given: its record goes back.
      this.#lentOut = false;
      this.#in.returnLoan();
    }
    if (this.#ended) return undefined;
    if (this.#closed) {
      this.#ended = true;
      return undefined;
    }
    const frames = this.#frames;
    if (this.#frameIndex === frames.length) {
      frames.length = 0;
      this.#frameIndex = 0;
      const reader = this.#in;
      // Read the flag first: what was written before the close is read below.
      const closed = reader.writerClosed();
      reader.read(frames);
      if (frames.length === 0) {
        if (closed) {
          this.#ended = true;
          const partial = reader.partialLength;
          if ((partial >= 0 || reader.hasData()) && !reader.recordAbandoned()) {
            throw new ProtocolError(
              `Cannot read ring record: the peer closed inside a record${
                partial >= 0 ? ` of ${partial} bytes` : ""
              }`,
            );
          }
        }
        return undefined;
      }
      this.#wait.armed = false;
    }
    const frame = frames[this.#frameIndex]!;
    frames[this.#frameIndex++] = undefined as unknown as Uint8Array;
    let batch: unknown[];
    try {
      batch = this.#codec.decode(frame);
    } catch (error) {
      throw new ProtocolError(
        `Cannot decode ring frame: the ${this.#codec.name} codec rejected ${frame.length} bytes`,
        { cause: error },
      );
    }
    if (this.#in.lent(frame)) this.#lentOut = true;
    const stats = this.#stats;
    stats.batchesReceived++;
    stats.messagesReceived += batch.length;
    stats.bytesReceived += frame.length;
    return batch;
  }

  // ---- Sending ----

  /** The room to wait for before writing more of a record of `total` bytes, `done` of them written. */
  #roomFor(total: number, done: number): number {
    // A record's start also needs room for the padding before its header.
    const slack = done === 0 ? RECORD_ALIGN - 1 : 0;
    return Math.min(total - done, this.#roomWanted) + slack;
  }

  /** Writes queued batches as room appears, in order. */
  async #pump(): Promise<void> {
    this.#pumping = true;
    this.#wait.ref();
    try {
      const out = this.#out;
      while (this.#queue.length > 0) {
        if (out.readerClosed()) {
          // The peer closed: what it will never read is dropped.
          const queue = this.#queue;
          this.#queue = [];
          for (const pending of queue) pending.resolve();
          break;
        }
        const pending = this.#queue[0]!;
        const total = pending.length + RECORD_HEADER_BYTES;
        pending.done = out.write(pending.frame, pending.length, pending.done, pending.base);
        if (pending.done === total) {
          this.#queue.shift();
          pending.resolve();
          continue;
        }
        await this.#wait.waitForRoom(this.#roomFor(total, pending.done));
      }
    } finally {
      this.#pumping = false;
      this.#wait.unref();
    }
  }
}
