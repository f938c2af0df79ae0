/**
 * The `pipe` transport: codec-encoded, length-prefixed frames over a pair of
 * byte streams (`ReadableStream<Uint8Array>` in, `WritableStream<Uint8Array>`
 * out). `Pipe`, the typed two-ended channel on top of it, is in
 * `channel.ts`; the stream transport itself in `../framing/stream_transport.ts`.
 *
 * Guarantees:
 * - Batches arrive whole and in order; every batch sent in one tick goes out
 *   in one write (at most one write per microtask, except that a tick which
 *   queues 1 MiB or more writes it at once).
 * - `send()` encodes synchronously: a value the codec cannot encode, or a
 *   batch over `maxFrameBytes`, throws at the sender and nothing of that batch
 *   is written.
 * - Backpressure: `send()` returns a promise only when the writable stream's
 *   queue is full (`desiredSize <= 0`); await it before sending more. It
 *   resolves when there is room, and rejects with `ConnectionClosedError` if
 *   the stream fails first.
 * - `receive()` ends when the peer closes its writable; it throws
 *   `ProtocolError` on an oversized length prefix, a truncated frame, bytes the
 *   codec cannot decode or a failed stream, and then closes this end.
 * - `close()` flushes what was sent, closes the writable (the peer's
 *   `receive()` ends once it has read everything) and cancels the readable. It
 *   does not wait for the peer to read what is still queued.
 *
 * With {@linkcode v8Codec} (the default) a batch of plain data travels as
 * JSON text, plain data holding `Uint8Array`s as JSON followed by the raw
 * bytes, and anything else as V8 serialization; each decodes to what V8 would
 * give, and a frame's first byte tells which it is (`[`, `B` or `0xff`), so
 * both ends must run this version. {@linkcode jsonCodec} frames are plain
 * JSON; a custom codec's frames are exactly what it encodes. As with V8, a
 * received `Uint8Array` is a view into the chunk its frame arrived in.
 *
 * @module
 */

import type { Codec } from "../codec.ts";
import {
  type BuiltinCodecName,
  builtinCodecName,
  checkCodec,
  codecNamed,
} from "../framing/codec_options.ts";
import { checkMaxFrameBytes } from "../framing/framing.ts";
import { checkStreams, StreamTransport } from "../framing/stream_transport.ts";
import { portStreams } from "../../internal/port_streams.ts";
import type {
  HostKind,
  ProcessStdio,
  Transport,
  TransportFactory,
  TransportLink,
} from "../transport.ts";

/** Options of the `pipe` transport. */
export interface PipeTransportOptions {
  /**
   * How batches become bytes; both ends must use the same. Defaults to
   * {@linkcode v8Codec}. A factory for worker actors accepts only the built-in
   * codecs ({@linkcode v8Codec}, {@linkcode jsonCodec}), which the worker can
   * load by name.
   */
  codec?: Codec;
  /** The largest encoded batch, in bytes; defaults to 64 MiB, at most 2^32 - 1. */
  maxFrameBytes?: number;
}

/**
 * What {@linkcode connect} needs to open the actor's end of a `pipe` channel.
 * Structured-cloneable; the streams travel in the transfer list.
 *
 * - `"streams"`: the given streams (transferred to a worker actor).
 * - `"port"`: a byte stream over a `MessagePort` (how the factory reaches a
 *   worker actor: chunks are posted as written, with credit in bytes).
 * - `"stdio"`: this process's standard input and output (a subprocess actor);
 *   nothing else may write to standard output then.
 */
export type PipeConnectOptions =
  | {
    kind: "streams";
    readable: ReadableStream<Uint8Array>;
    writable: WritableStream<Uint8Array>;
    codec: BuiltinCodecName;
    maxFrameBytes: number;
  }
  | { kind: "port"; port: MessagePort; codec: BuiltinCodecName; maxFrameBytes: number }
  | { kind: "stdio"; codec: BuiltinCodecName; maxFrameBytes: number };

/**
 * Opens the actor's end of a `pipe` channel. The runtime calls it inside the
 * worker (or subprocess) with the options the parent's factory produced; it
 * is not meant to be called by users, so `mod.ts` does not export it.
 *
 * @param options Which streams to use, the codec's name and the frame limit.
 * @param stdio For `kind: "stdio"`, the streams standing for stdin and stdout
 * (the process bootstrap passes stdin after its boot frame); default the real ones.
 * @returns The actor's end.
 * @throws {TypeError} When the options name an unknown kind or codec.
 * @throws {RangeError} When `maxFrameBytes` is out of range.
 */
export function connect(options: PipeConnectOptions, stdio?: ProcessStdio): Transport {
  const context = "Cannot connect pipe transport";
  const codec = codecNamed(options.codec, context);
  const limit = checkMaxFrameBytes(options.maxFrameBytes, context);
  switch (options.kind) {
    case "streams":
      return new StreamTransport(options.readable, options.writable, codec, limit);
    case "port": {
      const { readable, writable } = portStreams(options.port);
      return new StreamTransport(readable, writable, codec, limit);
    }
    case "stdio":
      return new StreamTransport(
        stdio?.readable ?? Deno.stdin.readable,
        stdio?.writable ?? Deno.stdout.writable,
        codec,
        limit,
      );
    default:
      throw new TypeError(
        `${context}: unknown kind "${
          (options as { kind: unknown }).kind
        }", expected "streams", "port" or "stdio"`,
      );
  }
}

