/**
 * The `Transport` contract every mailbox transport implements.
 *
 * A transport moves batches of messages between two ends, in order. It does
 * not know about actors: credits, replies and shutdown sentinels are messages
 * like any other, so the actor runtime works the same on every transport.
 *
 * Guarantees every implementation gives (the conformance suite checks them):
 * - Batches arrive in the order they were sent, each message once, never
 *   reordered or duplicated; what was in flight when a peer dies may be lost.
 * - `send()` validates synchronously: a message that cannot be encoded throws
 *   at the sender and nothing of that batch is sent.
 * - A send on a closed channel throws `ConnectionClosedError`, never another
 *   error: the runtime then leaves the batch to the actor's exit.
 * - `receive()` ends when the peer closes, and throws a `ProtocolError` on a
 *   malformed or oversized frame instead of dropping it or hanging.
 *
 * @module
 */

import type { BatchKind } from "../internal/batch.ts";

export type { BatchKind } from "../internal/batch.ts";

/**
 * What the sender of a batch already knows about it, passed to
 * {@linkcode Transport.send}. Every field is optional and only a hint: a
 * transport that ignores them stays correct, one that reads them saves work.
 */
export interface SendHints {
  /**
   * What the sender found walking every message of the batch: `0` plain
   * data only (JSON carries it exactly), or the flags `1` (it holds
   * `Uint8Array`s) and `2` (it holds something JSON does not carry as
   * structured clone does), or-ed. Absent when the sender did not walk
   * every message; a codec then walks the batch itself.
   */
  kind?: BatchKind;
  /**
   * `true` when the sender awaits nothing in answer to this batch (no ask
   * pending, nothing waiting for room): the transport need not hold the
   * sender's thread waiting for a reply (the ring's short spin), which
   * would only delay the sender's next batch.
   */
  quiet?: boolean;
  /**
   * Buffers to move to the receiver rather than copy (from `tell`'s
   * `transfer` option). A channel that can (`queue`: `postMessage` with a
   * transfer list) moves them, and they are detached on the sender's side; a
   * channel that encodes bytes copies them and may ignore this.
   */
  transfer?: readonly Transferable[];
}

/** Counters a transport keeps about its own traffic. */
export interface TransportStats {
  /** Messages handed to `send()` and accepted. */
  messagesSent: number;
  /** Messages delivered by `receive()`. */
  messagesReceived: number;
  /** Batches written to the underlying channel (one `postMessage`, write or notify each). */
  batchesSent: number;
  /** Batches read from the underlying channel. */
  batchesReceived: number;
  /** Encoded bytes written (0 for transports that do not encode, such as `queue`). */
  bytesSent: number;
  /** Encoded bytes read (0 for transports that do not encode, such as `queue`). */
  bytesReceived: number;
}

/**
 * One end of an ordered, batched message channel.
 *
 * @example Send and receive over a queue transport
 * ```ts
 * import { queueTransportPair } from "@troupe/troupe/transport";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = queueTransportPair();
 * a.send([1, 2, 3]);
 * for await (const batch of b.receive()) {
 *   assert.deepEqual(batch, [1, 2, 3]);
 *   break;
 * }
 * await a.close();
 * await b.close();
 * ```
 */
export interface Transport {
  /** The transport's name, such as `"queue"` or `"ring"`. */
  readonly name: string;
  /**
   * The largest encoded frame (a batch) this end sends, in bytes, when the
   * transport has a limit: the same name as the option that sets it on
   * every built-in transport. The runtime refuses a larger payload at the
   * sender.
   */
  readonly maxFrameBytes?: number;
  /**
   * How many payload bytes the transport likes in one batch, when it has a
   * preference: the runtime closes a batch once it holds about that many
   * (or 512 messages, whichever comes first). Large batches save per-batch
   * work; a channel that copies everything at once (structured clone)
   * moves big payloads faster in smaller batches.
   */
  readonly batchBytes?: number;
  /**
   * `true` when the channel carries shared memory (`SharedArrayBuffer`)
   * through structured clone, as the queue transport does; otherwise the
   * runtime refuses such a payload at the sender.
   */
  readonly sharesMemory?: boolean;
  /**
   * Sends a batch of messages as one unit, keeping their order.
   *
   * Returns a promise only when the channel must wait for room (a full ring,
   * a slow stream); the caller awaits it before sending the next batch.
   *
   * @param messages The messages, in order.
   * @param hints What the sender knows about the batch ({@linkcode SendHints}); optional.
   * @throws {DOMException} `DataCloneError` (or the codec's error) when a message cannot be encoded.
   * @throws {FrameTooLargeError} When an encoded batch exceeds the frame limit.
   * @throws {ConnectionClosedError} When this end was closed (`closedBy: "local"`), or the
   *   peer closed and the transport can tell (`closedBy: "peer"`; otherwise the batch is
   *   dropped, as what is in flight when a peer dies may be). A returned promise may
   *   reject with it when the peer closes during the wait.
   */
  send(messages: readonly unknown[], hints?: SendHints): void | Promise<void>;
  /**
   * Hands what was sent so far to the channel now (the port, the OS), where
   * the transport would otherwise gather the batches of a microtask turn
   * into one write. The runtime calls it before it runs code that may hold
   * the thread (an actor's next handler), so that replies already sent do
   * not wait for that code.
   *
   * Returns a promise when the bytes leave only once the thread is back in
   * its event loop (an asynchronous write): the caller awaits it before
   * holding the thread. It never rejects; a failed write shows in `send()`
   * and `receive()`. A transport whose `send()` writes at once needs none.
   */
  flush?(): void | Promise<void>;
  /**
   * The batches the peer sent, in order. Ends when the peer closes the
   * channel; throws `ProtocolError` when a frame is malformed. Call it once.
   */
  receive(): AsyncIterable<unknown[]>;
  /**
   * Asks the transport to lend byte arrays instead of copying them: from
   * then on, a `Uint8Array` in a received batch may be a view of memory the
   * transport reuses once the receive iterator's `next()` is called again
   * (the `ring` transport lends views of its shared memory). The runtime
   * asks for it when an actor's definition sets `lendBytes`.
   *
   * @returns Whether this end now lends; a transport without it never does.
   */
  lendBytes?(): boolean;
  /** Closes this end; the peer's `receive()` ends. Safe to call twice. */
  close(): Promise<void>;
  /** Traffic counters of this end. */
  stats(): TransportStats;
}

