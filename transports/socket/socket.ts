/**
 * The `socket` transport: codec-encoded, length-prefixed frames (the `pipe`
 * framing) over a Unix domain socket or a TCP connection, for actors in other
 * processes and for programs that talk to each other.
 *
 * - {@linkcode socketTransport} is the factory the actor system uses: each
 *   link gets its own listener, which closes once the actor has connected.
 * - {@linkcode listenSocket} and {@linkcode dialSocket} connect two programs:
 *   `deno run server.ts` listens, `deno run client.ts` dials.
 *
 * Guarantees:
 * - Batches arrive whole and in order; every batch sent in one tick goes out
 *   in one write. A batch over `maxFrameBytes`, or a message the codec cannot
 *   encode, throws at the sender and nothing of that batch is sent.
 * - Backpressure: `send()` returns a promise when 1 MiB or more is queued
 *   (before the peer connected, or in the socket's write queue); await it
 *   before sending more.
 * - Unix sockets are the default. A listener without a `path` puts its socket
 *   in a fresh temporary directory of mode 0700, makes the socket file mode
 *   0600 and removes both when it closes. A given `path` left behind by a
 *   killed process is recovered: if nothing answers on it, it is removed and
 *   reused.
 * - Authentication: a TCP socket, or a Unix socket whose directory other users
 *   can enter, requires a shared secret. Each side proves it knows the secret
 *   with HMAC-SHA-256 over fresh nonces from both sides (the client first,
 *   then the server, so both are authenticated), compared in constant time.
 *   Until then a frame may hold at most 4 KiB and the handshake must finish
 *   within `handshakeTimeout` (10 s). A peer that fails is dropped without a
 *   single message delivered, and reported to `onRejected` (by default
 *   `console.warn`).
 * - TCP binds `127.0.0.1` unless another hostname is given explicitly. The
 *   secret authenticates the peers; it does not encrypt the traffic.
 * - Connection loss: `receive()` ends when the peer closes, exits or resets
 *   the connection, and throws `ProtocolError` when it ended inside a frame.
 *   After the peer's stream ended, or once a write failed, `send()` throws
 *   `ConnectionClosedError`. A write that the operating system accepted just
 *   before the peer died may be lost, as on any socket.
 * - No reconnection: a transport is one connection. When it is lost the
 *   owner decides what to do (the actor system treats it as the actor's
 *   death; a program can dial again), because only the owner knows whether
 *   replaying a message is safe.
 * - `close()` flushes what was sent (waiting at most 2 s for a peer that does
 *   not read), ends the peer's `receive()`, and closes the socket. Always
 *   close a transport, even after its peer went away.
 *
 * Wire protocol, for peers in other languages (use {@linkcode jsonCodec}):
 * every frame is a 4-byte little-endian length and that many bytes. The
 * handshake frames hold JSON objects: the server sends
 * `{"protocol":"troupe-socket/1","codec":"json","auth":"none"}` (or
 * `"auth":"hmac-sha256"` with a base64 32-byte `nonce`); the client answers
 * `{"protocol","codec"}` plus, with a secret, its own `nonce` and `proof` =
 * HMAC-SHA-256(secret, `"troupe-socket/1 client\0"` + server nonce + client
 * nonce); the server replies `{"ok":true}` (with `proof` = HMAC-SHA-256(secret,
 * `"troupe-socket/1 server\0"` + client nonce + server nonce)) or
 * `{"ok":false,"reason","error"}` and hangs up. After that each frame is one
 * batch: a JSON array of messages. (Between Troupe peers with the default
 * `"v8"` codec, a frame holds JSON, JSON with raw bytes, or V8 serialization,
 * as on the `pipe` transport.)
 *
 * @example A server and a client over a Unix socket
 * ```ts
 * import { dialSocket, listenSocket } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * await using server = await listenSocket();
 * const client = await dialSocket({ path: server.addr.path });
 * const peer = await server.accept();
 * client.send([{ op: "hello" }]);
 * for await (const batch of peer.receive()) {
 *   assert.deepEqual(batch, [{ op: "hello" }]);
 *   break;
 * }
 * await client.close();
 * await peer.close();
 * ```
 *
 * @module
 */

import { ConnectionClosedError, FrameTooLargeError } from "../../internal/errors.ts";
import type { Codec } from "../codec.ts";
import {
  type BuiltinCodecName,
  builtinCodecName,
  checkCodec,
  codecNamed,
} from "../framing/codec_options.ts";
import { checkMaxFrameBytes, encodeFrames, FRAME_PREFIX_BYTES } from "../framing/framing.ts";
import { FrameCodec } from "../framing/frame_codec.ts";
import { StreamTransport } from "../framing/stream_transport.ts";
import { ConnStreams } from "./_conn.ts";
import {
  checkSecret,
  clientHandshake,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  importSecret,
  randomSecret,
  serverHandshake,
} from "./_handshake.ts";
import {
  emptyStats,
  type HostKind,
  type SendHints,
  type Transport,
  type TransportFactory,
  type TransportLink,
  type TransportStats,
} from "../transport.ts";
import { noop } from "../../internal/abort.ts";

