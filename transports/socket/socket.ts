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
 *   `console.warn`, at most once a second).
 * - At most `maxPendingHandshakes` (1024) connections are in their handshake
 *   at once; past that, each new one evicts the oldest pending handshake of
 *   the peer address holding the most, so a flood of idle or dripping
 *   connections evicts itself while legitimate clients get in. Running out of
 *   file descriptors makes a server take fewer handshakes, never stop.
 * - After the handshake, each frame must arrive whole within `frameTimeout`
 *   (10 s) of its first byte, plus one second per 64 KiB of it received; a
 *   late frame is a `ProtocolError` and the connection is closed. An idle
 *   connection has no deadline. Every whole frame before a bad one (an
 *   oversized length, a body that does not decode) is delivered first.
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

import { noop } from "../../internal/abort.ts";
import { type BuiltinCodecName, builtinCodecName, codecNamed } from "../framing/codec_options.ts";
import type { HostKind, Transport, TransportFactory, TransportLink } from "../transport.ts";
import { bindPrivateUnix, bindTcp } from "./bind.ts";
import { dial } from "./dial.ts";
import { SocketEnd } from "./end.ts";
import { checkSecret, importSecret, randomSecret } from "./_handshake.ts";
import {
  checkHostname,
  checkOnRejected,
  checkPath,
  checkPort,
  checkSettings,
  type Settings,
  type SocketConnectOptions,
  type SocketRejection,
  type SocketTransportOptions,
} from "./options.ts";
import { Acceptor } from "./server.ts";

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
    frameTimeout: options.frameTimeout,
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
 * @throws {RangeError} When `maxFrameBytes`, `handshakeTimeout`, `frameTimeout`, `maxPendingHandshakes` or the TCP port is out of range.
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
    frameTimeout: settings.frameTimeout,
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
