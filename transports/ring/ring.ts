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

import { FrameTooLargeError, ProtocolError } from "../../internal/errors.ts";
import {
  allocateRing,
  isPowerOfTwo,
  MAX_RING_BYTES,
  MIN_RING_BYTES,
  READER_SLEEP,
  RECORD_ALIGN,
  RECORD_HEADER_BYTES,
  ringCapacity,
  RingReader,
  RingWriter,
  WRITER_WAIT,
} from "./_ring.ts";
import type { Codec } from "../codec.ts";
import { builtinCodec, builtinNameOf, checkCodec } from "../framing/codec_options.ts";
import { FrameCodec } from "../framing/frame_codec.ts";
import {
  emptyStats,
  type HostKind,
  type SendHints,
  type Transport,
  type TransportFactory,
  type TransportLink,
  type TransportStats,
} from "../transport.ts";
import { WaitPolicy } from "./_wait_policy.ts";
import { recycleWhenGone, takeRing } from "./_ring_pool.ts";

/** Default bytes of each ring's data area (see `RingTransportOptions.ringBytes`). */
const DEFAULT_RING_BYTES = 1024 * 1024;
/** Largest {@linkcode RingTransport.batchBytes}. */
const BATCH_BYTES = 128 * 1024;
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

interface PendingWrite {
  /** The payload bytes not yet written, from payload offset `base` on. */
  frame: Uint8Array;
  base: number;
  length: number;
  done: number;
  resolve: () => void;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/** One end of a `ring` channel: writes one ring, reads the other. */
class RingTransport implements Transport, AsyncDisposable {
  readonly name = "ring";
  /** The largest encoded message this end sends. */
  readonly maxFrameBytes: number;
  /**
   * A quarter of the ring, at most 128 KiB: the receiver copies a batch out
   * and decodes it while the sender writes the next, and it copies a batch
   * (which ends up to one message past this size) into a pooled buffer rather
   * than one of its own.
   */
  readonly batchBytes: number;
  #out: RingWriter;
  #in: RingReader;
  #codec: FrameCodec;
  #maxBytes: number;
  #stats = emptyStats();
  #closed = false;
  #roomWanted: number;

  // Receiving.
  #receiving = false;
  #ended = false;
  #frames: Uint8Array[] = [];
  #frameIndex = 0;

  // Spinning, sleeping, fairness and keep-alive.
  readonly #wait: WaitPolicy;

  // Sending.
  #queue: PendingWrite[] = [];
  #pumping = false;