/** Bytes queued before `send()` asks the caller to wait. */
const QUEUED_LIMIT_BYTES = 1024 * 1024;
/** How long `close()` waits for queued bytes to reach a peer that does not read. */
const CLOSE_LINGER_MS = 2000;
/** Connections that may be in their handshake at once; more are dropped at once. */
const MAX_PENDING_HANDSHAKES = 64;
/** The default TCP hostname: loopback only. */
const DEFAULT_HOSTNAME = "127.0.0.1";

/** A shared secret: a string (its UTF-8 bytes) or bytes, at least 16 bytes long. */
export type SocketSecret = string | Uint8Array;

/** Options every socket end takes. Both ends of a connection must use the same codec. */
export interface SocketOptions {
  /**
   * How batches become bytes. Defaults to {@linkcode v8Codec}; use
   * {@linkcode jsonCodec} for a peer written in another language.
   */
  codec?: Codec;
  /** The largest encoded batch, in bytes; defaults to 64 MiB, at most 2^32 - 1. */
  maxFrameBytes?: number;
  /** Milliseconds the handshake may take before the connection is dropped; defaults to 10000. */
  handshakeTimeout?: number;
}

/** A connection a server dropped during the handshake. */
export interface SocketRejection {
  /** Where the connection came from (a Unix peer usually has no path). */
  remoteAddr: Deno.Addr;
  /**
   * Why: an `AuthenticationError`, a `ProtocolError` (wrong protocol or codec,
   * an oversized or malformed frame), a `DOMException` named `TimeoutError`,
   * or a `ConnectionClosedError` when the peer hung up.
   */
  error: Error;
}

/** Options a server takes besides its address. */
export interface SocketServerOptions extends SocketOptions {
  /**
   * Called for every connection dropped during the handshake; defaults to a
   * `console.warn` line. It must not throw.
   */
  onRejected?: (rejection: SocketRejection) => void;
}

/**
 * A server on a Unix domain socket. Without `path` the socket lives in a
 * fresh private directory (read `addr.path`). With `path`, its directory
 * must exist; if other users can enter it (any group or other permission
 * bit), a `secret` is required.
 */
export interface UnixListenOptions extends SocketServerOptions {
  /** The socket file; a stale one left by a killed process is replaced. */
  path?: string;
  /** When given, every client must prove it knows it. */
  secret?: SocketSecret;
  /** Absent: this is a Unix socket. */
  port?: undefined;
  /** Absent: this is a Unix socket. */
  hostname?: undefined;
}

/** A server on TCP. Every client must prove it knows the secret. */
export interface TcpListenOptions extends SocketServerOptions {
  /** The interface to bind; defaults to `"127.0.0.1"`. Pass another one explicitly. */
  hostname?: string;
  /** The port; 0 picks a free one (read `addr.port`). */
  port: number;
  /** The shared secret clients must prove they know. */
  secret: SocketSecret;
  /** Absent: this is a TCP socket. */
  path?: undefined;
}

/** Where and how {@linkcode listenSocket} listens. */
export type ListenSocketOptions = UnixListenOptions | TcpListenOptions;

/** Options of the calls that can wait. */
export interface SocketWaitOptions {
  /** Rejects the wait with `signal.reason` when aborted. */
  signal?: AbortSignal;
}

/** Dials a Unix domain socket. */
export interface UnixDialOptions extends SocketOptions, SocketWaitOptions {
  /** The server's socket file. */
  path: string;
  /**
   * The secret, when the server requires one. A client with a secret also
   * requires the server to prove it knows it.
   */
  secret?: SocketSecret;
  /** Absent: this is a Unix socket. */
  port?: undefined;
  /** Absent: this is a Unix socket. */
  hostname?: undefined;
}

/** Dials TCP. Both sides prove they know the secret. */
export interface TcpDialOptions extends SocketOptions, SocketWaitOptions {
  /** The server's host; defaults to `"127.0.0.1"`. */
  hostname?: string;
  /** The server's port. */
  port: number;
  /** The shared secret. */
  secret: SocketSecret;
  /** Absent: this is a TCP socket. */
  path?: undefined;
}

/** Where and how {@linkcode dialSocket} connects. */
export type DialSocketOptions = UnixDialOptions | TcpDialOptions;

/** An authenticated socket connection: a {@linkcode Transport} that knows its addresses. */
export interface SocketTransport extends Transport {
  /** This end's address. */
  readonly localAddr: Deno.Addr;
  /** The peer's address (a Unix client usually has no path). */
  readonly remoteAddr: Deno.Addr;
}

/**
 * A listening socket that hands out authenticated connections.
 *
 * @typeParam Addr The address type: `Deno.UnixAddr` or `Deno.NetAddr`.
 *
 * - `accept()` and async iteration yield connections that completed the
 *   handshake, in the order they completed it; rejected peers never appear.
 * - `close()` stops listening, drops connections still in their handshake
 *   or not yet accepted, removes the socket file (and its private directory),
 *   and ends iteration. Connections already accepted stay open: close them
 *   yourself.
 */
