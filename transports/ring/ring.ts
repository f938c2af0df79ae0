/**
 * The `ring` transport: two lock-free byte rings in shared memory, one per
 * direction, between a parent and a worker. It is the fast transport: a
 * batch costs one codec call and one `Uint8Array.set`, a busy receiver costs
 * the sender no wake-up at all, and an idle side sleeps instead of spinning.
 *
 * Guarantees:
 * - Batches arrive whole, in the order they were sent, each once.
 * - `send()` encodes synchronously: a message the codec cannot encode throws
 *   at the sender and nothing of its batch is written; an encoded batch above
 *   `maxFrameBytes` throws `FrameTooLargeError`.
 * - Backpressure: when the ring lacks room, `send()` returns a promise that
 *   resolves once the batch is written; later batches queue behind it.
 *   Batches larger than the ring itself are streamed through it in pieces.
 * - `close()` never waits for the peer. The peer's `receive()` ends after the
 *   batches already written; batches still waiting for room are dropped (await
 *   `send()` before `close()` to be sure they went out); this end's `receive()`
 *   ends at once. Once the peer has closed, `send()` throws a `TypeError` and
 *   batches still waiting for room are dropped.
 * - Peer death: a dead worker cannot say goodbye, and nothing in shared memory
 *   changes when it dies. The owner that learns of the death (the actor system
 *   watching its worker) calls `close()` on the parent's end: `receive()` ends
 *   and pending sends settle, so nothing hangs.
 * - Idle costs nothing: when the ring runs dry the receiver sleeps in
 *   `Atomics.waitAsync`, with the event loop free, and the sender notifies only
 *   a receiver that sleeps. When more is likely soon (this end just sent, so a
 *   reply may come, or batches have been flowing) it first waits up to
 *   `spinMs` (0.05 ms, 50 µs) holding the thread: a busy spin of up to 25 µs, then a
 *   blocking `Atomics.wait`, which the peer's notify ends in microseconds and
 *   which frees the core when threads outnumber cores. It waits at once inside
 *   `receive()` only right after a send, otherwise after the current
 *   macrotask, so the thread's handlers run first; those later waits, when
 *   they find nothing, are skipped more and more often (up to 16 in a row), so
 *   a peer that is slow to answer costs little.
 * - Fairness: while the peer keeps the ring full, `receive()` still lets the
 *   event loop run (timers, I/O, other channels) about every 0.2 ms.
 * - Memory: received `Uint8Array`s are views (as with `v8Codec`) into 1 MiB
 *   buffers shared with other messages (of batches up to 256 KiB); `slice()`
 *   one to keep it long without keeping its neighbours. On the fast path
 *   (plain data) each keeps its sender's `byteOffset` modulo 8, so an
 *   8-aligned array can be viewed as a `Float64Array` without a copy, and
 *   copies run word-wise.
 *
 * @module
 */

import {
  allocateRing,
  isPowerOfTwo,
  MAX_RING_BYTES,
  MIN_RING_BYTES,
  ringCapacity,
} from "./_ring.ts";
import type { Codec } from "../codec.ts";
import { builtinCodec, builtinNameOf, checkCodec } from "../framing/codec_options.ts";
import type { HostKind, Transport, TransportFactory, TransportLink } from "../transport.ts";
import { RingTransport } from "./_ring_transport.ts";
import { recycleWhenGone, takeRing } from "./_ring_pool.ts";

/** Default bytes of each ring's data area (see `RingTransportOptions.ringBytes`). */
const DEFAULT_RING_BYTES = 1024 * 1024;
/** Default largest encoded batch. */
const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** Default longest spin while a reply is likely. */
const DEFAULT_SPIN_MS = 0.05;

