/**
 * The options of the `socket` transport, and how they are checked: the
 * options every end takes, a server's and a client's address and secret,
 * the factory's options and what the actor's end is opened with.
 *
 * @module
 */

import type { Codec } from "../codec.ts";
import { checkCodec } from "../framing/codec_options.ts";
import { checkMaxFrameBytes } from "../framing/framing.ts";
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from "./_handshake.ts";

/**
 * How long a frame may take from its first byte to its last by default, in
 * milliseconds, before the 64 KiB/s allowance (`frameTimeout`). As generous
 * as the handshake's: on a loaded 2-core machine a busy sender's event loop
 * stalled for more than 2 s, and a sender stalled in the middle of writing a
 * large frame must not cost its connection. An idle connection (between
 * frames) has no deadline.
 */
export const DEFAULT_FRAME_TIMEOUT_MS = 10_000;

/**
 * Connections a server lets be in their handshake at once by default. Each
 * holds a file descriptor until its handshake ends; when all are taken, the
 * next connection evicts the oldest pending one of the busiest peer address.
 */
export const DEFAULT_MAX_PENDING_HANDSHAKES = 1024;

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
  /**
   * The per-frame read deadline after the handshake, in milliseconds; defaults
   * to 10000. A frame must arrive whole within this time of its first byte,
   * plus one second for every 64 KiB of it that arrived (so a large frame that
   * keeps coming at 64 KiB/s or more is never cut off). A late frame fails
   * `receive()` with `ProtocolError` and closes the connection. An idle
   * connection, between frames, has no deadline.
   */
  frameTimeout?: number;
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
   * Connections that may be in their handshake at once; defaults to 1024.
   * When all are taken, a new connection is still let in and the oldest
   * pending handshake of the peer address holding the most is dropped (and
   * reported to `onRejected`), so a flood of idle or dripping connections
   * evicts itself and a legitimate client gets in. Each pending connection
   * holds a file descriptor: keep this well under `ulimit -n`.
   */
  maxPendingHandshakes?: number;
  /**
   * Called for every connection dropped during the handshake; defaults to a
   * `console.warn` line, at most one a second (the next line counts those
   * left out). It must not throw.
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
  /** Connections a link's listener lets be in their handshake at once; defaults to 1024. */
  maxPendingHandshakes?: number;
  /** Called for every connection dropped during the handshake; defaults to `console.warn`, at most once a second. */
  onRejected?: (rejection: SocketRejection) => void;
}

/**
 * What {@linkcode connect} needs to open the actor's end of a `socket` link.
 * Structured-cloneable; it holds the link's secret for TCP, so do not log it.
 */
export type SocketConnectOptions =
  & {
    codec: "v8" | "json";
    maxFrameBytes: number;
    handshakeTimeout: number;
    /** Absent in options made before it existed: the default. */
    frameTimeout?: number;
  }
  & (
    | { transport: "unix"; path: string }
    | { transport: "tcp"; hostname: string; port: number; secret: string }
  );

/** Checked options every socket end runs with. */
export interface Settings {
  /** How batches become bytes. */
  codec: Codec;
  /** The largest encoded batch, in bytes. */
  maxFrameBytes: number;
  /** Milliseconds the handshake may take. */
  handshakeTimeout: number;
  /** The per-frame read deadline, in milliseconds. */
  frameTimeout: number;
  /** Connections a server lets be in their handshake at once. */
  maxPendingHandshakes: number;
}

/** The default `onRejected` logs at most one line per this many milliseconds. */
const WARN_INTERVAL_MS = 1000;

/**
 * The default `onRejected`: a `console.warn` line, at most one a second, so a
 * flood of bad connections does not flood the log; the next line counts the
 * ones left out.
 */
function rateLimitedWarning(): (rejection: SocketRejection) => void {
  let last = -Infinity;
  let skipped = 0;
  return (rejection) => {
    const now = performance.now();
    if (now - last < WARN_INTERVAL_MS) {
      skipped++;
      return;
    }
    last = now;
    const more = skipped === 0 ? "" : ` (and ${skipped} more since the last such line)`;
    skipped = 0;
    console.warn(
      `Troupe socket: dropped a connection from ${
        formatAddr(rejection.remoteAddr)
      } during the handshake: ${rejection.error.name}: ${rejection.error.message}${more}`,
    );
  };
}

