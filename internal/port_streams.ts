/**
 * A duplex byte stream over one MessagePort, for the `pipe` transport between
 * threads and for the pipe ends handed to worker actors (which is why it
 * lives here, below both). A transferred web stream moves one chunk per round trip between
 * threads (the receiving side pulls each chunk with a message of its own),
 * which made a pipe to a worker 2-3 times slower than the port beneath it.
 * Here chunks are posted as they are written, their buffers transferred, and
 * the reader gives credit back in bytes: up to `windowBytes` may be in flight
 * before `desiredSize` drops to 0 and the writer waits on `ready`.
 *
 * Both directions are stand-ins for web streams (`internal/stream_parts.ts`), as a
 * process actor's stdio is. They also take and give small chunks as text
 * (`writeLatin1`, `readLatin1`), as they travel: the frame transport then
 * neither makes bytes of its small frames nor text of what arrives.
 *
 * Ownership: `write()` takes the chunk's whole buffer (from 16 KiB on it is
 * transferred, so the caller's views of it are detached). The pipe's frame
 * writer hands each chunk over for good, which is what makes this safe.
 *
 * On the port: a `Uint8Array` is data, and so is a string that starts with
 * SMALL (a chunk of fewer than {@linkcode SMALL_BYTES} bytes, one character
 * per byte after it); a number is credit (bytes the peer read), and any other
 * string is the end of a direction: END (the peer's writer closed), ABORT (it
 * aborted: the reader fails), CANCEL (the peer's reader cancelled: this side's
 * writer fails).
 *
 * @module
 */

import { postToPort } from "./post_message.ts";
import {
  latin1Bytes,
  type PartReader,
  type PartWriter,
  readableOver,
  writableOver,
} from "./stream_parts.ts";

const END = "\u0000troupe:end";
const ABORT = "\u0000troupe:abort";
const CANCEL = "\u0000troupe:cancel";
/** The first character of a small chunk posted as a string; END, ABORT and CANCEL start with `\u0000`. */
const SMALL = "\u0001";
const SMALL_CODE = SMALL.charCodeAt(0);

/**
 * Chunks under this size are posted as a string of one character per byte,
 * after SMALL. Deno posts a string of at most 128 characters without its
 * structured serializer (a `Uint8Array` takes an op call each way to encode
 * and decode): profiled over 32,000 round trips of a pipe to a worker, the
 * serializer took 3 µs a round trip on each thread. An ask's frame is about
 * 70 bytes.
 */
const SMALL_BYTES = 128;

/** Chunks from this size on are transferred; smaller ones are copied. */
const TRANSFER_BYTES = 16 * 1024;

/** Bytes in flight (posted and not yet read) before the writer must wait. */
export const PORT_WINDOW_BYTES = 1024 * 1024;

/**
 * The window of a pipe end handed to a worker actor, like an operating
 * system's pipe. Both sides of one port must use the same window: a reader
 * credits a quarter of its own window at a time.
 */
export const PIPE_END_WINDOW_BYTES = 64 * 1024;

/** The two directions of one port, as the pipe transport sees them. */
export interface PortStreams {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  /**
   * The peer is gone (its thread ended without closing): fails the writing
   * direction at once, even with a write waiting for room, then ends the
   * reading direction, after what arrived, once no message came for
   * `quietMs` (at most `graceMs` in all). Resolves when the port is closed.
   */
  peerGone(quietMs: number, graceMs: number): Promise<void>;
}

/**
 * Wraps `port` in a readable and a writable byte stream. The port is closed
 * once both directions are done (read to the end or cancelled, and closed or
 * failed).
 *
 * @param port One end of a `MessageChannel`; its peer must be wrapped too.
 * @param windowBytes Bytes in flight before writes wait.
 */