export interface SocketServer<
  Addr extends Deno.UnixAddr | Deno.NetAddr = Deno.UnixAddr | Deno.NetAddr,
> extends AsyncIterable<SocketTransport>, AsyncDisposable {
  /** Where the server listens: `{ transport: "unix", path }` or `{ transport: "tcp", hostname, port }`. */
  readonly addr: Addr;
  /** `true` when clients must prove they know a secret. */
  readonly authenticates: boolean;
  /**
   * Resolves with the next authenticated connection.
   *
   * @param options A signal to stop waiting.
   * @returns The connection; close it when done.
   * @throws {TypeError} When the server is closed.
   */
  accept(options?: SocketWaitOptions): Promise<SocketTransport>;
  /** Stops listening and cleans up; see the interface's notes. Safe to call twice. */
  close(): Promise<void>;
}

/** Options of the `socket` transport factory. */
export interface SocketTransportOptions extends SocketOptions {
  /**
   * A codec the actor can load by name: {@linkcode v8Codec} (the default) or
   * {@linkcode jsonCodec}.
   */
  codec?: Codec;
  /**
   * Listen on TCP instead of a Unix socket, with a fresh random secret per
   * link. `hostname` defaults to `"127.0.0.1"` and `port` to 0 (a fixed port
   * serves one link at a time).
   */
  tcp?: { hostname?: string; port?: number };
  /** Called for every connection dropped during the handshake; defaults to `console.warn`. */
  onRejected?: (rejection: SocketRejection) => void;
}

/**
 * What {@linkcode connect} needs to open the actor's end of a `socket` link.
 * Structured-cloneable; it holds the link's secret for TCP, so do not log it.
 */
export type SocketConnectOptions =
  & { codec: "v8" | "json"; maxFrameBytes: number; handshakeTimeout: number }
  & (
    | { transport: "unix"; path: string }
    | { transport: "tcp"; hostname: string; port: number; secret: string }
  );

interface Settings {
  codec: Codec;
  maxFrameBytes: number;
  handshakeTimeout: number;
}

function warnRejected(rejection: SocketRejection): void {
  console.warn(
    `Troupe socket: dropped a connection from ${
      formatAddr(rejection.remoteAddr)
    } during the handshake: ${rejection.error.name}: ${rejection.error.message}`,
  );
}

function formatAddr(addr: Deno.Addr): string {
  if ("hostname" in addr) return `${addr.hostname}:${addr.port}`;
  if ("path" in addr && addr.path) return `unix:${addr.path}`;
  return `a ${addr.transport} peer`;
}

// ---------------------------------------------------------------------------
// Validation.

function checkSettings(options: SocketOptions, context: string): Settings {
  const timeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  if (typeof timeout !== "number" || !(timeout > 0) || !Number.isFinite(timeout)) {
    throw new RangeError(
      `${context}: handshakeTimeout must be a positive number of milliseconds, received ${timeout}`,
    );
  }
  return {
    codec: checkCodec(options.codec, context),
    maxFrameBytes: checkMaxFrameBytes(options.maxFrameBytes, context),
    handshakeTimeout: timeout,
  };
}

function checkPath(path: unknown, context: string): string {
  if (typeof path !== "string" || path.length === 0) {
    throw new TypeError(`${context}: path must be a non-empty string, received ${path}`);
  }
  return path;
}

function checkHostname(hostname: unknown, context: string): string {
  if (hostname === undefined) return DEFAULT_HOSTNAME;
  if (typeof hostname !== "string" || hostname.length === 0) {
    throw new TypeError(`${context}: hostname must be a non-empty string, received ${hostname}`);
  }
  return hostname;
}

function checkPort(port: unknown, context: string): number {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `${context}: port must be an integer from 0 to 65535, received ${port}`,
    );
  }
  return port;
}

function checkOnRejected(
  onRejected: unknown,
  context: string,
): (rejection: SocketRejection) => void {
  if (onRejected === undefined) return warnRejected;
  if (typeof onRejected !== "function") {
    throw new TypeError(`${context}: onRejected must be a function, received ${onRejected}`);
  }
  return onRejected as (rejection: SocketRejection) => void;
}

/** Tells TCP options (`port`, `hostname`) from Unix ones (`path`); both at once is an error. */
function isTcp(
  options: { path?: unknown; port?: unknown; hostname?: unknown },
  context: string,
): boolean {
  const tcp = options.port !== undefined || options.hostname !== undefined;
  if (tcp && options.path !== undefined) {
    throw new TypeError(
      `${context}: give either path (a Unix socket) or port and hostname (TCP), received both`,
    );
  }
  return tcp;
}

// ---------------------------------------------------------------------------
// The transport.

/**
 * One end of a socket connection. A dialled or accepted end is connected from
 * the start; the parent's end of a factory link is connected when the actor
 * dials in, and queues what is sent before that.
 */