function formatAddr(addr: Deno.Addr): string {
  if ("hostname" in addr) return `${addr.hostname}:${addr.port}`;
  if ("path" in addr && addr.path) return `unix:${addr.path}`;
  return `a ${addr.transport} peer`;
}

/**
 * Checks the options every socket end takes.
 *
 * @param options The codec, the frame limit, the handshake and frame timeouts and the pending-handshake limit, as given.
 * @param context What is being set up, for the message, such as `"Cannot listen on socket"`.
 * @returns The settings, with defaults filled in.
 * @throws {TypeError} When the codec is not a codec.
 * @throws {RangeError} When `maxFrameBytes`, `handshakeTimeout`, `frameTimeout` or `maxPendingHandshakes` is out of range.
 */
export function checkSettings(
  options: SocketOptions & { maxPendingHandshakes?: number },
  context: string,
): Settings {
  const pending = options.maxPendingHandshakes ?? DEFAULT_MAX_PENDING_HANDSHAKES;
  if (typeof pending !== "number" || !Number.isInteger(pending) || pending < 1) {
    throw new RangeError(
      `${context}: maxPendingHandshakes must be a positive integer, received ${pending}`,
    );
  }
  return {
    maxPendingHandshakes: pending,
    codec: checkCodec(options.codec, context),
    maxFrameBytes: checkMaxFrameBytes(options.maxFrameBytes, context),
    handshakeTimeout: checkTimeout(
      options.handshakeTimeout,
      DEFAULT_HANDSHAKE_TIMEOUT_MS,
      "handshakeTimeout",
      context,
    ),
    frameTimeout: checkTimeout(
      options.frameTimeout,
      DEFAULT_FRAME_TIMEOUT_MS,
      "frameTimeout",
      context,
    ),
  };
}

function checkTimeout(value: unknown, fallback: number, name: string, context: string): number {
  const timeout = value ?? fallback;
  if (typeof timeout !== "number" || !(timeout > 0) || !Number.isFinite(timeout)) {
    throw new RangeError(
      `${context}: ${name} must be a positive number of milliseconds, received ${timeout}`,
    );
  }
  return timeout;
}

/**
 * Checks a Unix socket path.
 *
 * @param path The path, as given.
 * @param context What is being set up, for the message.
 * @returns The path.
 * @throws {TypeError} When it is not a non-empty string.
 */
export function checkPath(path: unknown, context: string): string {
  if (typeof path !== "string" || path.length === 0) {
    throw new TypeError(`${context}: path must be a non-empty string, received ${path}`);
  }
  return path;
}

/**
 * Checks a TCP hostname, `"127.0.0.1"` when absent.
 *
 * @param hostname The hostname, as given.
 * @param context What is being set up, for the message.
 * @returns The hostname.
 * @throws {TypeError} When it is given and not a non-empty string.
 */
export function checkHostname(hostname: unknown, context: string): string {
  if (hostname === undefined) return DEFAULT_HOSTNAME;
  if (typeof hostname !== "string" || hostname.length === 0) {
    throw new TypeError(`${context}: hostname must be a non-empty string, received ${hostname}`);
  }
  return hostname;
}

/**
 * Checks a TCP port.
 *
 * @param port The port, as given.
 * @param context What is being set up, for the message.
 * @returns The port.
 * @throws {RangeError} When it is not an integer from 0 to 65535.
 */
export function checkPort(port: unknown, context: string): number {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `${context}: port must be an integer from 0 to 65535, received ${port}`,
    );
  }
  return port;
}

/**
 * Checks an `onRejected` callback; when absent, a `console.warn` line at most once a second.
 *
 * @param onRejected The callback, as given.
 * @param context What is being set up, for the message.
 * @returns The callback.
 * @throws {TypeError} When it is given and not a function.
 */
export function checkOnRejected(
  onRejected: unknown,
  context: string,
): (rejection: SocketRejection) => void {
  if (onRejected === undefined) return rateLimitedWarning();
  if (typeof onRejected !== "function") {
    throw new TypeError(`${context}: onRejected must be a function, received ${onRejected}`);
  }
  return onRejected as (rejection: SocketRejection) => void;
}

/**
 * Tells TCP options (`port`, `hostname`) from Unix ones (`path`); both at once is an error.
 *
 * @param options The address options, as given.
 * @param context What is being set up, for the message.
 * @returns `true` for TCP.
 * @throws {TypeError} When both a path and a port or hostname are given.
 */
export function isTcp(
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
