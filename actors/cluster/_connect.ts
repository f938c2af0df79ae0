// Connects the NATS client over its Node transport, made safe for Deno: when
// the server refuses a login it closes the socket while the client is still
// writing, and Deno's node:net reports the reset as an 'error' event after
// the transport has removed its listeners. An 'error' event without a
// listener throws, uncaught, and ends the process. Each transport therefore
// keeps a listener on its socket after it closes.
//
// The same holds for the TLS socket the transport upgrades to: a server that
// refuses the client's certificate sends its alert after the handshake has
// resolved (the transport removed its listeners then) or after the socket
// closed, and the alert's 'error' had no listener. The TLS socket is made in
// the transport's startTLS(), out of reach; `node:tls`'s `connect` is wrapped
// once, and quiets only the TLS sockets made over a socket one of these
// transports dialed (any other caller's socket is left as it is).
//
// The client picks its transport through a process-wide factory that
// transport-node's own connect() also sets; every NatsNode connect sets it
// again, and the client's reconnects use it.

import { AuthenticationError, BrokerUnavailableError } from "../../internal/errors.ts";
import {
  type ConnectionOptions,
  type NatsConnection,
  NatsConnectionImpl,
  setTransportFactory,
  type Transport,
} from "@nats-io/transport-node";
import { nodeResolveHost, NodeTransport } from "@nats-io/transport-node/lib/node_transport.js";
import { createRequire } from "node:module";
import { noop } from "../../internal/abort.ts";

interface Listening {
  on(event: string, listener: () => void): unknown;
  removeAllListeners(event?: string): unknown;
}

interface TransportInternals {
  socket?: Listening;
  startTLS(): Promise<unknown>;
  _closed(error?: Error, internal?: boolean): Promise<void>;
}

/** The plain sockets of our transports that are being upgraded to TLS. */
const upgrading = new WeakSet<object>();
let tlsWrapped = false;

/** Keeps an 'error' listener on `socket` for good, through `removeAllListeners()`. */
function keepQuiet(socket: Listening): void {
  socket.on("error", noop);
  const removeAll = socket.removeAllListeners.bind(socket);
  socket.removeAllListeners = (event?: string) => {
    const result = removeAll(event);
    if (event === undefined || event === "error") socket.on("error", noop);
    return result;
  };
}

function wrapTlsConnect(): void {
  if (tlsWrapped) return;
  tlsWrapped = true;
  // The module object the transport's own `require("node:tls")` returns.
  const tls = createRequire(import.meta.url)("node:tls") as {
    connect: (...args: unknown[]) => Listening;
  };
  const connect = tls.connect;
  tls.connect = function (this: unknown, ...args: unknown[]): Listening {
    const socket = connect.apply(this, args);
    const options = args[0] as { socket?: object } | undefined;
    if (typeof options === "object" && options?.socket && upgrading.has(options.socket)) {
      keepQuiet(socket);
    }
    return socket;
  };
}

function quietTransport(): Transport {
  const transport = new NodeTransport();
  const internals = transport as unknown as TransportInternals;
  const startTLS = internals.startTLS.bind(transport);
  internals.startTLS = () => {
    wrapTlsConnect();
    if (internals.socket) upgrading.add(internals.socket);
    return startTLS();
  };
  const closed = internals._closed.bind(transport);
  internals._closed = async (error, internal) => {
    const socket = internals.socket;
    try {
      await closed(error, internal);
    } finally {
      socket?.on("error", noop);
    }
  };
  return transport;
}

/** Connects with the quiet transport. */
export function connectNats(options: ConnectionOptions): Promise<NatsConnection> {
  setTransportFactory({ factory: quietTransport, dnsResolveFn: nodeResolveHost });
  return NatsConnectionImpl.connect(options);
}

/**
 * The typed error for a connect that failed (`error`, the client's): the
 * server refused the credentials, or none of `servers` (shown without
 * credentials) could be reached.
 */
export function connectError(
  error: unknown,
  servers: readonly string[],
): AuthenticationError | BrokerUnavailableError {
  const name = error instanceof Error ? error.name : "";
  const message = error instanceof Error ? error.message : String(error);
  if (name === "AuthorizationError" || /authoriz|authentic/i.test(message)) {
    return new AuthenticationError(
      `Cannot connect to the broker at ${servers.join(", ")}: the server refused the credentials`,
      { cause: error },
    );
  }
  return new BrokerUnavailableError([...servers], { cause: error });
}