class SocketEnd implements SocketTransport {
  readonly name = "socket";
  readonly maxMessageBytes: number;
  readonly #codec: Codec;
  readonly #limit: number;
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

  constructor(settings: Settings, onClose: () => Promise<void> = () => Promise.resolve()) {
    this.#codec = settings.codec;
    this.#limit = settings.maxFrameBytes;
    this.maxMessageBytes = settings.maxFrameBytes;
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
    this.#inner = new StreamTransport(streams.readable, streams.writable, this.#codec, this.#limit);
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

// ---------------------------------------------------------------------------
// Listening.

/** A bound listener and how to clean up after it. */
interface Bound {
  listener: Deno.Listener;
  /** `true` for a Unix socket in a directory only this user can enter. */
  private: boolean;
  /** Closes the listener and removes the socket file and its private directory. */
  release(): Promise<void>;
}

function closeListener(listener: Deno.Listener): void {
  try {
    listener.close();
  } catch {
    // Closed already.
  }
}

/** Listens on a Unix socket in a fresh directory of mode 0700. */
async function bindPrivateUnix(): Promise<Bound> {
  const dir = await Deno.makeTempDir({ prefix: "troupe-" });
  try {
    await Deno.chmod(dir, 0o700);
    const path = `${dir}/troupe.sock`;
    const listener = Deno.listen({ transport: "unix", path });
    try {
      await Deno.chmod(path, 0o600);
    } catch (error) {
      closeListener(listener);
      throw error;
    }
    return {
      listener,
      private: true,
      async release() {
        closeListener(listener);
        await Deno.remove(dir, { recursive: true }).catch(noop);
      },
    };
  } catch (error) {
    await Deno.remove(dir, { recursive: true }).catch(noop);
    throw error;
  }
}

/** Listens on a given Unix socket path, replacing a stale socket file. */
async function bindUnixPath(path: string, context: string): Promise<Bound> {
  await removeStaleSocket(path, context);
  const listener = Deno.listen({ transport: "unix", path });
  let isPrivate: boolean;
  try {
    await Deno.chmod(path, 0o600);
    isPrivate = await inPrivateDirectory(path);
  } catch (error) {
    closeListener(listener);
    throw error;
  }
  return {
    listener,
    private: isPrivate,
    release() {
      // Closing a Unix listener removes its socket file.
      closeListener(listener);
      return Promise.resolve();
    },
  };
}

/**
 * Removes a socket file nothing listens on any more (left by a killed
 * process). Refuses to touch a path that is not a socket or that answers.
 * Used by the CLI's control socket too; not part of the package's API.
 *
 * @param path The socket file.
 * @param context The start of the error message, such as `Cannot listen`.
 * @throws {Deno.errors.AddrInUse} When the path is not a socket or something answers on it.
 */
export async function removeStaleSocket(path: string, context: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  if (!info.isSocket) {
    throw new Deno.errors.AddrInUse(`${context}: "${path}" exists and is not a socket`);
  }
  let probe: Deno.Conn;
  try {
    probe = await Deno.connect({ transport: "unix", path });
  } catch (error) {
    if (!(error instanceof Deno.errors.ConnectionRefused)) throw error;
    await Deno.remove(path);
    return;
  }
  probe.close();
  throw new Deno.errors.AddrInUse(`${context}: another process is listening on "${path}"`);
}

/** `true` when the socket's directory belongs to the socket's owner and no one else may enter it. */
async function inPrivateDirectory(path: string): Promise<boolean> {
  const [dir, socket] = await Promise.all([Deno.stat(parentDir(path)), Deno.lstat(path)]);
  return dir.isDirectory && dir.uid !== null && dir.uid === socket.uid && dir.mode !== null &&
    (dir.mode & 0o077) === 0;
}

function bindTcp(hostname: string, port: number): Bound {
  const listener = Deno.listen({ transport: "tcp", hostname, port });
  return {
    listener,
    private: false,
    release() {
      closeListener(listener);
      return Promise.resolve();
    },
  };
}

/**
 * Accepts connections and runs their handshakes concurrently; hands each
 * authenticated one to `onConnection` and reports each failed one.
 */
class Acceptor {
  readonly #bound: Bound;
  readonly #settings: Settings;
  readonly #key: CryptoKey | undefined;
  readonly #onConnection: (conn: Deno.Conn) => void;
  readonly #onRejected: (rejection: SocketRejection) => void;
  readonly #onFailure: (error: unknown) => void;
  readonly #handshaking = new Set<Deno.Conn>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #loop: Promise<void>;
  #closing: Promise<void> | undefined;

  constructor(
    bound: Bound,
    settings: Settings,
    key: CryptoKey | undefined,
    handlers: {
      onConnection: (conn: Deno.Conn) => void;
      onRejected: (rejection: SocketRejection) => void;
      onFailure: (error: unknown) => void;
    },
  ) {
    this.#bound = bound;
    this.#settings = settings;
    this.#key = key;
    this.#onConnection = handlers.onConnection;
    this.#onRejected = handlers.onRejected;
    this.#onFailure = handlers.onFailure;
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    while (true) {
      let conn: Deno.Conn;
      try {
        conn = await this.#bound.listener.accept();
      } catch (error) {
        if (!this.#closing) this.#onFailure(error);
        return;
      }
      if (this.#closing) {
        conn.close();
        return;
      }
      if (this.#handshaking.size >= MAX_PENDING_HANDSHAKES) {
        const addr = conn.remoteAddr;
        conn.close();
        this.#report(
          addr,
          new ConnectionClosedError("receive", "local", {
            cause: new Error(
              `${MAX_PENDING_HANDSHAKES} connections are in their handshake already`,
            ),
          }),
        );
        continue;
      }
      this.#handshake(conn);
    }
  }

  #handshake(conn: Deno.Conn): void {
    this.#handshaking.add(conn);
    const remoteAddr = conn.remoteAddr;
    const task = serverHandshake(conn, {
      key: this.#key,
      codec: this.#settings.codec.name,
      timeoutMs: this.#settings.handshakeTimeout,
    }).then(
      () => {
        this.#handshaking.delete(conn);
        if (this.#closing) conn.close();
        else this.#onConnection(conn);
      },
      (error: unknown) => {
        this.#handshaking.delete(conn);
        try {
          conn.close();
        } catch {
          // The deadline closed it.
        }
        if (!this.#closing) this.#report(remoteAddr, error);
      },
    ).finally(() => this.#tasks.delete(task));
    this.#tasks.add(task);
  }

  #report(remoteAddr: Deno.Addr, error: unknown): void {
    try {
      this.#onRejected({
        remoteAddr,
        error: error instanceof Error ? error : new Error(String(error)),
      });
    } catch (thrown) {
      console.error("Troupe socket: onRejected threw", thrown);
    }
  }

  /** Stops accepting, drops handshakes in progress and releases the socket. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    closeListener(this.#bound.listener);
    for (const conn of this.#handshaking) {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
    await this.#loop;
    await Promise.allSettled([...this.#tasks]);
    await this.#bound.release();
  }
}

interface Waiter {
  resolve(end: SocketTransport): void;
  reject(error: unknown): void;
}

/** The {@linkcode SocketServer} behind {@linkcode listenSocket}. */
class Server implements SocketServer {
  readonly addr: Deno.UnixAddr | Deno.NetAddr;
  readonly authenticates: boolean;
  readonly #acceptor: Acceptor;
  #ready: SocketEnd[] = [];
  #waiters: Waiter[] = [];
  #failure: { error: unknown } | undefined;
  #closing: Promise<void> | undefined;

  constructor(
    bound: Bound,
    settings: Settings,
    key: CryptoKey | undefined,
    onRejected: (
      rejection: SocketRejection,
    ) => void,
  ) {
    this.addr = bound.listener.addr as Deno.UnixAddr | Deno.NetAddr;
    this.authenticates = key !== undefined;
    this.#acceptor = new Acceptor(bound, settings, key, {
      onConnection: (conn) => {
        const end = new SocketEnd(settings);
        end.attach(conn);
        const waiter = this.#waiters.shift();
        if (waiter) waiter.resolve(end);
        else this.#ready.push(end);
      },
      onRejected,
      onFailure: (error) => {
        this.#failure = { error };
        for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
      },
    });
  }