/** Options of {@linkcode ringTransport} and {@linkcode ringTransportPair}. */
export interface RingTransportOptions {
  /**
   * Bytes of each ring (one per direction), a power of two from 1 KiB to
   * 1 GiB. Default 1 MiB. Measured between the main thread and a worker
   * (Deno 2.9.6, 2 cores, several runs): small messages in batches of 256
   * run at 1.5M to 2.9M msg/s and round trips take 6 to 12 µs at p50 whatever
   * the size; 64 KiB messages run at 0.4 to 1.1 GB/s with 64 KiB rings (one
   * message does not fit, so each is streamed), 1.2 to 1.8 GB/s with 256 KiB,
   * 1.4 to 1.8 GB/s with 1 MiB and 1.5 to 1.9 GB/s with 4 MiB. 1 MiB leaves
   * room for the actor runtime's multi-message batches of large payloads;
   * memory is committed as the ring gets used, up to twice this per actor.
   */
  ringBytes?: number;
  /**
   * The largest encoded batch, in bytes, up to 1 GiB. Larger batches throw
   * `FrameTooLargeError` at the sender; a peer that declares a larger record
   * makes `receive()` throw `ProtocolError`. Default 64 MiB.
   */
  maxFrameBytes?: number;
  /** How batches become bytes. Default {@linkcode v8Codec}. */
  codec?: Codec;
  /**
   * URL of a module exporting the same codec as `codec`, named `codec`, for
   * the worker's end. Needed with {@linkcode ringTransport} when `codec` is
   * neither {@linkcode v8Codec} nor {@linkcode jsonCodec}, since functions do
   * not cross to a worker.
   */
  codecModule?: string;
  /**
   * The longest a receiver waits holding its thread, in milliseconds (a
   * fraction: 0.05 is 50 µs), when
   * data is likely soon (a reply to what it just sent, or more of a flowing
   * stream), before it sleeps and frees the event loop; the same bound holds
   * for a sender waiting for room. 0 turns it off. Default 0.05.
   */
  spinMs?: number;
}

/**
 * What {@linkcode connect} takes: the worker's view of a channel that
 * {@linkcode ringTransport} opened. Structured-cloneable; the buffers are
 * shared, not transferred.
 */
export interface RingConnectOptions {
  /** The ring this end reads. */
  inbound: SharedArrayBuffer;
  /** The ring this end writes. */
  outbound: SharedArrayBuffer;
  /** The largest encoded batch, in bytes. */
  maxFrameBytes: number;
  /** The longest reply spin, in microseconds. */
  spinMs: number;
  /** `"v8"`, `"json"`, or `"module"` to import `codecModule`. */
  codec: "v8" | "json" | "module";
  /** URL of a module exporting `codec`, when `codec` is `"module"`. */
  codecModule?: string;
}

interface Settings {
  ringBytes: number;
  maxFrameBytes: number;
  codec: Codec;
  codecModule: string | undefined;
  spinMs: number;
}

function settingsOf(options: RingTransportOptions, what: string): Settings {
  const {
    ringBytes = DEFAULT_RING_BYTES,
    maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
    codecModule,
    spinMs = DEFAULT_SPIN_MS,
  } = options;
  if (
    !isPowerOfTwo(ringBytes) || ringBytes < MIN_RING_BYTES || ringBytes > MAX_RING_BYTES
  ) {
    throw new RangeError(
      `Cannot create ${what}: ringBytes must be a power of two from ${MIN_RING_BYTES} to ${MAX_RING_BYTES}, received ${ringBytes}`,
    );
  }
  if (
    !Number.isInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > MAX_RING_BYTES
  ) {
    throw new RangeError(
      `Cannot create ${what}: maxFrameBytes must be an integer from 1 to ${MAX_RING_BYTES}, received ${maxFrameBytes}`,
    );
  }
  if (typeof spinMs !== "number" || !(spinMs >= 0 && spinMs <= 10)) {
    throw new RangeError(
      `Cannot create ${what}: spinMs must be a number of milliseconds from 0 to 10, received ${spinMs}`,
    );
  }
  const codec = checkCodec(options.codec, `Cannot create ${what}`);
  if (codecModule !== undefined && typeof codecModule !== "string") {
    throw new TypeError(
      `Cannot create ${what}: codecModule must be a module URL string, received ${typeof codecModule}`,
    );
  }
  return { ringBytes, maxFrameBytes, codec, codecModule, spinMs };
}

function codecTag(settings: Settings): RingConnectOptions["codec"] | undefined {
  if (settings.codecModule !== undefined) return "module";
  return builtinNameOf(settings.codec);
}

/**
 * Opens the worker's end of a `ring` channel. The actor runtime calls it in
 * the worker with the options the parent's factory produced.
 *
 * @example Open both ends by hand, as the runtime does
 * ```ts
 * import { ringTransport } from "@troupe/troupe";
 * import type { RingConnectOptions, Transport } from "@troupe/troupe/transport";
 * import assert from "node:assert/strict";
 *
 * const link = await ringTransport().open("worker");
 * // A worker imports remote.module and calls connect() with the options it was sent.
 * const { connect } = await import(link.remote.module);
 * const remote: Transport = await connect(link.remote.options as RingConnectOptions);
 * await link.local.send([{ op: "ping" }]);
 * for await (const batch of remote.receive()) {
 *   assert.deepEqual(batch, [{ op: "ping" }]);
 *   break;
 * }
 * await link.local.close();
 * await remote.close();
 * ```
 *
 * @param options The shared buffers and settings from the parent.
 * @returns The worker's end; a promise when the codec comes from a module.
 * @throws {TypeError} When the options do not describe a ring channel.
 */
