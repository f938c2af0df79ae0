/**
 * Byte streams over a `Deno.Conn` for the `socket` transport, with the
 * connection's lifetime kept in one place.
 *
 * Deno's own `conn.readable` and `conn.writable` close the whole socket when
 * either stream closes or is cancelled, which would cut off frames still being
 * written when the reading side stops. These streams do not:
 *
 * - Closing the writable flushes what was queued, then shuts down the write
 *   direction (the peer reads everything, then the end of the stream).
 * - Cancelling the readable only stops reading.
 * - The end of the peer's stream, and a connection reset after it, close the
 *   readable normally, so a truncated frame is the frame reader's to report.
 * - Only {@linkcode ConnStreams.close} closes the socket: after the writable
 *   finished (bounded by a linger time) and with every read and write settled,
 *   so no operation outlives it.
 *
 * @module
 */

import { READ_BYTES } from "../../internal/read_arena.ts";
import { noop, settleWithin } from "../../internal/abort.ts";
import {
  type PartReader,
  type PartWriter,
  readableOver,
  writableOver,
} from "../../internal/stream_parts.ts";

/** Bytes the writable queues before it reports backpressure. */
const WRITE_HIGH_WATER_BYTES = 1024 * 1024;

/** A connection's first read size; each read that fills its room doubles the next, up to `READ_BYTES`. */
const FIRST_READ_BYTES = 4096;
/** An arena holds this many reads of the current size. */
const READS_PER_ARENA = 4;

/**
 * Buffers for one connection's reads, as `internal/read_arena.ts` hands them
 * out (each read lands after the last and is handed over for good, because
 * the frame reader and the codecs keep views into it), but sized to the
 * traffic: a connection starts with a 16 KiB arena of 4 KiB reads, and only
 * one whose reads fill their room grows to 64 KiB reads in 256 KiB arenas.
 * A short-lived connection that carries a few small batches thus costs 16
 * KiB, not 256 KiB: with thousands of connections opened and closed, the
 * large arenas were what kept the process's RSS growing (the allocator does
 * not give freed memory of that size back to the system at once).
 */
class ConnArena {
  #arena: Uint8Array | undefined;
  #used = 0;
  #readBytes = FIRST_READ_BYTES;