  accept(options: SocketWaitOptions = {}): Promise<SocketTransport> {
    const { signal } = options;
    const ready = this.#ready.shift();
    if (ready) return Promise.resolve(ready);
    if (this.#closing) return Promise.reject(closedServerError());
    if (this.#failure) return Promise.reject(this.#failure.error);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<SocketTransport>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.#waiters.indexOf(waiter);
        if (index !== -1) this.#waiters.splice(index, 1);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        resolve(end) {
          signal?.removeEventListener("abort", onAbort);
          resolve(end);
        },
        reject(error) {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SocketTransport> {
    while (true) {
      let end: SocketTransport;
      try {
        end = await this.accept();
      } catch (error) {
        if (this.#closing) return;
        throw error;
      }
      yield end;
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    for (const waiter of this.#waiters.splice(0)) waiter.reject(closedServerError());
    await this.#acceptor.close();
    const unaccepted = this.#ready.splice(0);
    await Promise.all(unaccepted.map((end) => end.close()));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function closedServerError(): TypeError {
  return new TypeError("Cannot accept: the socket server is closed");
}

/**
 * Listens for socket connections: on a Unix socket (the default), or on TCP
 * when `port` is given. See the module docs for the guarantees.
 *
 * - `listenSocket()` puts the socket in a fresh private directory; give
 *   `server.addr.path` to the client. No secret is needed: only this user can
 *   reach the socket.
 * - `listenSocket({ path })` listens on that path, replacing a stale socket
 *   file. A secret is required unless the directory is private (mode 0700 or
 *   stricter, owned by this user).
 * - `listenSocket({ port, secret })` listens on TCP `127.0.0.1`; pass
 *   `hostname` to listen elsewhere.
 *
 * @example Serve over TCP with a shared secret
 * ```ts
 * import { dialSocket, listenSocket } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const secret = "correct horse battery staple";
 * await using server = await listenSocket({ port: 0, secret });
 * assert.equal(server.addr.transport, "tcp");
 * const { hostname, port } = server.addr;
 * assert.equal(hostname, "127.0.0.1");
 * const client = await dialSocket({ hostname, port, secret });
 * const peer = await server.accept({ signal: AbortSignal.timeout(5000) });
 * peer.send(["welcome"]);
 * for await (const batch of client.receive()) {
 *   assert.deepEqual(batch, ["welcome"]);
 *   break;
 * }
 * await client.close();
 * await peer.close();
 * ```
 *
 * @example Accept connections in a loop
 * ```ts
 * import { dialSocket, listenSocket } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const server = await listenSocket();
 * const serving = (async () => {
 *   for await (const peer of server) {
 *     for await (const batch of peer.receive()) peer.send(batch); // echo
 *     await peer.close();
 *   }
 * })();
 * const client = await dialSocket({ path: server.addr.path });
 * client.send([1, 2, 3]);
 * for await (const batch of client.receive()) {
 *   assert.deepEqual(batch, [1, 2, 3]);
 *   break;
 * }
 * await client.close();
 * await server.close();
 * await serving;
 * ```
 *
 * @param options The address, the secret and the codec; none for a private Unix socket.
 * @returns The listening server; close it (or use `await using`) when done.
 * @throws {TypeError} When an option has the wrong type, or a secret is missing where one is required.
 * @throws {RangeError} When `port`, `maxFrameBytes`, `handshakeTimeout` or the secret's length is out of range.
 * @throws {Deno.errors.AddrInUse} When another process listens on the address, or `path` exists and is not a socket.
 */
export function listenSocket(options?: UnixListenOptions): Promise<SocketServer<Deno.UnixAddr>>;
/**
 * Listens on TCP; every client must prove it knows `secret`.
 *
 * @param options `port` (0 for any), `secret`, and `hostname` to bind another interface than `127.0.0.1`.
 * @returns The listening server; `addr` holds its hostname and port.
 */
export function listenSocket(options: TcpListenOptions): Promise<SocketServer<Deno.NetAddr>>;
/**
 * Listens on a Unix socket or on TCP, as the options say.
 *
 * @param options The address, the secret and the codec.
 * @returns The listening server.
 */
export function listenSocket(options?: ListenSocketOptions): Promise<SocketServer>;
export async function listenSocket(options: ListenSocketOptions = {}): Promise<SocketServer> {
  const context = "Cannot listen on socket";
  const settings = checkSettings(options, context);
  const onRejected = checkOnRejected(options.onRejected, context);
  const secret = options.secret === undefined ? undefined : checkSecret(options.secret, context);
  let bound: Bound;
  if (isTcp(options, context)) {
    const hostname = checkHostname(options.hostname, context);
    const port = checkPort(options.port, context);
    if (secret === undefined) {
      throw new TypeError(`${context}: TCP requires a secret, none was given`);
    }
    bound = bindTcp(hostname, port);
  } else if (options.path === undefined) {
    bound = await bindPrivateUnix();
  } else {
    const path = checkPath(options.path, context);
    bound = await bindUnixPath(path, context);
    if (!bound.private && secret === undefined) {
      await bound.release();
      throw new TypeError(
        `${context}: other users can enter the directory of "${path}", so a secret is required; pass secret or use a directory of mode 0700`,
      );
    }
  }
  let key: CryptoKey | undefined;
  try {
    key = secret === undefined ? undefined : await importSecret(secret);
  } catch (error) {
    await bound.release();
    throw error;
  }
  return new Server(bound, settings, key, onRejected);
}

// ---------------------------------------------------------------------------
// Dialling.

type Address =
  | { transport: "unix"; path: string }
  | { transport: "tcp"; hostname: string; port: number };

async function dial(
  address: Address,
  settings: Settings,
  secret: Uint8Array | undefined,
  signal: AbortSignal | undefined,
): Promise<SocketEnd> {
  signal?.throwIfAborted();
  const key = secret === undefined ? undefined : await importSecret(secret);
  const conn = await connectAbortably(address, signal);
  try {
    await clientHandshake(conn, {
      key,
      codec: settings.codec.name,
      timeoutMs: settings.handshakeTimeout,
      signal,
    });
  } catch (error) {
    try {
      conn.close();
    } catch {
      // The deadline or the abort closed it.
    }
    throw error;
  }
  const end = new SocketEnd(settings);
  end.attach(conn);
  return end;
}

/** `Deno.connect`, abandoned when `signal` aborts first (a late connection is closed). */
function connectAbortably(address: Address, signal: AbortSignal | undefined): Promise<Deno.Conn> {
  const connecting: Promise<Deno.Conn> = address.transport === "unix"
    ? Deno.connect({ transport: "unix", path: address.path })
    : Deno.connect({ transport: "tcp", hostname: address.hostname, port: address.port });
  if (signal === undefined) return connecting;
  return new Promise<Deno.Conn>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason);
      connecting.then((conn) => conn.close(), noop);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    connecting.then(
      (conn) => {
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted) conn.close();
        else resolve(conn);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Connects to a socket server and authenticates: to a Unix socket with
 * `path`, or over TCP with `port` (and `hostname`, which defaults to
 * `"127.0.0.1"`). There is no automatic reconnection: when the connection is
 * lost, dial again if resending is safe for your messages.
 *
 * @example Dial a server and get an answer
 * ```ts
 * import { dialSocket, listenSocket } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * await using server = await listenSocket();
 * const dialling = dialSocket({ path: server.addr.path, signal: AbortSignal.timeout(5000) });
 * const peer = await server.accept();
 * const client = await dialling;
 * client.send(["ping"]);
 * for await (const batch of peer.receive()) {
 *   assert.deepEqual(batch, ["ping"]);
 *   break;
 * }
 * assert.equal(client.stats().messagesSent, 1);
 * await client.close();
 * await peer.close();
 * ```
 *
 * @example A wrong secret is refused
 * ```ts
 * import { AuthenticationError, dialSocket, listenSocket } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * await using server = await listenSocket({
 *   port: 0,
 *   secret: "the right secret, 16+ bytes",
 *   onRejected: () => {},
 * });
 * const { port } = server.addr;
 * await assert.rejects(
 *   dialSocket({ port, secret: "a wrong secret, 16+ bytes" }),
 *   AuthenticationError,
 * );
 * ```
 *
 * @param options The address, the secret and the codec.
 * @returns The authenticated connection; close it when done.
 * @throws {TypeError} When an option has the wrong type, or TCP is dialled without a secret.
 * @throws {RangeError} When `port`, `maxFrameBytes`, `handshakeTimeout` or the secret's length is out of range.
 * @throws {AuthenticationError} When the server refused the secret, or could not prove it knows it.
 * @throws {ProtocolError} When the server speaks another protocol or uses another codec.
 * @throws {ConnectionClosedError} When the server hung up during the handshake.
 * @throws {DOMException} `TimeoutError` when the handshake took longer than `handshakeTimeout`; the abort reason when `signal` aborted.
 * @throws {Deno.errors.NotFound} When no socket exists at `path`.
 * @throws {Deno.errors.ConnectionRefused} When nothing listens at the address.
 */
export async function dialSocket(options: DialSocketOptions): Promise<SocketTransport> {
  const context = "Cannot connect to socket";
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${context}: options must be an object, received ${options}`);
  }
  const settings = checkSettings(options, context);
  const secret = options.secret === undefined ? undefined : checkSecret(options.secret, context);
  let address: Address;
  if (isTcp(options, context)) {
    address = {
      transport: "tcp",
      hostname: checkHostname(options.hostname, context),
      port: checkPort(options.port, context),
    };
    if (secret === undefined) {
      throw new TypeError(`${context}: TCP requires a secret, none was given`);
    }
  } else {
    address = { transport: "unix", path: checkPath(options.path, context) };
  }
  return await dial(address, settings, secret, options.signal);
}

// ---------------------------------------------------------------------------
// The factory.

/**
 * Opens the actor's end of a `socket` link: dials the parent's listener and
 * authenticates. The runtime calls it inside the actor's worker or
 * subprocess with the options the parent's factory produced.
 *
 * @example Open the end a factory described
 * ```ts
 * import { socketTransport } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const link = await socketTransport().open("worker");
 * link.local.send(["queued before the actor connected"]);
 * // Inside the worker the runtime does this with the cloned options.
 * const { connect } = await import(link.remote.module);
 * const actor = await connect(link.remote.options);
 * for await (const batch of actor.receive()) {
 *   assert.deepEqual(batch, ["queued before the actor connected"]);
 *   break;
 * }
 * await link.local.close();
 * await actor.close();
 * ```
 *
 * @param options The listener's address, the link's secret for TCP, the codec's name, the frame limit and the handshake timeout.
 * @returns The actor's end.
 * @throws {TypeError} When the options name an unknown transport or codec.
 * @throws {AuthenticationError} When the listener refused the secret.
 * @throws {DOMException} `TimeoutError` when the handshake took too long.
 */
export async function connect(options: SocketConnectOptions): Promise<Transport> {
  const context = "Cannot connect socket transport";
  const codec = codecNamed(options.codec, context);
  const settings = checkSettings({
    codec,
    maxFrameBytes: options.maxFrameBytes,
    handshakeTimeout: options.handshakeTimeout,
  }, context);
  switch (options.transport) {
    case "unix":
      return await dial(
        { transport: "unix", path: checkPath(options.path, context) },
        settings,
        undefined,
        undefined,
      );
    case "tcp":
      return await dial(
        {
          transport: "tcp",
          hostname: checkHostname(options.hostname, context),
          port: checkPort(options.port, context),
        },
        settings,
        checkSecret(options.secret, context),
        undefined,
      );
    default:
      throw new TypeError(
        `${context}: unknown transport "${
          (options as { transport: unknown }).transport
        }", expected "unix" or "tcp"`,
      );
  }
}

/**
 * The `socket` transport factory: one listener per link, which the actor
 * dials from its worker or subprocess. By default a Unix socket in a fresh
 * private directory; with `tcp`, a TCP port on `127.0.0.1` and a fresh random
 * secret per link.
 *
 * - The parent's end (`local`) is usable at once: batches sent before the
 *   actor connects are queued in order (`send()` returns a promise once
 *   1 MiB is queued) and go out first; `receive()` waits for the connection.
 * - The listener closes, and its socket file and directory are removed, as
 *   soon as the actor has connected, or when `local` is closed first.
 * - `process` hosts receive the secret in `remote.options`: hand it to the
 *   child privately (stdin or a pipe), never on its command line.
 *
 * @example
 * ```ts
 * import { socketTransport } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const factory = socketTransport({ tcp: {} });
 * assert.equal(factory.name, "socket");
 * assert.deepEqual(factory.hosts, ["worker", "process"]);
 * const link = await factory.open("process");
 * assert.equal((link.remote.options as { transport: string }).transport, "tcp");
 * await link.local.close();
 * ```
 *
 * @param options The codec, frame limit, handshake timeout, and `tcp` to use TCP.
 * @returns A factory for `transport: socketTransport()`.
 * @throws {TypeError} When the codec is not `v8Codec` or `jsonCodec`, or an option has the wrong type.
 * @throws {RangeError} When `maxFrameBytes`, `handshakeTimeout` or the TCP port is out of range.
 */
export function socketTransport(options: SocketTransportOptions = {}): TransportFactory {
  const context = "Cannot create socket transport";
  const settings = checkSettings(options, context);
  const codecName = builtinCodecName(settings.codec, context);
  const onRejected = checkOnRejected(options.onRejected, context);
  let tcp: { hostname: string; port: number } | undefined;
  if (options.tcp !== undefined) {
    if (options.tcp === null || typeof options.tcp !== "object") {
      throw new TypeError(`${context}: tcp must be an object, received ${options.tcp}`);
    }
    tcp = {
      hostname: checkHostname(options.tcp.hostname, context),
      port: checkPort(options.tcp.port ?? 0, context),
    };
  }
  return {
    name: "socket",
    hosts: ["worker", "process"],
    open(host: HostKind): Promise<TransportLink> {
      if (host !== "worker" && host !== "process") {
        return Promise.reject(
          new TypeError(
            `Cannot open socket transport: it reaches workers and processes, received "${host}"`,
          ),
        );
      }
      return openLink(settings, codecName, tcp, onRejected);
    },
  };
}

async function openLink(
  settings: Settings,
  codecName: BuiltinCodecName,
  tcp: { hostname: string; port: number } | undefined,
  onRejected: (rejection: SocketRejection) => void,
): Promise<TransportLink> {
  const secret = tcp ? randomSecret() : undefined;
  const bound = tcp ? bindTcp(tcp.hostname, tcp.port) : await bindPrivateUnix();
  let key: CryptoKey | undefined;
  try {
    key = secret === undefined ? undefined : await importSecret(checkSecret(secret, "secret"));
  } catch (error) {
    await bound.release();
    throw error;
  }
  const common = {
    codec: codecName,
    maxFrameBytes: settings.maxFrameBytes,
    handshakeTimeout: settings.handshakeTimeout,
  };
  let options: SocketConnectOptions;
  if (tcp) {
    const addr = bound.listener.addr as Deno.NetAddr;
    options = {
      ...common,
      transport: "tcp",
      hostname: addr.hostname,
      port: addr.port,
      secret: secret!,
    };
  } else {
    options = { ...common, transport: "unix", path: (bound.listener.addr as Deno.UnixAddr).path };
  }
  let released: Promise<void> | undefined;
  const release = (): Promise<void> => {
    released ??= acceptor.close();
    return released;
  };
  const local = new SocketEnd(settings, release);
  const acceptor: Acceptor = new Acceptor(bound, settings, key, {
    onConnection(conn) {
      local.attach(conn);
      // One connection per link: stop listening and remove the socket file now.
      release().catch(noop);
    },
    onRejected,
    onFailure() {
      // The listener failed before the actor connected: the actor's connect()
      // fails, and the runtime's spawn timeout reports it.
      release().catch(noop);
    },
  });
  const childPermissions = options.transport === "tcp"
    ? { net: [`${options.hostname}:${options.port}`] }
    : { read: [options.path], write: [options.path], net: [`unix:${options.path}`] };
  return {
    local,
    remote: { module: import.meta.url, options, transfer: [] },
    childPermissions,
  };
}

/**
 * The directory part of a socket path (`node:path` would load Deno's Node
 * layer into every worker that imports the package).
 */
function parentDir(path: string): string {
  const cut = path.replace(/\/+$/, "").lastIndexOf("/");
  return cut < 0 ? "." : cut === 0 ? "/" : path.slice(0, cut);
}