export function connect(options: RingConnectOptions): Transport | Promise<Transport> {
  if (options === null || typeof options !== "object") {
    throw new TypeError("Cannot connect ring transport: options must be an object");
  }
  const { inbound, outbound, maxFrameBytes, spinMs, codec, codecModule } = options;
  ringCapacity(inbound);
  ringCapacity(outbound);
  const open = (resolved: Codec): Transport => {
    const settings = settingsOf({ maxFrameBytes, spinMs, codec: resolved }, "ring transport");
    return new RingTransport(
      inbound,
      outbound,
      settings.codec,
      settings.maxFrameBytes,
      settings.spinMs,
    );
  };
  if (codec === "module") {
    return import(String(codecModule)).then((module: { codec?: Codec }) => {
      if (module.codec === undefined) {
        throw new TypeError(
          `Cannot connect ring transport: module ${codecModule} does not export "codec"`,
        );
      }
      return open(module.codec);
    });
  }
  const builtin = builtinCodec(codec);
  if (builtin === undefined) {
    throw new TypeError(
      `Cannot connect ring transport: codec must be "v8", "json" or "module", received ${
        String(codec)
      }`,
    );
  }
  return open(builtin);
}

/**
 * Creates two connected `ring` transports in this thread, for tests and
 * benchmarks. They do not spin (a spin cannot see a peer on the same thread).
 *
 * @example
 * ```ts
 * import { ringTransportPair } from "@troupe/troupe/transport";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = ringTransportPair({ ringBytes: 64 * 1024 });
 * await a.send([1, "two", { three: 3 }]);
 * for await (const batch of b.receive()) {
 *   assert.deepEqual(batch, [1, "two", { three: 3 }]);
 *   break;
 * }
 * await a.close();
 * await b.close();
 * ```
 *
 * @param options Ring size, frame limit and codec.
 * @returns Both ends.
 * @throws {RangeError} When a size option is out of range.
 * @throws {TypeError} When the codec is not a codec.
 */
export function ringTransportPair(options: RingTransportOptions = {}): [Transport, Transport] {
  const settings = settingsOf(options, "ring transport pair");
  const aToB = allocateRing(settings.ringBytes);
  const bToA = allocateRing(settings.ringBytes);
  const { codec, maxFrameBytes } = settings;
  return [
    new RingTransport(bToA, aToB, codec, maxFrameBytes, 0),
    new RingTransport(aToB, bToA, codec, maxFrameBytes, 0),
  ];
}

/**
 * The `ring` transport factory: shared-memory rings between the parent and a
 * worker actor. Processes have no shared memory in Deno, so it reaches
 * workers only.
 *
 * @example
 * ```ts
 * import { ringTransport } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const factory = ringTransport({ ringBytes: 1024 * 1024 });
 * assert.equal(factory.name, "ring");
 * assert.deepEqual(factory.hosts, ["worker"]);
 * await assert.rejects(factory.open("process"), TypeError);
 * ```
 *
 * @param options Ring size, frame limit, codec and spinning.
 * @returns A factory the actor system uses for `transport: "ring"`.
 * @throws {RangeError} When a size option is out of range.
 * @throws {TypeError} When the codec is not a codec, or is a custom codec without `codecModule`.
 */
export function ringTransport(options: RingTransportOptions = {}): TransportFactory {
  const settings = settingsOf(options, "ring transport");
  const tag = codecTag(settings);
  if (tag === undefined) {
    throw new TypeError(
      `Cannot create ring transport: the ${settings.codec.name} codec needs codecModule, the URL of a module exporting it as "codec", so the worker can load it`,
    );
  }
  return {
    name: "ring",
    hosts: ["worker"],
    open(host: HostKind): Promise<TransportLink> {
      if (host !== "worker") {
        return Promise.reject(
          new TypeError(
            `Cannot open ring transport: rings need shared memory, which only workers share with this thread, received "${host}"`,
          ),
        );
      }
      const toWorker = takeRing(settings.ringBytes);
      const toParent = takeRing(settings.ringBytes);
      const local = new RingTransport(
        toParent,
        toWorker,
        settings.codec,
        settings.maxFrameBytes,
        settings.spinMs,
      );
      const remote: RingConnectOptions = {
        inbound: toWorker,
        outbound: toParent,
        maxFrameBytes: settings.maxFrameBytes,
        spinMs: settings.spinMs,
        codec: tag,
      };
      if (settings.codecModule !== undefined) remote.codecModule = settings.codecModule;
      return Promise.resolve({
        local,
        remote: { module: import.meta.url, options: remote, transfer: [] },
        peerGone: recycleWhenGone(local, toWorker, toParent),
      });
    },
  };
}
