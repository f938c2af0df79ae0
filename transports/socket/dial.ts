/**
 * The `socket` transport's client: {@linkcode dialSocket}, and the dial
 * (connect, then the client's handshake) the actor's end of a factory link
 * uses too.
 *
 * @module
 */

import { watchDeadline } from "../../internal/abort.ts";
import { SocketEnd, type SocketTransport } from "./end.ts";
import { checkSecret, clientHandshake, importSecret } from "./_handshake.ts";
import {
  checkHostname,
  checkPath,
  checkPort,
  checkSettings,
  type DialSocketOptions,
  isTcp,
  type Settings,
} from "./options.ts";

/** Where a client dials. */
export type Address =
  | { transport: "unix"; path: string }
  | { transport: "tcp"; hostname: string; port: number };

/**
 * Connects to a checked address and runs the client's handshake.
 *
 * @param address Where to dial.
 * @param settings The codec, the frame limit and the handshake timeout.
 * @param secret The secret's bytes, when there is one.
 * @param signal Aborts the dial and the handshake.
 * @returns The connected end.
 */
export async function dial(
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
    // An abort rejects at once; the connection, when it comes, is closed below.
    const stop = watchDeadline(signal, undefined, reject);
    connecting.then(
      (conn) => {
        stop();
        if (signal.aborted) conn.close();
        else resolve(conn);
      },
      (error) => {
        stop();
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
 * @throws {RangeError} When `port`, `maxFrameBytes`, `handshakeTimeout`, `frameTimeout` or the secret's length is out of range.
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
