/**
 * One end of a `socket` connection: {@linkcode SocketTransport}, and the end
 * behind it, which queues what is sent before its connection is attached
 * and then runs the stream transport over the connection's streams.
 *
 * @module
 */

import { ConnectionClosedError, FrameTooLargeError } from "../../internal/channel_errors.ts";
import { noop } from "../../internal/abort.ts";
import type { Codec } from "../codec.ts";
import { encodeFrames, FRAME_PREFIX_BYTES } from "../framing/framing.ts";
import { FrameCodec } from "../framing/frame_codec.ts";
import { StreamTransport } from "../framing/stream_transport.ts";
import { emptyStats, type SendHints, type Transport, type TransportStats } from "../transport.ts";
import { ConnStreams } from "./_conn.ts";
import type { Settings } from "./options.ts";

/** Bytes queued before `send()` asks the caller to wait. */
const QUEUED_LIMIT_BYTES = 1024 * 1024;
/** How long `close()` waits for queued bytes to reach a peer that does not read. */
const CLOSE_LINGER_MS = 2000;

/** An authenticated socket connection: a {@linkcode Transport} that knows its addresses. */
export interface SocketTransport extends Transport {
  /** This end's address. */
  readonly localAddr: Deno.Addr;
  /** The peer's address (a Unix client usually has no path). */
  readonly remoteAddr: Deno.Addr;
}

/**
 * One end of a socket connection. A dialled or accepted end is connected from
 * the start; the parent's end of a factory link is connected when the actor
 * dials in, and queues what is sent before that.
 */
export class SocketEnd implements SocketTransport {
  readonly name = "socket";
  readonly maxFrameBytes: number;
  readonly #codec: Codec;
  readonly #limit: number;
  readonly #frameTimeout: number;
  readonly #connected = Promise.withResolvers<boolean>();
  readonly #queuedStats = emptyStats();
  readonly #onClose: () => Promise<void>;
  /** Encodes what is sent before the peer connected; then the stream transport encodes. */
  #queuedCodec: FrameCodec | undefined;
  #queued: Uint8Array[] = [];
  #queuedBytes = 0;
  #room: PromiseWithResolvers<void> | undefined;
  #conn: Deno.Conn | undefined;
  #streams: ConnStreams | undefined;
  #inner: Transport | undefined;
  #receiving = false;
  #closed = false;
  #closing: Promise<void> | undefined;

  /**
   * Makes an end that is not connected yet; {@linkcode SocketEnd.attach} connects it.
   *
   * @param settings The checked codec, frame limit, and handshake and frame timeouts.
   * @param onClose Runs first when the end closes (the factory's link stops listening).
   */
  constructor(settings: Settings, onClose: () => Promise<void> = () => Promise.resolve()) {
    this.#codec = settings.codec;
    this.#limit = settings.maxFrameBytes;
    this.#frameTimeout = settings.frameTimeout;
    this.maxFrameBytes = settings.maxFrameBytes;
    this.#onClose = onClose;
    this.#connected.promise.catch(noop);
  }

  get localAddr(): Deno.Addr {
    return this.#requireConn("localAddr").localAddr;
  }

  get remoteAddr(): Deno.Addr {
    return this.#requireConn("remoteAddr").remoteAddr;
  }

  #requireConn(what: string): Deno.Conn {
    if (this.#conn === undefined) {
      throw new TypeError(`Cannot read ${what}: the peer has not connected yet`);
    }
    return this.#conn;
  }

  /** Takes over an authenticated connection; what was queued goes out first. */
  attach(conn: Deno.Conn): void {
    if (this.#closed || this.#conn !== undefined) {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
      return;
    }
    if (conn.remoteAddr.transport === "tcp") (conn as Deno.TcpConn).setNoDelay(true);
    const streams = new ConnStreams(conn, CLOSE_LINGER_MS);
    if (this.#queued.length > 0) {
      const writer = streams.writable.getWriter();
      writer.write(encodeFrames(this.#queued)).catch(noop);
      writer.releaseLock();
      this.#queued = [];
      this.#queuedBytes = 0;
    }
    this.#conn = conn;
    this.#streams = streams;
    this.#inner = new StreamTransport(
      streams.readable,
      streams.writable,
      this.#codec,
      this.#limit,
      this.#frameTimeout,
    );
    this.#connected.resolve(true);
    this.#releaseRoom();
  }

  send(messages: readonly unknown[], hints?: SendHints): void | Promise<void> {
    if (this.#closed) throw new ConnectionClosedError("send", "local");
    const inner = this.#inner;
    if (inner !== undefined) {
      if (this.#streams!.peerEnded) throw new ConnectionClosedError("send", "peer");
      return inner.send(messages, hints);
    }
    this.#queuedCodec ??= new FrameCodec(this.#codec);
    const frame = this.#queuedCodec.encode(messages, hints?.kind);
    const length = this.#queuedCodec.length;
    if (length > this.#limit) throw new FrameTooLargeError(length, this.#limit);
    const body = this.#queuedCodec.keep(frame, 0).rest;
    this.#queued.push(body);
    this.#queuedBytes += FRAME_PREFIX_BYTES + body.length;
    this.#queuedStats.bytesSent += FRAME_PREFIX_BYTES + body.length;
    this.#queuedStats.batchesSent++;
    this.#queuedStats.messagesSent += messages.length;
    if (this.#queuedBytes >= QUEUED_LIMIT_BYTES) {
      if (this.#room === undefined) {
        this.#room = Promise.withResolvers<void>();
        this.#room.promise.catch(noop);
      }
      return this.#room.promise;
    }
  }

  flush(): void | Promise<void> {
    return this.#inner?.flush?.();
  }

  #releaseRoom(): void {
    const room = this.#room;
    this.#room = undefined;
    room?.resolve();
  }

  receive(): AsyncIterable<unknown[]> {
    if (this.#receiving) {
      throw new TypeError("Cannot receive: receive() was already called on this transport");
    }
    this.#receiving = true;
    if (this.#inner !== undefined) return this.#inner.receive();
    return this.#receiveOnceConnected();
  }

  async *#receiveOnceConnected(): AsyncGenerator<unknown[]> {
    if (!await this.#connected.promise) return;
    yield* this.#inner!.receive();
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    this.#queued = [];
    this.#queuedBytes = 0;
    this.#queuedCodec = undefined;
    this.#releaseRoom();
    this.#connected.resolve(false);
    await this.#onClose();
    if (this.#inner !== undefined) {
      await this.#inner.close();
      await this.#streams!.close();
    }
  }

  stats(): TransportStats {
    const stats = this.#inner ? this.#inner.stats() : emptyStats();
    const queued = this.#queuedStats;
    stats.messagesSent += queued.messagesSent;
    stats.batchesSent += queued.batchesSent;
    stats.bytesSent += queued.bytesSent;
    return stats;
  }
}
