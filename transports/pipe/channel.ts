/**
 * {@linkcode Pipe}, the user-facing channel on the `pipe` framing: a typed
 * two-ended connection in the manner of Python's `multiprocessing.Pipe`, the
 * {@linkcode Connection}, {@linkcode ReadConnection} and
 * {@linkcode WriteConnection} ends, and {@linkcode pipeEnds} and
 * {@linkcode connectionFromStreams} to open an end in another worker. The
 * bytes on the wire are the `pipe` transport's.
 *
 * @module
 */

import { ConnectionClosedError } from "../../internal/errors.ts";
import { noop, watchDeadline } from "../../internal/abort.ts";
import { checkCodec } from "../framing/codec_options.ts";
import { checkMaxFrameBytes } from "../framing/framing.ts";
import { checkStreams, StreamTransport } from "../framing/stream_transport.ts";
import type { Codec } from "../codec.ts";
import {
  PIPE_END_WINDOW_BYTES,
  type PortStreams,
  portStreams,
  webStreamsOver,
} from "../../internal/port_streams.ts";
import type {
  Connection,
  PipeEnd,
  ReadConnection,
  ReadPipeEnd,
  RecvOptions,
  WriteConnection,
  WritePipeEnd,
} from "./connection.ts";
import type { PipeTransportOptions } from "./pipe.ts";

export type {
  Connection,
  PipeEnd,
  ReadConnection,
  ReadPipeEnd,
  RecvOptions,
  WriteConnection,
  WritePipeEnd,
} from "./connection.ts";

/** Options of {@linkcode Pipe} and {@linkcode pipeEnds}. */
export interface PipeOptions extends PipeTransportOptions {
  /**
   * `true` (the default): both ends send and receive. `false`: the first end
   * only receives and the second only sends.
   */
  duplex?: boolean;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/**
 * The key under which a {@linkcode Pipe} end gives up its streams to be
 * handed to an actor (the actor system calls it when it finds the end in a
 * spawn's args). A registered symbol: the actor layer looks it up by name.
 */
export const HAND_OFF: unique symbol = Symbol.for("troupe.pipe.handOff") as never;

/** What a {@linkcode Pipe} end hands to an actor: its streams, unopened. */
export interface HandedOffEnd {
  readable?: ReadableStream<Uint8Array>;
  writable?: WritableStream<Uint8Array>;
}

/**
 * The key under which a {@linkcode Pipe} end goes to a worker actor as a
 * `MessagePort` straight to its peer end here, when that peer was not used
 * yet: the peer then runs its frames over the port itself, with no web
 * streams and no pump between. A registered symbol, as {@linkcode HAND_OFF}.
 */
export const HAND_OFF_PORT: unique symbol = Symbol.for("troupe.pipe.handOffPort") as never;

/** What a {@linkcode Pipe} end hands to a worker actor through {@linkcode HAND_OFF_PORT}. */
export interface HandedOffPort {
  /** The port to transfer to the worker; its peer stays with this end's peer here. */
  port: MessagePort;
  /** The actor reads from the port. */
  receives: boolean;
  /** The actor writes to the port. */
  sends: boolean;
  /**
   * The actor ended: sends from the peer end here fail at once, and it gets
   * what the actor sent before it ended, then ends. Resolves once the port
   * here is closed.
   */
  settle(): Promise<void>;
}

/**
 * The key of the function on {@linkcode connectionFromStreams} that opens a
 * `Pipe()` end which reached a worker actor as a port (see
 * {@linkcode HAND_OFF_PORT}) over that port's stand-in streams, with no web
 * streams between. A registered symbol: the actor layer looks it up by name.
 */
export const OPEN_PORT: unique symbol = Symbol.for("troupe.pipe.openPort") as never;

/** How long the peer end waits for more of what a stopped actor sent, and at most in all. */
const QUIET_MS = 25;
const GRACE_MS = 2000;

/** A pair of unused ends made together, and what they were made with. */
interface Pairing {
  codec: Codec;
  maxFrameBytes: number;
}

/** A connection end over a {@linkcode StreamTransport}; one class, capabilities checked at runtime. */
class PipeConnection<T> implements Connection<T> {
  #transportOrStreams: StreamTransport | (() => StreamTransport);
  #handedOff = false;
  #handOff: (() => HandedOffEnd) | undefined;
  /** The other end of the same `Pipe()`, while neither was used or handed off. */
  #peer: PipeConnection<T> | undefined;
  #pairing: Pairing | undefined;
  readonly #canSend: boolean;
  readonly #canReceive: boolean;
  #iterator: AsyncIterator<unknown[]> | undefined;
  #buffer: T[] = [];
  #head = 0;
  #waiters: Waiter<T>[] = [];
  #pulling = false;
  #ended: { error: unknown } | undefined;
  #closing: Promise<void> | undefined;

