// A process actor's stdin and stdout for the built-in pipe transport, without
// web streams. In Deno 2.9 the first ReadableStream or WritableStream of a
// process loads Deno's streams implementation, and reading or writing through
// one runs a good deal of it for the first time: together about 8 ms (5-15 ms
// on a loaded machine) of a fresh process's way to its first reply, where the
// whole budget of a spawn is a few ms over a bare `deno run`.
//
// These are stand-ins (`transports/_stream_parts.ts`) implementing only the
// part of the streams API that the pipe transport uses. Any other transport
// gets real streams.

import { ReadArena } from "../../internal/read_arena.ts";
import {
  type PartReader,
  type PartWriter,
  readableOver,
  writableOver,
} from "../../internal/stream_parts.ts";

/** Reads stdin through `Deno.stdin.read`, after the bytes already read (`leftover`). */
export function stdinReadable(leftover: Uint8Array | undefined): ReadableStream<Uint8Array> {
  let done = false;
  const closed = Promise.withResolvers<undefined>();
  const finish = () => {
    if (done) return;
    done = true;
    closed.resolve(undefined);
  };
  const cancel = (): Promise<void> => {
    if (!done) {
      finish();
      try {
        Deno.stdin.close();
      } catch {
        // Already closed.
      }
    }
    return Promise.resolve();
  };
  const arena = new ReadArena();
  const reader: PartReader = {
    closed: closed.promise,
    async read(): Promise<ReadableStreamReadResult<Uint8Array>> {
      if (leftover !== undefined && leftover.length > 0) {
        const value = leftover;
        leftover = undefined;
        return { value, done: false };
      }
      if (done) return { value: undefined, done: true };
      let n: number | null;
      try {
        n = await Deno.stdin.read(arena.space());
      } catch (error) {
        if (done) return { value: undefined, done: true };
        throw error;
      }
      if (n === null || done) {
        finish();
        return { value: undefined, done: true };
      }
      return { value: arena.take(n), done: false };
    },
    cancel,
  };
  return readableOver(reader, "stdin");
}

/**
 * Writes to stdout through `Deno.stdout.write` (as it is when this is
 * called), one chunk after the other.
 * Like Deno's stdout stream, it has room for one chunk: `desiredSize` is 0
 * while a chunk is being written, and `ready` resolves once it is out.
 */
export function stdoutWritable(): WritableStream<Uint8Array> {
  // Bound now: the actor's own writes to Deno.stdout are sent to stderr later
  // (see `stdoutToStderr`), and these bytes must still reach the channel.
  const stdout = Deno.stdout;
  const write = stdout.write.bind(stdout);
  const close = stdout.close.bind(stdout);
  let tail: Promise<void> = Promise.resolve();
  let pending = 0;
  let failure: { error: unknown } | undefined;
  let closing = false;
  const closed = Promise.withResolvers<undefined>();
  closed.promise.catch(() => {});
  let ready = Promise.withResolvers<undefined>();
  ready.resolve(undefined);

  const fail = (error: unknown) => {
    if (failure) return;
    failure = { error };
    closed.reject(error);
    ready.reject(error);
    ready.promise.catch(() => {});
    try {
      close();
    } catch {
      // Already closed.
    }
  };

  const writeAll = async (bytes: Uint8Array) => {
    if (failure) throw failure.error;
    try {
      for (let written = 0; written < bytes.length;) {
        written += await write(bytes.subarray(written));
      }
    } catch (error) {
      fail(error);
      throw error;
    } finally {
      if (--pending === 0 && !failure) ready.resolve(undefined);
    }
  };

  const writer: PartWriter = {
    get closed() {
      return closed.promise;
    },
    get ready() {
      return ready.promise;
    },
    get desiredSize(): number | null {
      if (failure) return null;
      return 1 - pending;
    },
    write(bytes: Uint8Array): Promise<void> {
      if (failure) return Promise.reject(failure.error);
      if (closing) return Promise.reject(new TypeError("Cannot write: stdout is closed"));
      if (pending++ === 0) ready = Promise.withResolvers<undefined>();
      const written = tail.then(() => writeAll(bytes));
      tail = written.catch(() => {});
      return written;
    },
    async close(): Promise<void> {
      if (failure) throw failure.error;
      closing = true;
      await tail;
      if (failure) throw (failure as { error: unknown }).error;
      try {
        close();
      } catch {
        // Already closed.
      }
      closed.resolve(undefined);
    },
    abort(reason?: unknown): Promise<void> {
      fail(reason);
      return Promise.resolve();
    },
  };
  return writableOver(writer);
}

/**
 * Sends the actor's own writes to `Deno.stdout` (`write`, `writeSync`,
 * `writable`) to stderr, where they become log lines like `console` output:
 * once the channel runs over stdout, a stray byte there would corrupt its
 * frames. Call it after the transport has its stdout.
 */
export function stdoutToStderr(): void {
  const stdout = Deno.stdout;
  const stderr = Deno.stderr;
  const own = (name: string, descriptor: PropertyDescriptor) =>
    Object.defineProperty(stdout, name, { configurable: true, ...descriptor });
  own("write", { value: (bytes: Uint8Array) => stderr.write(bytes), writable: true });
  own("writeSync", { value: (bytes: Uint8Array) => stderr.writeSync(bytes), writable: true });
  own("writable", { get: () => stderr.writable });
}
