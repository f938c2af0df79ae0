/**
 * The `socket` transport's server: {@linkcode listenSocket} and the
 * {@linkcode SocketServer} it returns, and the acceptor both it and the
 * factory's links listen with, which runs the handshakes of incoming
 * connections concurrently.
 *
 * @module
 */

import { ConnectionClosedError } from "../../internal/channel_errors.ts";
import { watchDeadline } from "../../internal/abort.ts";
import { bindPrivateUnix, bindTcp, bindUnixPath, type Bound, closeListener } from "./bind.ts";
import { SocketEnd, type SocketTransport } from "./end.ts";
import { checkSecret, importSecret, serverHandshake } from "./_handshake.ts";
import {
  checkHostname,
  checkOnRejected,
  checkPath,
  checkPort,
  checkSettings,
  isTcp,
  type ListenSocketOptions,
  type Settings,
  type SocketRejection,
  type SocketWaitOptions,
  type TcpListenOptions,
  type UnixListenOptions,
} from "./options.ts";

/** The first pause after an accept failed for want of resources; it doubles up to the next. */
const ACCEPT_RETRY_MIN_MS = 5;
/** The longest pause between accepts that keep failing for want of resources. */
const ACCEPT_RETRY_MAX_MS = 500;

/** Error codes of an `accept` that fails for want of resources, and may work again soon. */
const TRANSIENT_ACCEPT_CODES = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM", "ECONNABORTED"]);