export function portStreams(
  port: MessagePort,
  windowBytes: number = PORT_WINDOW_BYTES,
): PortStreams {
  // ---- Reading ----
  /** Chunks not yet read: bytes, or a small chunk's text (one character per byte). */
  const chunks: (Uint8Array | string)[] = [];
  let head = 0;
  let readDone = false;
  let readError: { error: unknown } | undefined;
  /** A read waiting for a chunk; there is one only while `chunks` is empty. */
  let waiter: PromiseWithResolvers<ReadableStreamReadResult<Uint8Array | string>> | undefined;
  /** The waiting read takes text (`readLatin1`); else it takes bytes only. */
  let waiterTakesText = false;
  /** Bytes read and not yet credited back. */
  let unacked = 0;
  const readClosed = Promise.withResolvers<undefined>();
  readClosed.promise.catch(() => {});

  // ---- Writing ----
  let inflight = 0;
  let writeFailure: { error: unknown } | undefined;
  let writeDone = false;
  let ready = Promise.withResolvers<undefined>();
  ready.resolve(undefined);
  const writeClosed = Promise.withResolvers<undefined>();
  writeClosed.promise.catch(() => {});

  const post = (message: unknown, transfer?: Transferable[]): void => {
    try {
      postToPort(port, message, transfer);
    } catch {
      // The port is closed: the direction that needed it fails on its own.
    }
  };

  const maybeClosePort = (): void => {
    if (readDone && writeDone) {
      port.onmessage = null;
      port.close();
    }
  };

  const endRead = (error?: { error: unknown }): void => {
    if (readDone) return;
    readDone = true;
    readError = error;
    if (error) readClosed.reject(error.error);
    else readClosed.resolve(undefined);
    const pending = waiter;
    waiter = undefined;
    if (error) pending?.reject(error.error);
    else pending?.resolve({ value: undefined, done: true });
    maybeClosePort();
  };

  const failWrite = (error: unknown): void => {
    if (writeFailure || writeDone) return;
    writeFailure = { error };
    writeDone = true;
    writeClosed.reject(error);
    ready.reject(error);
    ready.promise.catch(() => {});
    maybeClosePort();
  };

  /** Messages received so far, for `peerGone` to see when they stop. */
  let arrivals = 0;

  port.onmessage = (event: MessageEvent) => {
    arrivals++;
    const data = event.data;
    let chunk: Uint8Array | string | undefined;
    if (data instanceof Uint8Array) chunk = data;
    else if (typeof data === "string" && data.charCodeAt(0) === SMALL_CODE) chunk = data.slice(1);
    if (chunk !== undefined) {
      if (readDone) return;
      const pending = waiter;
      if (pending !== undefined) {
        waiter = undefined;
        credit(chunk.length);
        const value = typeof chunk === "string" && !waiterTakesText ? latin1Bytes(chunk) : chunk;
        pending.resolve({ value, done: false });
      } else chunks.push(chunk);
    } else if (typeof data === "number") {
      inflight -= data;
      if (inflight < windowBytes && !writeFailure) ready.resolve(undefined);
    } else if (data === END) {
      endRead();
    } else if (data === ABORT) {
      endRead({ error: new TypeError("The peer aborted the stream") });
    } else if (data === CANCEL) {
      failWrite(new TypeError("The peer cancelled the stream"));
    }
  };
  port.onmessageerror = () => {
    endRead({ error: new TypeError("A chunk could not be deserialized") });
  };

  /**
   * Counts bytes handed to the reader; gives them back once a quarter window
   * adds up. That cannot stall a writer: it waits only with a whole window
   * uncredited, and once this side has read all but the part still on its
   * way, over a quarter window is uncredited here.
   */
  function credit(bytes: number): void {
    unacked += bytes;
    if (unacked >= windowBytes >>> 2) {
      post(unacked);
      unacked = 0;
    }
  }

  const cancel = (): Promise<void> => {
    if (!readDone) {
      chunks.length = head = 0;
      post(CANCEL);
      endRead();
    }
    return Promise.resolve();
  };

  /** The next chunk; as text when it came so and `text` is set, else as bytes. */
  const next = (text: boolean): Promise<ReadableStreamReadResult<Uint8Array | string>> => {
    if (head < chunks.length) {
      let value = chunks[head]!;
      chunks[head++] = "";
      if (head === chunks.length) chunks.length = head = 0;
      credit(value.length);
      if (!text && typeof value === "string") value = latin1Bytes(value);
      return Promise.resolve({ value, done: false });
    }
    if (readError) return Promise.reject(readError.error);
    if (readDone) return Promise.resolve({ value: undefined, done: true });
    if (waiter === undefined) {
      waiter = Promise.withResolvers();
      waiterTakesText = text;
    } else if (waiterTakesText && !text) {
      // A second read at once, for bytes, shares the first one's chunk.
      return waiter.promise.then((result) =>
        typeof result.value === "string"
          ? { value: latin1Bytes(result.value), done: false }
          : result
      );
    }
    return waiter.promise;
  };

  const reader: PartReader = {
    closed: readClosed.promise,
    read: () => next(false) as Promise<ReadableStreamReadResult<Uint8Array>>,
    readLatin1: () => next(true),
    cancel,
  };

  /** Counts `length` more bytes in flight; a write that fills the window makes the writer wait. */
  const sent = (length: number): void => {
    if (inflight < windowBytes && inflight + length >= windowBytes) {
      ready = Promise.withResolvers<undefined>();
    }
    inflight += length;
  };

  const writer: PartWriter = {
    get closed() {
      return writeClosed.promise;
    },
    get ready() {
      return ready.promise;
    },
    get desiredSize(): number | null {
      if (writeFailure) return null;
      return windowBytes - inflight;
    },
    write(bytes: Uint8Array): Promise<void> {
      if (writeFailure) return Promise.reject(writeFailure.error);
      if (writeDone) return Promise.reject(new TypeError("Cannot write: the stream is closed"));
      // Counted before a transfer detaches it.
      const length = bytes.length;
      const buffer = bytes.buffer;
      const whole = bytes.byteOffset === 0 && length === buffer.byteLength;
      // A clone copies the view's whole buffer; a transfer copies nothing but
      // costs more than copying a few KiB.
      if (length < SMALL_BYTES) {
        post(SMALL + String.fromCharCode.apply(null, bytes as unknown as number[]));
      } else if (length >= TRANSFER_BYTES && buffer instanceof ArrayBuffer) post(bytes, [buffer]);
      else post(whole && buffer instanceof ArrayBuffer ? bytes : bytes.slice());
      sent(length);
      return Promise.resolve();
    },
    latin1Limit: SMALL_BYTES - 1,
    writeLatin1(text: string): Promise<void> {
      if (text.length >= SMALL_BYTES) return writer.write(latin1Bytes(text));
      if (writeFailure) return Promise.reject(writeFailure.error);
      if (writeDone) return Promise.reject(new TypeError("Cannot write: the stream is closed"));
      post(SMALL + text);
      sent(text.length);
      return Promise.resolve();
    },
    close(): Promise<void> {
      if (writeFailure) return Promise.reject(writeFailure.error);
      if (!writeDone) {
        writeDone = true;
        post(END);
        writeClosed.resolve(undefined);
        maybeClosePort();
      }
      return Promise.resolve();
    },
    abort(): Promise<void> {
      if (!writeDone) {
        post(ABORT);
        failWrite(new TypeError("The stream was aborted"));
      }
      return Promise.resolve();
    },
  };

  const peerGone = async (quietMs: number, graceMs: number): Promise<void> => {
    failWrite(new TypeError("The peer is gone"));
    const deadline = Date.now() + graceMs;
    while (!readDone && Date.now() < deadline) {
      const seen = arrivals;
      await new Promise((resolve) => setTimeout(resolve, quietMs));
      if (arrivals === seen) break;
    }
    endRead();
  };

  return {
    readable: readableOver(reader, "the stream"),
    writable: writableOver(writer),
    peerGone,
  };
}