/**
 * Creates a `pipe` transport over streams you already have, such as a
 * subprocess's stdout and stdin or a socket's `readable` and `writable`.
 *
 * @example Two ends over two in-memory streams
 * ```ts
 * import { pipeTransportFromStreams } from "@troupe/troupe/transport";
 * import assert from "node:assert/strict";
 *
 * const ab = new TransformStream<Uint8Array, Uint8Array>();
 * const ba = new TransformStream<Uint8Array, Uint8Array>();
 * const a = pipeTransportFromStreams(ba.readable, ab.writable);
 * const b = pipeTransportFromStreams(ab.readable, ba.writable);
 * a.send([new Map([["n", 1n]])]);
 * for await (const batch of b.receive()) {
 *   assert.deepEqual(batch, [new Map([["n", 1n]])]);
 *   break;
 * }
 * await a.close();
 * await b.close();
 * ```
 *
 * @param readable The bytes the peer writes.
 * @param writable Where this end writes.
 * @param options The codec and frame limit.
 * @returns A transport that owns both streams (it locks them).
 * @throws {TypeError} When a stream is missing or locked, or the codec is not a codec.
 * @throws {RangeError} When `maxFrameBytes` is out of range.
 */
export function pipeTransportFromStreams(
  readable: ReadableStream<Uint8Array>,
  writable: WritableStream<Uint8Array>,
  options: PipeTransportOptions = {},
): Transport {
  const context = "Cannot create pipe transport";
  checkStreams(readable, writable, context);
  const codec = checkCodec(options.codec, context);
  const limit = checkMaxFrameBytes(options.maxFrameBytes, context);
  return new StreamTransport(readable, writable, codec, limit);
}

/**
 * The `pipe` transport factory, for worker and process actors.
 *
 * - Worker: the byte stream runs over a `MessagePort`: each chunk of frames
 *   is posted as it is written (from 16 KiB on its buffer is transferred,
 *   not copied), and the reader gives credit back in bytes, so up to 1 MiB
 *   is in flight before `send()` waits. (A transferred web stream moves one chunk per round trip
 *   between threads: 2-3 times slower.) A terminated worker neither ends nor
 *   errors the stream: the runtime closes the local end itself.
 * - Process: the channel is the child's stdin and stdout, which the runtime
 *   passes as `stdio`; the link has `usesStdio: true` and the child must log
 *   to stderr only.
 *
 * @example Pick the pipe transport with a smaller frame limit
 * ```ts
 * import { pipeTransport } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const factory = pipeTransport({ maxFrameBytes: 1024 * 1024 });
 * assert.equal(factory.name, "pipe");
 * assert.deepEqual(factory.hosts, ["worker", "process"]);
 * ```
 *
 * @param options The codec (built-in codecs only) and frame limit.
 * @returns A factory the actor system uses for `transport: "pipe"`.
 * @throws {TypeError} When the codec is not {@linkcode v8Codec} or {@linkcode jsonCodec}.
 * @throws {RangeError} When `maxFrameBytes` is out of range.
 */
export function pipeTransport(options: PipeTransportOptions = {}): TransportFactory {
  const context = "Cannot create pipe transport";
  const codec = checkCodec(options.codec, context);
  const codecName = builtinCodecName(codec, context);
  const limit = checkMaxFrameBytes(options.maxFrameBytes, context);
  return {
    name: "pipe",
    hosts: ["worker", "process"],
    open(host: HostKind, stdio?: ProcessStdio): Promise<TransportLink> {
      if (host === "process") {
        if (stdio === undefined) {
          return Promise.reject(
            new TypeError("Cannot open pipe transport to a process: the child's stdio is missing"),
          );
        }
        const remote: PipeConnectOptions = {
          kind: "stdio",
          codec: codecName,
          maxFrameBytes: limit,
        };
        return Promise.resolve({
          local: new StreamTransport(stdio.readable, stdio.writable, codec, limit),
          remote: { module: import.meta.url, options: remote, transfer: [] },
          usesStdio: true,
          minimalStdio: true,
        });
      }
      if (host !== "worker") {
        return Promise.reject(
          new TypeError(
            `Cannot open pipe transport: host must be "worker" or "process", received "${host}"`,
          ),
        );
      }
      const channel = new MessageChannel();
      const remote: PipeConnectOptions = {
        kind: "port",
        port: channel.port2,
        codec: codecName,
        maxFrameBytes: limit,
      };
      const { readable, writable } = portStreams(channel.port1);
      return Promise.resolve({
        local: new StreamTransport(readable, writable, codec, limit),
        remote: { module: import.meta.url, options: remote, transfer: [channel.port2] },
      });
    },
  };
}