function isTransientAcceptError(error: unknown): boolean {
  if (error instanceof Deno.errors.ConnectionAborted) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && TRANSIENT_ACCEPT_CODES.has(code);
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

/** A connection in its handshake, and how to end that handshake early. */
interface Pending {
  /** Where it came from: a TCP peer's hostname, or `""` for a Unix peer. */
  peer: string;
  /** Aborting it closes the connection and fails the handshake with the reason. */
  abort: AbortController;
}

/**
 * Accepts connections and runs their handshakes concurrently; hands each
 * authenticated one to `onConnection` and reports each failed one.
 *
 * At most `maxPendingHandshakes` connections are in their handshake at once.
 * A connection that arrives when all are taken is let in, and the oldest
 * pending handshake of the peer address holding the most of them is dropped
 * instead: a flood of idle or dripping connections, which a real attacker
 * keeps up by reconnecting, only ever evicts its own oldest connections, and
 * a legitimate client, which completes its handshake in about a round trip,
 * gets in while it lasts.
 */
export class Acceptor {
  readonly #bound: Bound;
  readonly #settings: Settings;
  readonly #key: CryptoKey | undefined;
  readonly #onConnection: (conn: Deno.Conn) => void;
  readonly #onRejected: (rejection: SocketRejection) => void;
  readonly #onFailure: (error: unknown) => void;
  /** Waiting for the client's answer, in arrival order, oldest first: these can be evicted. */
  readonly #handshaking = new Map<Deno.Conn, Pending>();
  /** Whose answer arrived: checking it takes no more of the peer's time. */
  readonly #verifying = new Set<Deno.Conn>();
  /** Pending handshakes per peer address. */
  readonly #perPeer = new Map<string, number>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #loop: Promise<void>;
  #closing: Promise<void> | undefined;
  /** Handshakes let in at once: the setting, or fewer after the process ran out of descriptors. */
  #limit: number;
  /** Ends the pause after a failed accept early. */
  #wake: (() => void) | undefined;

  /**
   * Starts accepting on a bound listener.
   *
   * @param bound The listener; released when the acceptor closes.
   * @param settings The codec, the handshake timeout and the pending-handshake limit.
   * @param key The secret as an HMAC key, or `undefined` when peers need none.
   * @param handlers Called with each authenticated connection, each rejection, and a failure of the listener.
   */
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
    this.#limit = settings.maxPendingHandshakes;
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    let backoff = 0;
    while (true) {
      let conn: Deno.Conn;
      try {
        conn = await this.#bound.listener.accept();
      } catch (error) {
        if (this.#closing) return;
        if (!isTransientAcceptError(error)) {
          this.#onFailure(error);
          return;
        }
        // Out of file descriptors (a flood, or a low limit). Failing here
        // would let a flood shut the server down for good, and running at the
        // limit starves the rest of the process (Deno itself can panic when it
        // gets no descriptor): take a quarter fewer handshakes from now on,
        // dropping the oldest, until the pending set empties.
        this.#limit = Math.max(1, Math.floor(this.#handshaking.size * 3 / 4));
        const why = `the process ran out of file descriptors (${(error as Error).message})`;
        this.#evict(why);
        while (this.#handshaking.size > this.#limit) this.#evict(why);
        backoff = Math.min(Math.max(backoff * 2, ACCEPT_RETRY_MIN_MS), ACCEPT_RETRY_MAX_MS);
        await this.#pause(backoff);
        continue;
      }
      backoff = 0;
      if (this.#closing) {
        conn.close();
        return;
      }
      if (this.#handshaking.size === 0) this.#limit = this.#settings.maxPendingHandshakes;
      if (this.#handshaking.size >= this.#limit) {
        this.#evict(`${this.#limit} connections were in their handshake`);
      }
      this.#handshake(conn);
    }
  }

  /** Waits `ms`, or less when the acceptor closes meanwhile. */
  #pause(ms: number): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    const timer = setTimeout(resolve, ms);
    this.#wake = () => {
      clearTimeout(timer);
      resolve();
    };
    return promise.finally(() => this.#wake = undefined);
  }

  /** Drops the oldest pending handshake of the peer address that holds the most. */
  #evict(why: string): void {
    let most = 0;
    for (const count of this.#perPeer.values()) most = Math.max(most, count);
    for (const pending of this.#handshaking.values()) {
      if (this.#perPeer.get(pending.peer) !== most) continue;
      pending.abort.abort(
        new ConnectionClosedError("receive", "local", {
          cause: new Error(`dropped to make room, the oldest of its address: ${why}`),
        }),
      );
      return;
    }
  }

  #handshake(conn: Deno.Conn): void {
    const remoteAddr = conn.remoteAddr;
    const peer = "hostname" in remoteAddr ? remoteAddr.hostname : "";
    const pending: Pending = { peer, abort: new AbortController() };
    this.#handshaking.set(conn, pending);
    this.#perPeer.set(peer, (this.#perPeer.get(peer) ?? 0) + 1);
    /** Frees the slot, once: an evicted or answered handshake is not counted twice. */
    const release = () => {
      if (this.#handshaking.get(conn) !== pending) return;
      this.#handshaking.delete(conn);
      const left = this.#perPeer.get(peer)! - 1;
      if (left === 0) this.#perPeer.delete(peer);
      else this.#perPeer.set(peer, left);
    };
    const done = () => {
      release();
      this.#verifying.delete(conn);
    };
    pending.abort.signal.addEventListener("abort", release, { once: true });
    const task = serverHandshake(conn, {
      key: this.#key,
      codec: this.#settings.codec.name,
      timeoutMs: this.#settings.handshakeTimeout,
      signal: pending.abort.signal,
      onAnswered: () => {
        release();
        this.#verifying.add(conn);
      },
    }).then(
      () => {
        done();
        if (this.#closing) conn.close();
        else this.#onConnection(conn);
      },
      (error: unknown) => {
        done();
        try {
          conn.close();
        } catch {
          // The deadline or the eviction closed it.
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
    this.#wake?.();
    for (const conn of [...this.#handshaking.keys(), ...this.#verifying]) {
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
      const waiter: Waiter = {
        resolve(end) {
          stop();
          resolve(end);
        },
        reject(error) {
          stop();
          reject(error);
        },
      };
      this.#waiters.push(waiter);
      const stop = watchDeadline(signal, undefined, (reason) => {
        const index = this.#waiters.indexOf(waiter);
        if (index !== -1) this.#waiters.splice(index, 1);
        reject(reason);
      });
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
 * @throws {RangeError} When `port`, `maxFrameBytes`, `handshakeTimeout`, `frameTimeout`, `maxPendingHandshakes` or the secret's length is out of range.
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
