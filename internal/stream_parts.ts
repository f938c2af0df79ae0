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
}

/** What a stand-in writer does. */
export interface PartWriter {
  readonly closed: Promise<undefined>;
  readonly ready: Promise<undefined>;
  readonly desiredSize: number | null;
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(reason?: unknown): Promise<void>;
}

/**
 * A readable stand-in over `reader`, with one lock at a time.
 *
 * @param what Names the stream in the error for a second reader.
 */
export function readableOver(reader: PartReader, what: string): ReadableStream<Uint8Array> {
  let locked = false;
  const lockable = {
    get closed() {
      return reader.closed;
    },
    read: () => reader.read(),
    cancel: () => reader.cancel(),
    releaseLock(): void {
      locked = false;
    },
  };
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
  const lockable = {
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
  return { getWriter: () => lockable } as unknown as WritableStream<Uint8Array>;
}
