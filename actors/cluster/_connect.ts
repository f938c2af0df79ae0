// Connects the NATS client over its Node transport, made safe for Deno: when
// the server refuses a login it closes the socket while the client is still
// writing, and Deno's node:net reports the reset as an 'error' event after
// the transport has removed its listeners. An 'error' event without a
// listener throws, uncaught, and ends the process. Each transport therefore
// keeps a listener on its socket after it closes.
//
// The client picks its transport through a process-wide factory that
// transport-node's own connect() also sets; every NatsNode connect sets it
// again, and the client's reconnects use it.

import {
  type ConnectionOptions,
  type NatsConnection,
  NatsConnectionImpl,
  setTransportFactory,
  type Transport,
} from "@nats-io/transport-node";
import { nodeResolveHost, NodeTransport } from "@nats-io/transport-node/lib/node_transport.js";
import { noop } from "../../internal/abort.ts";

interface TransportInternals {
  socket?: { on(event: string, listener: () => void): unknown };
  _closed(error?: Error, internal?: boolean): Promise<void>;
}

function quietTransport(): Transport {
  const transport = new NodeTransport();
  const internals = transport as unknown as TransportInternals;
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
