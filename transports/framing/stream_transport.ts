/**
 * The framed byte-stream {@linkcode Transport} both the `pipe` and the
 * `socket` transport run on: codec-encoded, length-prefixed frames over a
 * readable and a writable byte stream. Its guarantees are the ones the
 * `pipe` transport's module documents.
 *
 * @module
 */

import { ConnectionClosedError, ProtocolError } from "../../internal/channel_errors.ts";
import { noop, settleWithin } from "../../internal/abort.ts";
import type { Codec } from "../codec.ts";
import { emptyStats, type SendHints, type Transport, type TransportStats } from "../transport.ts";
import { FRAME_PREFIX_BYTES, FrameDeadline, FrameReader, FrameWriter } from "./framing.ts";
import { FrameCodec } from "./frame_codec.ts";
import type { Latin1Reader, Latin1Writer } from "../../internal/stream_parts.ts";

/** What the iteration of `receive()` gives once it is over. */
const DONE: IteratorResult<unknown[]> = Object.freeze({ done: true, value: undefined });
const NO_BODIES: (Uint8Array | string)[] = [];
const EMPTY_BODY = new Uint8Array(0);

/** How long `close()` waits for written frames to leave. */
const CLOSE_FLUSH_MS = 2000;

/**
 * A {@linkcode Transport} over a readable and a writable byte stream; either
 * may be absent. Named `"pipe"`: its frames are the `pipe` transport's, and
 * the `socket` transport runs one inside each connected end.
 */
export class StreamTransport implements Transport {
  readonly name = "pipe";
  readonly maxFrameBytes: number;
  readonly #codec: FrameCodec;
  readonly #limit: number;
  readonly #frameTimeout: number | undefined;
  readonly #readable: ReadableStream<Uint8Array> | undefined;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  readonly #frames: FrameWriter;
  /**
   * The longest frame to hand the writer as text: its `latin1Limit` when it
   * takes text (a port's stand-in), else 0.
   */
  readonly #textUpTo: number;
  readonly #stats = emptyStats();
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #frameReader: FrameReader | undefined;
  #deadline: FrameDeadline | undefined;
  /** The bodies of the last chunk read (text where it came as text), and the next one to decode. */
  #bodies: (Uint8Array | string)[] = NO_BODIES;
  #bodyAt = 0;
  /** The read deadline's error, once a frame was late. */
  #late: ProtocolError | undefined;
  /** The readable ended by itself (its last read was done). */
  #readEnded = false;
  /** The iteration of `receive()` is over. */
  #readFinished = false;
  #receiving = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  #writeError: { error: unknown } | undefined;
  #room: PromiseWithResolvers<void> | undefined;
  /** The last write, until it has completed. */
  #written: Promise<void> | undefined;