/** Where an actor runs: a Deno Worker (thread) or, later, a subprocess. */
export type HostKind = "worker" | "process";

/**
 * What the actor's side needs to open its end of a channel: a module that
 * exports `connect(options): Transport | Promise<Transport>`, the options to
 * pass it (structured-cloneable) and the objects to transfer with them.
 */
export interface RemoteEndpoint {
  /** URL of a module exporting `connect(options)`. */
  module: string;
  /** Options for `connect`, sent by structured clone. */
  options: unknown;
  /** Objects to transfer with the options (ports, streams). */
  transfer: Transferable[];
}

/** The parent's end of a freshly opened channel and a description of the other end. */
export interface TransportLink {
  /** The parent's end. */
  local: Transport;
  /** How the actor opens its end. */
  remote: RemoteEndpoint;
  /**
   * `true` when the channel runs over the child process's stdin and stdout
   * (the `pipe` transport to a process actor); the child's logs then travel
   * on stderr only.
   */
  usesStdio?: boolean;
  /**
   * With `usesStdio`: `connect` on the actor's side uses its stdio only
   * through `getReader()` / `read()` / `releaseLock()` and `getWriter()` /
   * `write()` / `close()`, so the process host may hand it lighter
   * stand-ins for the web streams (a fresh process starts faster without
   * them). Default `false`: real web streams.
   */
  minimalStdio?: boolean;
  /**
   * What a process actor must be allowed to do to open its end (a socket
   * path to read, write and connect to; a TCP host and port). The process
   * host adds these to the permissions the actor's spec grants.
   */
  childPermissions?: { read?: string[]; write?: string[]; net?: string[] };
  /**
   * Called by the host once the actor's thread has surely ended (never for
   * one that leaked or that the host cannot see end): the transport closes
   * `local` and may reuse what it shared with the actor (the ring
   * transport's buffers, which the collector would free only much later).
   */
  peerGone?(): void;
}

/**
 * The standard streams of a freshly started child process, given to a
 * factory that opens a channel to a process actor.
 */
export interface ProcessStdio {
  /** The child's stdout. */
  readable: ReadableStream<Uint8Array>;
  /** The child's stdin. */
  writable: WritableStream<Uint8Array>;
}

/**
 * Opens channels of one kind. The actor system asks a factory for one link
 * per spawned actor; the core never imports a transport implementation.
 */
export interface TransportFactory {
  /** The name users select it by, such as `"queue"`. */
  readonly name: string;
  /** The hosts this transport can reach. */
  readonly hosts: readonly HostKind[];
  /**
   * Opens a channel to an actor on the given host. For a process actor the
   * child is already started and `stdio` holds its stdout and stdin; a
   * transport that does not use them leaves them alone.
   *
   * @param host Where the actor will run.
   * @param stdio The child's standard streams, for `host: "process"`.
   * @returns The parent's end and the description of the actor's end.
   */
  open(host: HostKind, stdio?: ProcessStdio): Promise<TransportLink>;
}

/**
 * Returns a fresh, zeroed stats record: where a new transport starts its
 * {@linkcode Transport.stats} counters.
 *
 * @returns Counters, all 0.
 *
 * @example A transport's counters start at zero
 * ```ts
 * import { emptyStats } from "@troupe/troupe/transport";
 * import assert from "node:assert/strict";
 *
 * const stats = emptyStats();
 * stats.messagesSent += 3;
 * assert.equal(stats.messagesSent, 3);
 * assert.equal(emptyStats().messagesSent, 0);
 * ```
 */
export function emptyStats(): TransportStats {
  return {
    messagesSent: 0,
    messagesReceived: 0,
    batchesSent: 0,
    batchesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
  };
}