  /** Where the next read goes: room never handed out before. */
  space(): Uint8Array {
    let arena = this.#arena;
    if (arena === undefined || arena.length - this.#used < this.#readBytes) {
      arena = new Uint8Array(this.#readBytes * READS_PER_ARENA);
      this.#arena = arena;
      this.#used = 0;
    }
    return arena.subarray(this.#used, this.#used + this.#readBytes);
  }

  /** The `count` bytes just read into {@linkcode ConnArena.space}, handed over for good. */
  take(count: number): Uint8Array {
    const start = this.#used;
    this.#used += count;
    if (count === this.#readBytes && this.#readBytes < READ_BYTES) this.#readBytes *= 2;
    return this.#arena!.subarray(start, this.#used);
  }

  /** Drops the current arena (what was handed over stays valid). */
  release(): void {
    this.#arena = undefined;
    this.#used = 0;
  }
}

/** Errors that mean the peer is gone rather than that the socket broke. */
export function isConnectionLoss(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.UnexpectedEof;
}

/** What a read gives once the stream is over. */
const DONE: ReadableStreamReadResult<Uint8Array> = Object.freeze({ done: true, value: undefined });

/**
 * A readable and a writable byte stream over one connection, and the close
 * that ends both.
 *
 * They are the stand-ins of `internal/stream_parts.ts`, not web streams:
 * the stream transport uses only their readers' and writers' basic calls,
 * and Deno's streams implementation ran several promise steps per chunk in
 * each direction, on both ends of every round trip. Each read is one
 * `conn.read`, each write starts its `conn.write` at once when none is in
 * flight, and the writable queues up to 1 MiB before `desiredSize` drops to
 * zero and `ready` waits, as a `WritableStream` with that high-water mark.
 */
export class ConnStreams {
  /** The bytes the peer writes. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer. */
  readonly writable: WritableStream<Uint8Array>;
  readonly #conn: Deno.Conn;
  readonly #lingerMs: number;
  readonly #writeFinished = Promise.withResolvers<void>();
  readonly #arena = new ConnArena();
  #reading: Promise<unknown> | undefined;
  #writing: Promise<unknown> | undefined;
  #readStopped = false;
  #readEnded = false;
  #readError: { error: unknown } | undefined;
  #pendingRead: PromiseWithResolvers<ReadableStreamReadResult<Uint8Array>> | undefined;
  readonly #readClosed = Promise.withResolvers<undefined>();
  #peerEnded = false;
  #closing: Promise<void> | undefined;
  /** Bytes given to `write()` and not yet written (the one being written included). */
  #queuedBytes = 0;
  /** Writes accepted and not yet settled. */
  #pendingWrites = 0;
  /** The last write accepted, settled or not; the next one starts after it. */
  #tail: Promise<void> = Promise.resolve();
  #writeError: { error: unknown } | undefined;
  #writeClosed = false;
  #ready = Promise.withResolvers<undefined>();
  readonly #closed = Promise.withResolvers<undefined>();

  /**
   * @param conn The connection; these streams own it from now on.
   * @param lingerMs How long `close()` waits for queued bytes to be written.
   */
  constructor(conn: Deno.Conn, lingerMs: number) {
    this.#conn = conn;
    this.#lingerMs = lingerMs;
    this.#ready.resolve(undefined);
    this.#closed.promise.catch(noop);
    const reader: PartReader = {
      closed: this.#readClosed.promise,
      read: () => this.#read(),
      cancel: () => {
        this.#stopReading();
        return Promise.resolve();
      },
    };
    const closed = () => this.#closed.promise;
    const ready = () => this.#ready.promise;
    const desiredSize = () => this.#writeError ? null : WRITE_HIGH_WATER_BYTES - this.#queuedBytes;
    const writer: PartWriter = {
      get closed() {
        return closed();
      },
      get ready() {
        return ready();
      },
      get desiredSize() {
        return desiredSize();
      },
      write: (chunk) => this.#write(chunk),
      close: () => this.#closeWrite(),
      abort: (reason) => {
        // A failed transport: drop what is queued and let the peer know at once.
        this.#failWrites(reason);
        this.#writeFinished.resolve();
        this.close().catch(noop);
        return Promise.resolve();
      },
    };
    this.readable = readableOver(reader, "the connection's readable");
    this.writable = writableOver(writer);
  }

  /** `true` once the peer's stream ended (it closed, exited or reset the connection). */
  get peerEnded(): boolean {
    return this.#peerEnded;
  }

  #read(): Promise<ReadableStreamReadResult<Uint8Array>> {
    if (this.#readError) return Promise.reject(this.#readError.error);
    if (this.#readEnded || this.#readStopped || this.#closing) {
      this.#endReading();
      return Promise.resolve(DONE);
    }
    if (this.#pendingRead) {
      return Promise.reject(new TypeError("Cannot read: a read is already pending"));
    }
    const pending = Promise.withResolvers<ReadableStreamReadResult<Uint8Array>>();
    this.#pendingRead = pending;
    let reading: Promise<number | null>;
    try {
      reading = this.#conn.read(this.#arena.space());
    } catch (error) {
      reading = Promise.reject(error);
    }
    this.#reading = reading;
    reading.then((count) => {
      this.#reading = undefined;
      if (this.#pendingRead !== pending) return;
      this.#pendingRead = undefined;
      if (count === null) {
        this.#peerEnded = true;
        this.#arena.release();
        this.#endReading();
        pending.resolve(DONE);
      } else if (this.#readStopped) {
        pending.resolve(DONE);
      } else {
        // The frame reader keeps views into the chunk: the arena never reuses it.
        pending.resolve({ done: false, value: this.#arena.take(count) });
      }
    }, (error) => {
      this.#reading = undefined;
      if (this.#pendingRead !== pending) return;
      this.#pendingRead = undefined;
      if (this.#closing || this.#readStopped) {
        this.#endReading();
        pending.resolve(DONE);
      } else if (isConnectionLoss(error)) {
        this.#peerEnded = true;
        this.#endReading();
        pending.resolve(DONE);
      } else {
        this.#readError = { error };
        this.#readEnded = true;
        this.#readClosed.reject(error);
        this.#readClosed.promise.catch(noop);
        pending.reject(error);
      }
    });
    return pending.promise;
  }

  #endReading(): void {
    this.#readEnded = true;
    this.#readClosed.resolve(undefined);
  }

  /** Stops reading: a pending read ends at once (its `conn.read` settles when the socket closes). */
  #stopReading(): void {
    this.#readStopped = true;
    const pending = this.#pendingRead;
    this.#pendingRead = undefined;
    if (!this.#readError) this.#endReading();
    pending?.resolve(DONE);
  }

  #write(chunk: Uint8Array): Promise<void> {
    if (this.#writeError) return Promise.reject(this.#writeError.error);
    if (this.#writeClosed) {
      return Promise.reject(new TypeError("Cannot write: the stream is closed"));
    }
    this.#queuedBytes += chunk.length;
    if (
      this.#queuedBytes >= WRITE_HIGH_WATER_BYTES &&
      this.#queuedBytes - chunk.length < WRITE_HIGH_WATER_BYTES
    ) {
      this.#ready = Promise.withResolvers<undefined>();
      this.#ready.promise.catch(noop);
    }
    // Nothing in flight: the write starts now, as a WritableStream's would.
    const written = this.#pendingWrites++ === 0
      ? this.#writeAll(chunk)
      : this.#tail.then(() => this.#writeAll(chunk));
    this.#tail = written.catch(noop);
    return written;
  }

  async #writeAll(chunk: Uint8Array): Promise<void> {
    try {
      if (this.#writeError) throw this.#writeError.error;
      let offset = 0;
      while (offset < chunk.length) {
        const writing = this.#conn.write(offset === 0 ? chunk : chunk.subarray(offset));
        this.#writing = writing;
        offset += await writing;
      }
    } catch (error) {
      // The stream errors and takes no more writes: nothing is left to flush.
      this.#failWrites(error);
      this.#writeFinished.resolve();
      throw error;
    } finally {
      this.#writing = undefined;
      this.#pendingWrites--;
      const before = this.#queuedBytes;
      this.#queuedBytes -= chunk.length;
      if (
        !this.#writeError && before >= WRITE_HIGH_WATER_BYTES &&
        this.#queuedBytes < WRITE_HIGH_WATER_BYTES
      ) this.#ready.resolve(undefined);
    }
  }

  /** The writable is errored with `error`: writes, `ready` and `closed` reject with it. */
  #failWrites(error: unknown): void {
    if (this.#writeError) return;
    this.#writeError = { error };
    this.#closed.reject(error);
    this.#ready.reject(error);
    this.#ready.promise.catch(noop);
  }

  /** Flushes what was queued, then shuts down the write direction. */
  async #closeWrite(): Promise<void> {
    if (this.#writeError) throw this.#writeError.error;
    if (this.#writeClosed) throw new TypeError("Cannot close: the stream is closed already");
    this.#writeClosed = true;
    await this.#tail;
    if (this.#writeError) throw (this.#writeError as { error: unknown }).error;
    try {
      if (!this.#closing) await this.#conn.closeWrite();
    } catch {
      // The peer is gone already; there is nothing left to shut down.
    } finally {
      this.#writeFinished.resolve();
      this.#closed.resolve(undefined);
    }
  }

  /**
   * Closes the socket once the writable has finished (flushed and shut down,
   * aborted or failed), or after the linger time, whichever comes first; then
   * waits for the interrupted read or write to settle. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    await settleWithin(this.#writeFinished.promise, this.#lingerMs);
    try {
      this.#conn.close();
    } catch {
      // Closed already.
    }
    await Promise.allSettled([this.#reading, this.#writing]);
    this.#arena.release();
  }
}