  /**
   * Takes over the streams (it locks the writable at once, the readable when
   * `receive()` is called). The caller has checked every argument.
   *
   * @param readable The bytes the peer writes; absent for an end that only sends.
   * @param writable Where this end writes; absent for an end that only receives.
   * @param codec How batches become bytes.
   * @param maxFrameBytes The largest encoded batch, in bytes.
   * @param frameTimeout The per-frame read deadline in milliseconds (see
   *   {@linkcode FrameDeadline}); absent for none. A late frame fails
   *   `receive()` with `ProtocolError` and closes both directions.
   */
  constructor(
    readable: ReadableStream<Uint8Array> | undefined,
    writable: WritableStream<Uint8Array> | undefined,
    codec: Codec,
    maxFrameBytes: number,
    frameTimeout?: number,
  ) {
    this.#codec = new FrameCodec(codec);
    this.#limit = maxFrameBytes;
    this.#frameTimeout = frameTimeout;
    this.maxFrameBytes = maxFrameBytes;
    this.#readable = readable;
    const writer = writable?.getWriter();
    this.#writer = writer;
    const text = writer as Partial<Latin1Writer> | undefined;
    const textLimit = typeof text?.writeLatin1 === "function" ? text.latin1Limit ?? 0 : 0;
    this.#textUpTo = Math.max(0, textLimit - FRAME_PREFIX_BYTES);
    this.#frames = new FrameWriter(
      (bytes) => this.#write(bytes),
      maxFrameBytes,
      undefined,
      textLimit > 0 ? { write: (chunk) => this.#writeText(chunk), limit: textLimit } : undefined,
    );
    writer?.closed.catch((error) => this.#writeFailed(error));
  }

  send(messages: readonly unknown[], hints?: SendHints): void | Promise<void> {
    if (this.#closed) throw new ConnectionClosedError("send", "local");
    const writer = this.#writer;
    if (writer === undefined) {
      throw new TypeError("Cannot send: this end of the pipe only receives");
    }
    if (this.#writeError) {
      throw new ConnectionClosedError("send", "peer", { cause: this.#writeError.error });
    }
    // The frame may live in the codec's scratch buffer: add() copies it at once.
    if (this.#textUpTo > 0) {
      const frame = this.#codec.encodeText(messages, hints?.kind, this.#textUpTo);
      this.#stats.bytesSent += typeof frame === "string"
        ? this.#frames.addText(frame)
        : this.#frames.add(frame);
    } else this.#stats.bytesSent += this.#frames.add(this.#codec.encode(messages, hints?.kind));
    this.#stats.batchesSent++;
    this.#stats.messagesSent += messages.length;
    const room = writer.desiredSize;
    if (room !== null && room <= 0) return this.#waitForRoom(writer);
  }

  #write(bytes: Uint8Array): void {
    if (this.#writeError) return;
    this.#track(this.#writer!.write(bytes));
  }

  #writeText(text: string): void {
    if (this.#writeError) return;
    this.#track((this.#writer as unknown as Latin1Writer).writeLatin1(text));
  }

  /** Keeps the last write until it completes; a failed write fails the sending direction. */
  #track(write: Promise<void>): void {
    const written = write.catch((error) => this.#writeFailed(error));
    this.#written = written;
    written.then(() => {
      if (this.#written === written) this.#written = undefined;
    });
  }

  /**
   * Writes the frames queued this microtask turn now; the promise resolves
   * once the last write has left (a stream's writes complete only in the
   * event loop).
   */
  flush(): void | Promise<void> {
    if (this.#closed || this.#writeError || this.#writer === undefined) return;
    this.#frames.flush();
    return this.#written;
  }

  #writeFailed(error: unknown): void {
    if (this.#writeError) return;
    this.#writeError = { error };
    this.#frames.discard();
    const room = this.#room;
    this.#room = undefined;
    room?.reject(
      new ConnectionClosedError("send", this.#closed ? "local" : "peer", { cause: error }),
    );
  }

  #waitForRoom(writer: WritableStreamDefaultWriter<Uint8Array>): Promise<void> {
    if (this.#room === undefined) {
      const room = Promise.withResolvers<void>();
      // A caller that drops the promise must not cause an unhandled rejection.
      room.promise.catch(noop);
      this.#room = room;
      writer.ready.then(() => {
        if (this.#room === room) this.#room = undefined;
        room.resolve();
      }, (error) => this.#writeFailed(error));
    }
    return this.#room.promise;
  }

  receive(): AsyncIterable<unknown[]> {
    if (this.#readable === undefined) {
      throw new TypeError("Cannot receive: this end of the pipe only sends");
    }
    if (this.#receiving) {
      throw new TypeError("Cannot receive: receive() was already called on this transport");
    }
    this.#receiving = true;
    // A plain iterator, not an async generator: a generator cost every batch
    // its own promise steps on top of the read's, on both ends of a round trip.
    const iterator: AsyncIterableIterator<unknown[]> = {
      next: () => this.#next(),
      return: () => {
        this.#finishReading();
        return Promise.resolve(DONE);
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** The next batch: one left in the last chunk, or one from the chunks read next. */
  #next(): Promise<IteratorResult<unknown[]>> {
    if (this.#readFinished) return Promise.resolve(DONE);
    if (this.#reader === undefined) {
      if (this.#closed) {
        this.#readFinished = true;
        return Promise.resolve(DONE);
      }
      this.#startReading(this.#readable!);
    } else {
      this.#deadline?.resume();
      if (this.#closed) {
        this.#finishReading();
        return Promise.resolve(DONE);
      }
    }
    let batch: unknown[] | undefined;
    try {
      batch = this.#takeBuffered();
    } catch (error) {
      return Promise.reject(this.#readFailed(error));
    }
    if (batch !== undefined) return Promise.resolve({ done: false, value: batch });
    return this.#readChunks();
  }

  #startReading(readable: ReadableStream<Uint8Array>): void {
    const reader = readable.getReader();
    this.#reader = reader;
    this.#frameReader = new FrameReader(this.#limit);
    this.#deadline = this.#frameTimeout === undefined
      ? undefined
      : new FrameDeadline(this.#frameTimeout, (error) => {
        this.#late = error;
        // Ends the pending read at once; the read below then fails with it.
        reader.cancel(error).catch(noop);
      });
  }

  /**
   * Decodes the next body of the last chunk read, if one is left; after the
   * last one, throws the frame reader's failure (a bad length prefix after
   * the frames just delivered).
   */
  #takeBuffered(): unknown[] | undefined {
    const bodies = this.#bodies;
    if (this.#bodyAt < bodies.length) {
      const body = bodies[this.#bodyAt]!;
      bodies[this.#bodyAt++] = EMPTY_BODY;
      let batch: unknown[];
      try {
        batch = typeof body === "string" ? this.#codec.decodeText(body) : this.#codec.decode(body);
      } catch (error) {
        throw new ProtocolError(
          `Cannot receive: a ${body.length}-byte frame does not decode with the ${this.#codec.name} codec`,
          { cause: error },
        );
      }
      this.#stats.batchesReceived++;
      this.#stats.messagesReceived += batch.length;
      // While the consumer holds the batch nothing is read: not the peer's time.
      this.#deadline?.pause();
      return batch;
    }
    if (bodies.length > 0) {
      this.#bodies = NO_BODIES;
      this.#bodyAt = 0;
    }
    const failure = this.#frameReader!.failure;
    if (failure) throw failure;
    return undefined;
  }

  /** Reads chunks until one completes a frame, the stream ends, or reading fails. */
  async #readChunks(): Promise<IteratorResult<unknown[]>> {
    const reader = this.#reader!;
    const frames = this.#frameReader!;
    // A port's stand-in gives small chunks as the text they came as.
    const text = (reader as Partial<Latin1Reader>).readLatin1 !== undefined;
    try {
      while (true) {
        let result: ReadableStreamReadResult<Uint8Array | string>;
        try {
          result = await (text ? (reader as unknown as Latin1Reader).readLatin1() : reader.read());
        } catch (error) {
          if (this.#late) throw this.#late;
          if (this.#closed) {
            this.#finishReading();
            return DONE;
          }
          throw new ProtocolError("Cannot receive: the stream failed", {
            cause: error,
            truncated: true,
          });
        }
        if (this.#late) throw this.#late;
        if (this.#closed) {
          this.#finishReading();
          return DONE;
        }
        if (result.done) {
          this.#readEnded = true;
          frames.end();
          this.#finishReading();
          return DONE;
        }
        const chunk = result.value;
        const isText = text && typeof chunk === "string";
        if (!isText && !(chunk instanceof Uint8Array)) {
          throw new ProtocolError(
            `Cannot receive: the stream yielded ${typeof chunk}, expected Uint8Array chunks`,
          );
        }
        this.#stats.bytesReceived += chunk.length;
        const bodies = isText ? frames.pushText(chunk) : frames.push(chunk as Uint8Array);
        this.#deadline?.update(frames.buffered, bodies.length > 0);
        this.#bodies = bodies;
        this.#bodyAt = 0;
        const batch = this.#takeBuffered();
        if (batch !== undefined) return { done: false, value: batch };
      }
    } catch (error) {
      throw this.#readFailed(error);
    }
  }

  /** Fails the transport and ends the iteration; returns `error` to throw. */
  #readFailed(error: unknown): unknown {
    this.#fail(error);
    this.#finishReading();
    return error;
  }

  /** Ends the iteration: the consumer stopped early, this end failed or was closed, or the stream ended. */
  #finishReading(): void {
    if (this.#readFinished) return;
    this.#readFinished = true;
    this.#bodies = NO_BODIES;
    this.#deadline?.stop();
    // Stop reading, unless the stream ended by itself.
    if (this.#reader !== undefined && !this.#readEnded) this.#reader.cancel().catch(noop);
  }

  /** Closes both directions at once after a protocol error. */
  #fail(error: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#deadline?.stop();
    this.#frames.release();
    this.#codec.release();
    this.#releaseRoom();
    this.#writer?.abort(error).catch(noop);
    this.#closing = Promise.resolve();
  }

  #releaseRoom(): void {
    const room = this.#room;
    this.#room = undefined;
    room?.resolve();
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#deadline?.stop();
    this.#releaseRoom();
    const writer = this.#writer;
    let flushed: Promise<unknown> = Promise.resolve();
    if (writer !== undefined && this.#writeError === undefined) {
      this.#frames.flush();
      // Wait for what was written to leave (a process about to exit must not
      // lose its last frames), but not for a peer that stopped reading.
      flushed = settleWithin(writer.close(), CLOSE_FLUSH_MS);
    }
    // Nothing more is encoded or coalesced: let the buffers go with the connection.
    this.#frames.release();
    this.#codec.release();
    const reader = this.#reader;
    const readable = this.#readable;
    let cancelled: Promise<void> = Promise.resolve();
    if (reader !== undefined) cancelled = reader.cancel();
    else if (readable !== undefined && !readable.locked) cancelled = readable.cancel();
    this.#closing = Promise.all([cancelled.catch(noop), flushed]).then(noop);
    return this.#closing;
  }

  stats(): TransportStats {
    return { ...this.#stats };
  }
}

/**
 * Checks the streams of a stream transport: each given one must be a web
 * stream no one has locked.
 *
 * @param readable The readable, when given.
 * @param writable The writable, when given.
 * @param context What is being set up, for the message.
 * @throws {TypeError} When a stream is not a web stream, or is locked.
 */
export function checkStreams(
  readable: ReadableStream<Uint8Array> | undefined,
  writable: WritableStream<Uint8Array> | undefined,
  context: string,
): void {
  if (readable !== undefined) {
    if (!(readable instanceof ReadableStream)) {
      throw new TypeError(`${context}: readable must be a ReadableStream, received ${readable}`);
    }
    if (readable.locked) throw new TypeError(`${context}: readable is locked by another reader`);
  }
  if (writable !== undefined) {
    if (!(writable instanceof WritableStream)) {
      throw new TypeError(`${context}: writable must be a WritableStream, received ${writable}`);
    }
    if (writable.locked) throw new TypeError(`${context}: writable is locked by another writer`);
  }
}
