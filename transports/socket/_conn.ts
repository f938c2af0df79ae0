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

/** Closes a readable's controller unless the stream was cancelled or closed already. */
function end(controller: ReadableStreamDefaultController<Uint8Array>): void {
  try {
    controller.close();
  } catch {
    // Cancelled or closed already.
  }
}

/** A readable and a writable byte stream over one connection, and the close that ends both. */
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
  #peerEnded = false;
  #closing: Promise<void> | undefined;

  /**
   * @param conn The connection; these streams own it from now on.
   * @param lingerMs How long `close()` waits for queued bytes to be written.
   */
  constructor(conn: Deno.Conn, lingerMs: number) {
    this.#conn = conn;
    this.#lingerMs = lingerMs;
    this.readable = new ReadableStream<Uint8Array>({
      pull: (controller) => this.#pull(controller),
      cancel: () => {
        this.#readStopped = true;
      },
    }, { highWaterMark: 0 });
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => this.#write(chunk),
      close: () => this.#closeWrite(),
      abort: () => {
        // A failed transport: drop what is queued and let the peer know at once.
        this.#writeFinished.resolve();
        this.close().catch(noop);
      },
    }, new ByteLengthQueuingStrategy({ highWaterMark: WRITE_HIGH_WATER_BYTES }));
  }

  /** `true` once the peer's stream ended (it closed, exited or reset the connection). */
  get peerEnded(): boolean {
    return this.#peerEnded;
  }

  async #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    if (this.#closing || this.#readStopped) {
      end(controller);
      return;
    }
    let count: number | null;
    try {
      const reading = this.#conn.read(this.#arena.space());
      this.#reading = reading;
      count = await reading;
    } catch (error) {
      if (this.#closing || this.#readStopped) {
        end(controller);
      } else if (isConnectionLoss(error)) {
        this.#peerEnded = true;
        end(controller);
      } else {
        controller.error(error);
      }
      return;
    } finally {
      this.#reading = undefined;
    }
    if (count === null) {
      this.#peerEnded = true;
      this.#arena.release();
      end(controller);
      return;
    }
    if (this.#readStopped) return;
    // The frame reader keeps views into the chunk: the arena never reuses it.
    controller.enqueue(this.#arena.take(count));
  }

  async #write(chunk: Uint8Array): Promise<void> {
    try {
      let offset = 0;
      while (offset < chunk.length) {
        const writing = this.#conn.write(offset === 0 ? chunk : chunk.subarray(offset));
        this.#writing = writing;
        offset += await writing;
      }
    } catch (error) {
      // The stream errors and takes no more writes: nothing is left to flush.
      this.#writeFinished.resolve();
      throw error;
    } finally {
      this.#writing = undefined;
    }
  }

  async #closeWrite(): Promise<void> {
    try {
      if (!this.#closing) await this.#conn.closeWrite();
    } catch {
      // The peer is gone already; there is nothing left to shut down.
    } finally {
      this.#writeFinished.resolve();
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
