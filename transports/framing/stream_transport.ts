/**
 * The framed byte-stream {@linkcode Transport} both the `pipe` and the
 * `socket` transport run on: codec-encoded, length-prefixed frames over a
 * readable and a writable byte stream. Its guarantees are the ones the
 * `pipe` transport's module documents.
 *
 * @module
 */

import { ConnectionClosedError, ProtocolError } from "../../internal/errors.ts";
import { noop, settleWithin } from "../../internal/abort.ts";
import type { Codec } from "../codec.ts";
import { emptyStats, type SendHints, type Transport, type TransportStats } from "../transport.ts";
import { FrameDeadline, FrameReader, FrameWriter } from "./framing.ts";
import { FrameCodec } from "./frame_codec.ts";

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
  readonly #stats = emptyStats();
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #deadline: FrameDeadline | undefined;
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
    this.#frames = new FrameWriter((bytes) => this.#write(bytes), maxFrameBytes);
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
    this.#stats.bytesSent += this.#frames.add(this.#codec.encode(messages, hints?.kind));
    this.#stats.batchesSent++;
    this.#stats.messagesSent += messages.length;
    const room = writer.desiredSize;
    if (room !== null && room <= 0) return this.#waitForRoom(writer);
  }

  #write(bytes: Uint8Array): void {
    if (this.#writeError) return;
    const written = this.#writer!.write(bytes).catch((error) => this.#writeFailed(error));
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
    return this.#read(this.#readable);
  }

  async *#read(readable: ReadableStream<Uint8Array>): AsyncGenerator<unknown[]> {
    if (this.#closed) return;
    const reader = readable.getReader();
    this.#reader = reader;
    const frames = new FrameReader(this.#limit);
    let late: ProtocolError | undefined;
    const deadline = this.#frameTimeout === undefined
      ? undefined
      : new FrameDeadline(this.#frameTimeout, (error) => {
        late = error;
        // Ends the pending read at once; the loop below then fails with `late`.
        reader.cancel(error).catch(noop);
      });
    this.#deadline = deadline;
    let ended = false;
    try {
      while (true) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (error) {
          if (late) throw late;
          if (this.#closed) return;
          throw new ProtocolError("Cannot receive: the stream failed", {
            cause: error,
            truncated: true,
          });
        }
        if (late) throw late;
        if (this.#closed) return;
        if (result.done) {
          ended = true;
          frames.end();
          return;
        }
        const chunk = result.value;
        if (!(chunk instanceof Uint8Array)) {
          throw new ProtocolError(
            `Cannot receive: the stream yielded ${typeof chunk}, expected Uint8Array chunks`,
          );
        }
        this.#stats.bytesReceived += chunk.length;
        const bodies = frames.push(chunk);
        deadline?.update(frames.buffered, bodies.length > 0);
        for (const body of bodies) {
          let batch: unknown[];
          try {
            batch = this.#codec.decode(body);
          } catch (error) {
            throw new ProtocolError(
              `Cannot receive: a ${body.length}-byte frame does not decode with the ${this.#codec.name} codec`,
              { cause: error },
            );
          }
          this.#stats.batchesReceived++;
          this.#stats.messagesReceived += batch.length;
          // While the consumer holds the batch nothing is read: not the peer's time.
          deadline?.pause();
          yield batch;
          deadline?.resume();
          if (this.#closed) return;
        }
        // A bad length prefix after the frames just delivered.
        if (frames.failure) throw frames.failure;
      }
    } catch (error) {
      this.#fail(error);
      throw error;
    } finally {
      deadline?.stop();
      // The consumer stopped early, this end failed or was closed: stop reading.
      if (!ended) reader.cancel().catch(noop);
    }
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
