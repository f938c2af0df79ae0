/**
 * The public shape of a pipe's ends: {@linkcode Connection} and its two
 * sides, {@linkcode ReadConnection} and {@linkcode WriteConnection}, and the
 * streams an end is made of ({@linkcode PipeEnd}, {@linkcode ReadPipeEnd},
 * {@linkcode WritePipeEnd}). `channel.ts` opens them.
 *
 * @module
 */

/** Options of {@linkcode ReadConnection.recv}. */
export interface RecvOptions {
  /** Rejects the wait with `signal.reason` when aborted. */
  signal?: AbortSignal;
  /**
   * Milliseconds to wait for a message; on expiry the call rejects with a
   * `DOMException` named `"TimeoutError"`. Waits without limit when absent.
   */
  timeout?: number;
}

/**
 * The receiving side of a connection: `recv()` one value at a time, or
 * iterate until the peer closes.
 *
 * @example Wait for a value with a timeout
 * ```ts
 * import { Pipe, type ReadConnection } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const [output, input] = Pipe<string>({ duplex: false });
 * const reader: ReadConnection<string> = output;
 * input.send("ready");
 * assert.equal(await reader.recv({ timeout: 1000 }), "ready");
 * await assert.rejects(reader.recv({ timeout: 10 }), { name: "TimeoutError" });
 * await input.close();
 * await reader.close();
 * ```
 *
 * @typeParam T The type of the values carried.
 */
export interface ReadConnection<T> extends AsyncIterable<T>, AsyncDisposable {
  /**
   * Resolves with the next value, in the order they were sent.
   *
   * @param options A signal and a timeout.
   * @returns The next value.
   * @throws {ConnectionClosedError} When the peer closed (after the values it sent were
   * received) or this end was closed.
   * @throws {DOMException} `TimeoutError` when `timeout` passed; the abort reason when aborted.
   * @throws {ProtocolError} When the peer sent bytes that are not a frame of this codec.
   */
  recv(options?: RecvOptions): Promise<T>;
  /** Closes this end; pending and later `recv()` calls reject, the peer's ends close. */
  close(): Promise<void>;
}

/**
 * The sending side of a connection.
 *
 * @example Send with backpressure
 * ```ts
 * import { Pipe, type WriteConnection } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const [output, input] = Pipe<number>({ duplex: false });
 * const writer: WriteConnection<number> = input;
 * const received = Array.fromAsync(output);
 * for (let i = 0; i < 100; i++) await writer.send(i);
 * await writer.close();
 * assert.equal((await received).length, 100);
 * await output.close();
 * ```
 *
 * @typeParam T The type of the values carried.
 */
export interface WriteConnection<T> extends AsyncDisposable {
  /**
   * Sends a copy of the value (structured-clone semantics with the default
   * codec). Returns a promise only when the pipe is full: await it before
   * sending more.
   *
   * @param value The value to send.
   * @throws {ConnectionClosedError} When this end or the peer closed.
   * @throws {FrameTooLargeError} When the encoded value exceeds `maxFrameBytes`.
   * @throws {Error} The codec's error when the value cannot be encoded (a function, a symbol).
   */
  send(value: T): void | Promise<void>;
  /** Closes this end; the peer's `recv()` rejects once it has read what was sent. */
  close(): Promise<void>;
}

/**
 * Both sides of a duplex connection end.
 *
 * @example Ask and answer over a duplex pipe
 * ```ts
 * import { type Connection, Pipe } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const [client, server]: Connection<number>[] = Pipe<number>();
 * client.send(20);
 * server.send((await server.recv()) + 1);
 * assert.equal(await client.recv(), 21);
 * await client.close();
 * await server.close();
 * ```
 *
 * @typeParam T The type of the values carried.
 */
export interface Connection<T> extends ReadConnection<T>, WriteConnection<T> {}

/**
 * The streams behind a duplex pipe end; transferable to a worker.
 *
 * @example Transfer an end to a worker
 * ```ts
 * import { pipeEnds } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const [, theirs] = pipeEnds();
 * const { port1, port2 } = new MessageChannel();
 * const arrived = new Promise<MessageEvent>((resolve) => port2.onmessage = resolve);
 * port1.postMessage(theirs, [theirs.readable, theirs.writable]);
 * const end = (await arrived).data;
 * assert.ok(end.readable instanceof ReadableStream);
 * assert.equal(theirs.readable.locked, true); // transferred away
 * await end.readable.cancel();
 * await end.writable.close();
 * port1.close();
 * port2.close();
 * ```
 */
export interface PipeEnd {
  /** Bytes from the other end. */
  readable: ReadableStream<Uint8Array>;
  /** Bytes to the other end. */
  writable: WritableStream<Uint8Array>;
}

/** The stream behind the receiving end of a one-way pipe; transferable to a worker. */
export interface ReadPipeEnd {
  /** Bytes from the sending end. */
  readable: ReadableStream<Uint8Array>;
  /** Absent: this end cannot send. */
  writable?: undefined;
}

/** The stream behind the sending end of a one-way pipe; transferable to a worker. */
export interface WritePipeEnd {
  /** Absent: this end cannot receive. */
  readable?: undefined;
  /** Bytes to the receiving end. */
  writable: WritableStream<Uint8Array>;
}