/** What {@linkcode webStreamsOver} gives. */
export interface WebStreamsOverPort {
  readable?: ReadableStream<Uint8Array>;
  writable?: WritableStream<Uint8Array>;
  /** Fails the sending direction now, even with a write waiting for room. */
  cut(): void;
}

/**
 * Web streams over the stand-ins of {@linkcode portStreams}, for code that
 * needs real ones (`pipeTo`, `instanceof`): each read and write goes straight
 * through, and the directions not asked for are ended at once. `cut()`
 * fails the sending direction now, even with a write waiting for room.
 *
 * @param parts The port's streams.
 * @param directions Which directions to give.
 */
export function webStreamsOver(
  parts: PortStreams,
  directions: { readable: boolean; writable: boolean },
): WebStreamsOverPort {
  const reader = parts.readable.getReader();
  const writer = parts.writable.getWriter();
  const streams: WebStreamsOverPort = { cut: () => void writer.abort().catch(() => {}) };
  if (directions.readable) {
    streams.readable = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await reader.read();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      cancel: () => reader.cancel(),
    }, { highWaterMark: 0 });
  } else reader.cancel().catch(() => {});
  if (directions.writable) {
    streams.writable = new WritableStream<Uint8Array>({
      async write(chunk) {
        await writer.ready;
        await writer.write(chunk);
      },
      close: () => writer.close(),
      abort: () => writer.abort(),
    });
  } else writer.close().catch(() => {});
  return streams;
}
