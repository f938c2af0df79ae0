// Stand-ins for `ReadableStream<Uint8Array>` and `WritableStream<Uint8Array>`
// that implement only the part of the streams API the pipe transport uses:
// `locked`, `getReader()` (`read`, `cancel`, `closed`, `releaseLock`) and
// `cancel()`; `getWriter()` (`write`, `ready`, `desiredSize`, `closed`,
// `close`, `abort`, `releaseLock`). A process actor's stdio
// (`actors/_stdio.ts`) and the byte stream over a `MessagePort`
// (`port_streams.ts`) are built on them, where real web streams cost a fresh
// process milliseconds, or a thread one round trip per chunk.

/** What a stand-in reader does; {@linkcode readableOver} adds the lock. */
export interface PartReader {
  readonly closed: Promise<undefined>;
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(): Promise<void>;
  /** As `read()`, but a chunk that came as text may be given as such (see {@linkcode Latin1Reader}). */
  readLatin1?(): Promise<ReadableStreamReadResult<Uint8Array | string>>;
}

/** What a stand-in writer does. */
export interface PartWriter {
  readonly closed: Promise<undefined>;
  readonly ready: Promise<undefined>;
  readonly desiredSize: number | null;
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(reason?: unknown): Promise<void>;
  /** See {@linkcode Latin1Writer}. */
  readonly latin1Limit?: number;
  /** See {@linkcode Latin1Writer}. */
  writeLatin1?(text: string): Promise<void>;
}

/**
 * A stand-in reader whose chunks may come as text, one character per byte
 * (latin1), where the bytes came so: a consumer that can use the text
 * (the frame reader) skips making bytes of it. The text is the chunk's
 * bytes exactly, read as `read()` would give them.
 */
export interface Latin1Reader {
  readLatin1(): Promise<ReadableStreamReadResult<Uint8Array | string>>;
}

/**
 * A stand-in writer that also takes text, one character per byte (latin1,
 * every code under 256): the same bytes as `write()` of them, in the same
 * order with the other writes, which it may post as text. Text of up to
 * `latin1Limit` characters travels without being made bytes on this side.
 */
export interface Latin1Writer {
  readonly latin1Limit: number;
  writeLatin1(text: string): Promise<void>;
}

/**
 * The bytes of `text`, one per character (latin1; a code over 255 keeps its
 * low byte, as a `Uint8Array` store does).
 *
 * @param text The text.
 * @returns A fresh array of `text.length` bytes.
 */
export function latin1Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < bytes.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * A readable stand-in over `reader`, with one lock at a time.
 *
 * @param what Names the stream in the error for a second reader.
 */
export function readableOver(reader: PartReader, what: string): ReadableStream<Uint8Array> {
  let locked = false;
  const lockable: Record<string, unknown> = {
    get closed() {
      return reader.closed;
    },
    read: () => reader.read(),
    cancel: () => reader.cancel(),
    releaseLock(): void {
      locked = false;
    },
  };
  if (reader.readLatin1 !== undefined) {
    const readLatin1 = reader.readLatin1.bind(reader);
    lockable.readLatin1 = readLatin1;
  }
  return {
    get locked() {
      return locked;
    },
    getReader() {
      if (locked) throw new TypeError(`Cannot get a reader: ${what} is locked`);
      locked = true;
      return lockable;
    },
    cancel: () => reader.cancel(),
  } as unknown as ReadableStream<Uint8Array>;
}

/** A writable stand-in over `writer`; every `getWriter()` returns the same writer. */
export function writableOver(writer: PartWriter): WritableStream<Uint8Array> {
  const lockable: Record<string, unknown> = {
    get closed() {
      return writer.closed;
    },
    get ready() {
      return writer.ready;
    },
    get desiredSize() {
      return writer.desiredSize;
    },
    write: (bytes: Uint8Array) => writer.write(bytes),
    close: () => writer.close(),
    abort: (reason?: unknown) => writer.abort(reason),
    releaseLock(): void {},
  };
  if (writer.writeLatin1 !== undefined && writer.latin1Limit !== undefined) {
    lockable.latin1Limit = writer.latin1Limit;
    lockable.writeLatin1 = writer.writeLatin1.bind(writer);
  }
  return { getWriter: () => lockable } as unknown as WritableStream<Uint8Array>;
}