  constructor(
    inbound: SharedArrayBuffer,
    outbound: SharedArrayBuffer,
    codec: Codec,
    maxFrameBytes: number,
    spinMs: number,
  ) {
    this.#codec = new FrameCodec(codec);
    this.#in = new RingReader(inbound, maxFrameBytes, this.#codec.reusable);
    this.#out = new RingWriter(outbound);
    this.#maxBytes = maxFrameBytes;
    this.maxFrameBytes = maxFrameBytes;
    this.#wait = new WaitPolicy(this.#in, this.#out, spinMs);
    this.#roomWanted = Math.max(RECORD_HEADER_BYTES, ringCapacity(outbound) / 4);
    this.batchBytes = Math.min(this.#roomWanted, BATCH_BYTES);
  }

  send(messages: readonly unknown[], hints?: SendHints): void | Promise<void> {
    if (this.#closed) throw new TypeError("Cannot send: the transport is closed");
    if (this.#out.readerClosed()) {
      throw new TypeError("Cannot send: the peer closed the transport");
    }
    const codec = this.#codec;
    const frame = codec.encode(messages, hints?.kind);
    const length = codec.length;
    if (length > this.#maxBytes) throw new FrameTooLargeError(length, this.#maxBytes);
    const stats = this.#stats;
    stats.messagesSent += messages.length;
    stats.batchesSent++;
    stats.bytesSent += length;
    if (hints?.quiet !== true) this.#wait.arm();
    let done = 0;
    if (this.#queue.length === 0) {
      done = this.#out.write(frame, length, 0);
      if (done === length + RECORD_HEADER_BYTES) return;
    }
    const { rest, base } = codec.keep(frame, Math.max(0, done - RECORD_HEADER_BYTES));
    return new Promise<void>((resolve) => {
      this.#queue.push({ frame: rest, base, length, done, resolve });
      if (!this.#pumping) this.#pump();
    });
  }

  receive(): AsyncIterable<unknown[]> {
    if (this.#receiving) {
      throw new TypeError("Cannot receive: receive() was already called on this transport");
    }
    this.#receiving = true;
    const iterator: AsyncIterator<unknown[]> = {
      next: () => this.#next(),
      return: () => {
        this.#ended = true;
        this.#wait.wake();
        return Promise.resolve(DONE);
      },
    };
    return { [Symbol.asyncIterator]: () => iterator };
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    // A batch cut off mid-record is dropped by the peer, not reported as truncated.
    const cut = this.#queue.length > 0 && this.#queue[0]!.done > 0;
    // Reader first: once the peer sees this end's stream end, it must also see
    // that nobody reads what it sends (its send() then throws at once).
    this.#in.closeReader();
    this.#out.closeWriter(cut);
    // Wake this end's own waiters: the receiver and a send waiting for room.
    Atomics.notify(this.#in.words, READER_SLEEP);
    Atomics.notify(this.#out.words, WRITER_WAIT);
    this.#wait.close();
    const queue = this.#queue;
    this.#queue = [];
    for (const pending of queue) pending.resolve();
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  stats(): TransportStats {
    return { ...this.#stats };
  }

  // ---- Receiving ----

  #next(): Promise<IteratorResult<unknown[]>> {
    if (this.#ended) return Promise.resolve(DONE);
    try {
      let batch = this.#poll();
      // A reply to what this end just sent is likely: wait for it here.
      if (batch === undefined && !this.#ended && this.#wait.spinForReply()) batch = this.#poll();
      if (batch !== undefined) return this.#wait.deliver(batch);
      if (this.#ended) return Promise.resolve(DONE);
    } catch (error) {
      this.#ended = true;
      return Promise.reject(error);
    }
    return this.#sleepingNext();
  }

  async #sleepingNext(): Promise<IteratorResult<unknown[]>> {
    const wait = this.#wait;
    wait.ref();
    try {
      while (true) {
        await wait.sleep();
        const batch = this.#poll();
        if (batch !== undefined) {
          wait.flowing = true;
          return { value: batch, done: false };
        }
        if (this.#ended) return DONE;
      }
    } catch (error) {
      this.#ended = true;
      throw error;
    } finally {
      wait.unref();
    }
  }

  /** The next decoded batch, or `undefined` when none is ready (`#ended` tells why). */
  #poll(): unknown[] | undefined {
    if (this.#ended) return undefined;
    if (this.#closed) {
      this.#ended = true;
      return undefined;
    }
    const frames = this.#frames;
    if (this.#frameIndex === frames.length) {
      frames.length = 0;
      this.#frameIndex = 0;
      const reader = this.#in;
      // Read the flag first: what was written before the close is read below.
      const closed = reader.writerClosed();
      reader.read(frames);
      if (frames.length === 0) {
        if (closed) {
          this.#ended = true;
          const partial = reader.partialLength;
          if ((partial >= 0 || reader.hasData()) && !reader.recordAbandoned()) {
            throw new ProtocolError(
              `Cannot read ring record: the peer closed inside a record${
                partial >= 0 ? ` of ${partial} bytes` : ""
              }`,
            );
          }
        }
        return undefined;
      }
      this.#wait.armed = false;
    }
    const frame = frames[this.#frameIndex]!;
    frames[this.#frameIndex++] = undefined as unknown as Uint8Array;
    let batch: unknown[];
    try {
      batch = this.#codec.decode(frame);
    } catch (error) {
      throw new ProtocolError(
        `Cannot decode ring frame: the ${this.#codec.name} codec rejected ${frame.length} bytes`,
        { cause: error },
      );
    }
    const stats = this.#stats;
    stats.batchesReceived++;
    stats.messagesReceived += batch.length;
    stats.bytesReceived += frame.length;
    return batch;
  }

  // ---- Sending ----

  /** Writes queued batches as room appears, in order. */
  async #pump(): Promise<void> {
    this.#pumping = true;
    this.#wait.ref();
    try {
      const out = this.#out;
      while (this.#queue.length > 0) {
        if (out.readerClosed()) {
          // The peer closed: what it will never read is dropped.
          const queue = this.#queue;
          this.#queue = [];
          for (const pending of queue) pending.resolve();
          break;
        }
        const pending = this.#queue[0]!;
        const total = pending.length + RECORD_HEADER_BYTES;
        pending.done = out.write(pending.frame, pending.length, pending.done, pending.base);
        if (pending.done === total) {
          this.#queue.shift();
          pending.resolve();
          continue;
        }
        // A record's start also needs room for the padding before its header.
        const slack = pending.done === 0 ? RECORD_ALIGN - 1 : 0;
        await this.#wait.waitForRoom(Math.min(total - pending.done, this.#roomWanted) + slack);
      }
    } finally {
      this.#pumping = false;
      this.#wait.unref();
    }
  }
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