  /**
   * @param transport The transport, or how to make it on first use (an end
   * not used yet can be handed to an actor with `handOff`).
   */
  constructor(
    transport: StreamTransport | (() => StreamTransport),
    canSend: boolean,
    canReceive: boolean,
    handOff?: () => HandedOffEnd,
  ) {
    this.#transportOrStreams = transport;
    this.#canSend = canSend;
    this.#canReceive = canReceive;
    this.#handOff = handOff;
  }

  get #transport(): StreamTransport {
    if (this.#handedOff) {
      throw new TypeError("Cannot use this pipe end here: it was handed to an actor");
    }
    if (typeof this.#transportOrStreams === "function") {
      this.#transportOrStreams = this.#transportOrStreams();
    }
    return this.#transportOrStreams;
  }

  /** Makes `a` and `b`, unused ends of one `Pipe()`, each other's peer. */
  static pair<T>(a: PipeConnection<T>, b: PipeConnection<T>, pairing: Pairing): void {
    a.#peer = b;
    b.#peer = a;
    a.#pairing = b.#pairing = pairing;
  }

  /** Whether nothing opened or handed off this end yet. */
  get #unused(): boolean {
    return typeof this.#transportOrStreams === "function" && !this.#handedOff &&
      this.#closing === undefined;
  }

  /**
   * Hands this end to a worker actor as a port to its peer end here, which
   * then runs over the port; `undefined` when the peer was used already (or
   * this end cannot go to an actor: {@linkcode HAND_OFF} then says why).
   */
  [HAND_OFF_PORT](): HandedOffPort | undefined {
    const peer = this.#peer;
    const pairing = this.#pairing;
    if (
      peer === undefined || pairing === undefined || this.#handOff === undefined ||
      !this.#unused || !peer.#unused
    ) return undefined;
    this.#peer = peer.#peer = undefined;
    this.#handedOff = true;
    const { port1, port2 } = new MessageChannel();
    const receives = peer.#canReceive, sends = peer.#canSend;
    // Read from now on: what the actor sends waits here (up to the window)
    // until the peer is used, handed on, or settled.
    const parts = portStreams(port1, PIPE_END_WINDOW_BYTES);
    const open = (): PortStreams => parts;
    peer.#transportOrStreams = () => {
      const { readable, writable } = open();
      const transport = new StreamTransport(
        receives ? readable : undefined,
        sends ? writable : undefined,
        pairing.codec,
        pairing.maxFrameBytes,
      );
      // A direction this end lacks is ended, so the port closes once the other is done.
      if (!receives) readable.cancel().catch(noop);
      if (!sends) writable.getWriter().close().catch(noop);
      return transport;
    };
    // Handed on to an actor of its own, the peer gives web streams over the port.
    peer.#handOff = () => webStreamsOver(open(), { readable: receives, writable: sends });
    return {
      port: port2,
      receives: this.#canReceive,
      sends: this.#canSend,
      settle: () => open().peerGone(QUIET_MS, GRACE_MS),
    };
  }

  /** Gives up the streams, unopened, to be handed to an actor; throws once the end was used. */
  [HAND_OFF](): HandedOffEnd {
    if (this.#handOff === undefined) {
      throw new TypeError(
        "Cannot hand this pipe end to an actor: its pipe has its own codec or frame limit, and an actor opens its end with the defaults",
      );
    }
    if (this.#handedOff) {
      throw new TypeError("Cannot hand this pipe end to an actor: it went to another one already");
    }
    if (typeof this.#transportOrStreams !== "function" || this.#closing) {
      throw new TypeError(
        "Cannot hand this pipe end to an actor: it was used here already (an end goes to one place)",
      );
    }
    this.#handedOff = true;
    const peer = this.#peer;
    if (peer !== undefined) this.#peer = peer.#peer = undefined;
    return this.#handOff();
  }

  send(value: T): void | Promise<void> {
    if (!this.#canSend) {
      throw new TypeError("Cannot send: this end of a one-way pipe only receives");
    }
    if (this.#closing) throw new ConnectionClosedError("send", "local");
    return this.#transport.send([value]);
  }

  recv(options: RecvOptions = {}): Promise<T> {
    if (!this.#canReceive) {
      throw new TypeError("Cannot receive: this end of a one-way pipe only sends");
    }
    if (this.#handedOff) {
      throw new TypeError("Cannot use this pipe end here: it was handed to an actor");
    }
    const { signal, timeout } = options;
    if (timeout !== undefined && !(typeof timeout === "number" && timeout >= 0)) {
      return Promise.reject(
        new RangeError(
          `Cannot receive: timeout must be a non-negative number of milliseconds, received ${timeout}`,
        ),
      );
    }
    if (this.#head < this.#buffer.length && this.#waiters.length === 0) {
      return Promise.resolve(this.#take());
    }
    if (this.#ended) return Promise.reject(this.#ended.error);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        resolve(value) {
          stop();
          resolve(value);
        },
        reject(error) {
          stop();
          reject(error);
        },
      };
      this.#waiters.push(waiter);
      const stop = watchDeadline(
        signal,
        timeout === Infinity ? undefined : timeout,
        (reason) => {
          const index = this.#waiters.indexOf(waiter);
          if (index === -1) return;
          this.#waiters.splice(index, 1);
          reject(reason);
        },
        () =>
          new DOMException(
            `Cannot receive: no message arrived within ${timeout} ms`,
            "TimeoutError",
          ),
      );
      this.#pull();
    });
  }

  #take(): T {
    const value = this.#buffer[this.#head]!;
    this.#buffer[this.#head++] = undefined as T;
    if (this.#head === this.#buffer.length) {
      this.#buffer = [];
      this.#head = 0;
    }
    return value;
  }

  async #pull(): Promise<void> {
    if (this.#pulling) return;
    this.#pulling = true;
    try {
      this.#iterator ??= this.#transport.receive()[Symbol.asyncIterator]();
      while (this.#waiters.length > 0 && this.#ended === undefined) {
        const result = await this.#iterator.next();
        if (result.done) {
          this.#end(new ConnectionClosedError("receive", this.#closing ? "local" : "peer"));
          return;
        }
        for (const value of result.value) this.#buffer.push(value as T);
        while (this.#waiters.length > 0 && this.#head < this.#buffer.length) {
          this.#waiters.shift()!.resolve(this.#take());
        }
      }
    } catch (error) {
      this.#end(error);
    } finally {
      this.#pulling = false;
    }
  }

  #end(error: unknown): void {
    if (this.#ended) return;
    this.#ended = { error };
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  async *#iterate(): AsyncGenerator<T> {
    while (true) {
      let value: T;
      try {
        value = await this.recv();
      } catch (error) {
        if (error instanceof ConnectionClosedError) return;
        throw error;
      }
      yield value;
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.#iterate();
  }

  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#buffer = [];
      this.#head = 0;
      this.#end(new ConnectionClosedError("receive", "local"));
      // An end handed to an actor is closed by the system when the actor ends.
      this.#closing = this.#handedOff ? Promise.resolve() : this.#transport.close();
    }
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Creates the streams of a pipe without opening it: two ends, each of which
 * can be opened here with {@linkcode connectionFromStreams} or transferred to
 * a worker (list its streams in `postMessage`'s transfer list) and opened
 * there.
 *
 * @example Hand one end to a worker
 * ```ts
 * import { connectionFromStreams, pipeEnds } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const [mine, theirs] = pipeEnds();
 * // worker.postMessage(theirs, [theirs.readable, theirs.writable]);
 * const here = connectionFromStreams<string>(mine);
 * const there = connectionFromStreams<string>(theirs);
 * there.send("hello");
 * assert.equal(await here.recv(), "hello");
 * await here.close();
 * await there.close();
 * ```
 *
 * @param options `duplex: false` for a one-way pipe.
 * @returns The two ends' streams.
 */
export function pipeEnds(options?: { duplex?: true }): [PipeEnd, PipeEnd];
/**
 * Creates the streams of a one-way pipe: the first end receives, the second sends.
 *
 * @param options `{ duplex: false }`.
 * @returns The receiving end's stream and the sending end's stream.
 */
export function pipeEnds(options: { duplex: false }): [ReadPipeEnd, WritePipeEnd];
/**
 * Creates the streams of a pipe, duplex unless `duplex` is `false`.
 *
 * @param options Whether the pipe is duplex.
 * @returns The two ends' streams.
 */
export function pipeEnds(
  options?: { duplex?: boolean },
): [PipeEnd, PipeEnd] | [ReadPipeEnd, WritePipeEnd];
export function pipeEnds(
  options: { duplex?: boolean } = {},
): [PipeEnd, PipeEnd] | [ReadPipeEnd, WritePipeEnd] {
  const duplex = options.duplex ?? true;
  if (typeof duplex !== "boolean") {
    throw new TypeError(`Cannot create pipe: duplex must be a boolean, received ${duplex}`);
  }
  const forward = new TransformStream<Uint8Array, Uint8Array>();
  if (!duplex) return [{ readable: forward.readable }, { writable: forward.writable }];
  const backward = new TransformStream<Uint8Array, Uint8Array>();
  return [
    { readable: backward.readable, writable: forward.writable },
    { readable: forward.readable, writable: backward.writable },
  ];
}

/**
 * Opens a connection end over pipe streams, such as an end made by
 * {@linkcode pipeEnds} and transferred to this worker. Both ends must use the
 * same codec.
 *
 * @example Open both ends of a one-way pipe
 * ```ts
 * import { connectionFromStreams, pipeEnds } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const [readEnd, writeEnd] = pipeEnds({ duplex: false });
 * const reader = connectionFromStreams<number>(readEnd);
 * const writer = connectionFromStreams<number>(writeEnd);
 * writer.send(42);
 * assert.equal(await reader.recv(), 42);
 * await writer.close();
 * await reader.close();
 * ```
 *
 * @typeParam T The type of the values carried.
 * @param end The streams of the end: both for a duplex end, one for a one-way end.
 * @param options The codec and frame limit.
 * @returns A connection that can do what its streams allow.
 * @throws {TypeError} When neither stream is given, a stream is locked, or the codec is not a codec.
 * @throws {RangeError} When `maxFrameBytes` is out of range.
 */
export function connectionFromStreams<T = unknown>(
  end: PipeEnd,
  options?: PipeTransportOptions,
): Connection<T>;
/**
 * Opens the receiving end of a one-way pipe over its stream.
 *
 * @typeParam T The type of the values carried.
 * @param end The receiving end's readable stream.
 * @param options The codec and frame limit.
 * @returns A connection that only receives.
 */
export function connectionFromStreams<T = unknown>(
  end: ReadPipeEnd,
  options?: PipeTransportOptions,
): ReadConnection<T>;
/**
 * Opens the sending end of a one-way pipe over its stream.
 *
 * @typeParam T The type of the values carried.
 * @param end The sending end's writable stream.
 * @param options The codec and frame limit.
 * @returns A connection that only sends.
 */
export function connectionFromStreams<T = unknown>(
  end: WritePipeEnd,
  options?: PipeTransportOptions,
): WriteConnection<T>;
export function connectionFromStreams<T = unknown>(
  end: PipeEnd | ReadPipeEnd | WritePipeEnd,
  options: PipeTransportOptions = {},
): Connection<T> | ReadConnection<T> | WriteConnection<T> {
  const context = "Cannot open pipe connection";
  const { readable, writable } = end;
  if (readable === undefined && writable === undefined) {
    throw new TypeError(`${context}: the end has neither a readable nor a writable stream`);
  }
  checkStreams(readable, writable, context);
  const codec = checkCodec(options.codec, context);
  const limit = checkMaxFrameBytes(options.maxFrameBytes, context);
  const transport = new StreamTransport(readable, writable, codec, limit);
  return new PipeConnection<T>(transport, writable !== undefined, readable !== undefined);
}

/**
 * In a worker actor: opens a `Pipe()` end that came as a port, with the
 * defaults (an end goes to an actor only with them), straight over the
 * port's stand-in streams. A direction the end lacks is ended at once.
 */
function connectionFromPort(port: MessagePort, receives: boolean, sends: boolean): unknown {
  const { readable, writable } = portStreams(port, PIPE_END_WINDOW_BYTES);
  const transport = new StreamTransport(
    receives ? readable : undefined,
    sends ? writable : undefined,
    checkCodec(undefined, "Cannot open pipe connection"),
    checkMaxFrameBytes(undefined, "Cannot open pipe connection"),
  );
  if (!receives) readable.cancel().catch(noop);
  if (!sends) writable.getWriter().close().catch(noop);
  return new PipeConnection(transport, sends, receives);
}

Object.defineProperty(connectionFromStreams, OPEN_PORT, { value: connectionFromPort });

/**
 * Creates a pipe: two connected ends, like Python's `multiprocessing.Pipe`.
 *
 * - Values arrive in the order they were sent, each once, as copies.
 * - `recv()` never waits forever on a dead channel: it rejects with
 *   `ConnectionClosedError` once the peer closed and everything it sent was
 *   received, and honours `timeout` and `signal`.
 * - With `duplex: false` the first end only receives and the second only
 *   sends; the types have no `send` / `recv` on the wrong end, and calling one
 *   anyway throws a `TypeError`.
 * - Backpressure: `send()` returns a promise when the pipe is full.
 * - An end can be handed to an actor in its spawn `args`: the actor gets it
 *   as the same kind of connection. It goes to one place: handed off, it
 *   throws `TypeError` here; used here first, or made with its own `codec`
 *   or `maxFrameBytes`, it is refused at spawn.
 *
 * @example A duplex pipe
 * ```ts
 * import { Pipe } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const [parent, child] = Pipe<string>();
 * child.send("hello");
 * assert.equal(await parent.recv({ timeout: 1000 }), "hello");
 * parent.send("hi back");
 * assert.equal(await child.recv(), "hi back");
 * await child.close();
 * await assert.rejects(parent.recv(), { name: "ConnectionClosedError" });
 * await parent.close();
 * ```
 *
 * @example A one-way pipe, iterated until the sender closes
 * ```ts
 * import { Pipe } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const [output, input] = Pipe<number>({ duplex: false });
 * for (let i = 0; i < 3; i++) input.send(i);
 * await input.close();
 * const got: number[] = [];
 * for await (const n of output) got.push(n);
 * assert.deepEqual(got, [0, 1, 2]);
 * await output.close();
 * ```
 *
 * @typeParam T The type of the values carried.
 * @param options `duplex` (default `true`), the codec and the frame limit.
 * @returns The two ends.
 * @throws {TypeError} When `duplex` is not a boolean or the codec is not a codec.
 * @throws {RangeError} When `maxFrameBytes` is out of range.
 */
export function Pipe<T = unknown>(
  options?: PipeOptions & { duplex?: true },
): [Connection<T>, Connection<T>];
/**
 * Creates a one-way pipe: the first end only receives, the second only sends.
 *
 * @typeParam T The type of the values carried.
 * @param options `duplex: false`, the codec and the frame limit.
 * @returns The receiving end and the sending end.
 */
export function Pipe<T = unknown>(
  options: PipeOptions & { duplex: false },
): [ReadConnection<T>, WriteConnection<T>];
/**
 * Creates a pipe, duplex unless `duplex` is `false`.
 *
 * @typeParam T The type of the values carried.
 * @param options `duplex`, the codec and the frame limit.
 * @returns The two ends.
 */
export function Pipe<T = unknown>(
  options?: PipeOptions,
): [Connection<T>, Connection<T>] | [ReadConnection<T>, WriteConnection<T>];
export function Pipe<T = unknown>(
  options: PipeOptions = {},
): [Connection<T>, Connection<T>] | [ReadConnection<T>, WriteConnection<T>] {
  const { duplex, ...rest } = options;
  const codec = checkCodec(rest.codec, "Cannot create pipe");
  const maxFrameBytes = checkMaxFrameBytes(rest.maxFrameBytes, "Cannot create pipe");
  // Only an end with the default codec and frame limit can go to an actor:
  // the actor opens its end with the defaults.
  const portable = rest.codec === undefined && rest.maxFrameBytes === undefined;
  const ends = pipeEnds({ duplex }) as (PipeEnd | ReadPipeEnd | WritePipeEnd)[];
  const open = (end: PipeEnd | ReadPipeEnd | WritePipeEnd) =>
    new PipeConnection<T>(
      () => new StreamTransport(end.readable, end.writable, codec, maxFrameBytes),
      end.writable !== undefined,
      end.readable !== undefined,
      portable ? () => ({ ...end }) : undefined,
    );
  const first = open(ends[0]!), second = open(ends[1]!);
  if (portable) PipeConnection.pair(first, second, { codec, maxFrameBytes });
  return [first, second] as
    | [Connection<T>, Connection<T>]
    | [ReadConnection<T>, WriteConnection<T>];
}
