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

import { checkCodec } from "../framing/codec_options.ts";
import { checkMaxFrameBytes } from "../framing/framing.ts";
import { checkStreams, StreamTransport } from "../framing/stream_transport.ts";
import {
  connectionFromPort,
  connectionFromRings,
  connectionFromTransport,
  PipeConnection,
} from "./_pipe_connection.ts";
import type {
  Connection,
  PipeEnd,
  ReadConnection,
  ReadPipeEnd,
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
export {
  HAND_OFF,
  HAND_OFF_PORT,
  HAND_OFF_RINGS,
  HAND_OFF_TRANSPORT,
  type HandedOffEnd,
  type HandedOffPort,
  type HandedOffRings,
  type HandedOffTransport,
} from "./_pipe_connection.ts";

/** Options of {@linkcode Pipe} and {@linkcode pipeEnds}. */
export interface PipeOptions extends PipeTransportOptions {
  /**
   * `true` (the default): both ends send and receive. `false`: the first end
   * only receives and the second only sends.
   */
  duplex?: boolean;
}

/**
 * The key of the function on {@linkcode connectionFromStreams} that opens a
 * `Pipe()` end which reached a worker actor as a port (see
 * {@linkcode HAND_OFF_PORT}) over that port's stand-in streams, with no web
 * streams between. A registered symbol: the actor layer looks it up by name.
 */
export const OPEN_PORT: unique symbol = Symbol.for("troupe.pipe.openPort") as never;

/**
 * The key of the function on {@linkcode connectionFromStreams} that opens a
 * `Pipe()` end which reached a worker or thread actor as a ring pair (see
 * {@linkcode HAND_OFF_RINGS}). A registered symbol, as {@linkcode OPEN_PORT}.
 */
export const OPEN_RINGS: unique symbol = Symbol.for("troupe.pipe.openRings") as never;

/**
 * The key of the function on {@linkcode connectionFromStreams} that opens a
 * `Pipe()` end which reached a process actor as a link of the pipe bridge
 * (see {@linkcode HAND_OFF_TRANSPORT}) straight over that link's transport.
 * A registered symbol, as {@linkcode OPEN_PORT}.
 */
export const OPEN_TRANSPORT: unique symbol = Symbol.for("troupe.pipe.openTransport") as never;

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

Object.defineProperty(connectionFromStreams, OPEN_PORT, { value: connectionFromPort });
Object.defineProperty(connectionFromStreams, OPEN_RINGS, { value: connectionFromRings });
Object.defineProperty(connectionFromStreams, OPEN_TRANSPORT, { value: connectionFromTransport });

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
 * - Between threads of one process the values travel over shared memory:
 *   an end handed to a worker or thread actor while its peer is unused
 *   shares two rings (`SharedArrayBuffer`, 64 KiB a direction, allocated at
 *   that hand-off) with the peer, here or in another worker or thread actor
 *   it goes to next. An end handed to a process actor while its peer is
 *   unused goes over the socket the runtime opens to that actor, which the
 *   peer then uses directly (each value framed once). A peer used before
 *   the hand-off carries framed bytes instead, bridged to the rings or the
 *   socket. The guarantees are the same either way; an actor that stops or
 *   crashes has its end closed for it at once.
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
