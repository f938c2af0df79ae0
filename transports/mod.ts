/**
 * The entry for people writing transports: the `Transport` contract every
 * mailbox transport implements, the hints a sender passes with a batch, the
 * codecs, the errors a transport throws, and the built-in transports' pieces
 * that are useful on their own (in-thread pairs, a framed transport over any
 * pair of byte streams). App authors need none of it: `@troupe/troupe`
 * selects transports by name or factory.
 *
 * A transport implements {@linkcode TransportFactory} (it opens one channel
 * per actor) and {@linkcode Transport} (one end of that channel); pass the
 * factory to `ActorSystem.start({ transports })` to select it by name. The
 * repository's `tests/transport_conformance.ts` is the suite every built-in
 * transport passes.
 *
 * @example Two ends of a channel in one thread
 * ```ts
 * import { queueTransportPair, type Transport } from "@troupe/troupe/transport";
 * import assert from "node:assert/strict";
 *
 * const [a, b]: Transport[] = queueTransportPair();
 * a.send([["hello", 1]], { kind: 0, quiet: true });
 * for await (const batch of b.receive()) {
 *   assert.deepEqual(batch, [["hello", 1]]);
 *   break;
 * }
 * await a.close();
 * await b.close();
 * ```
 *
 * @module
 */

export {
  type BatchKind,
  emptyStats,
  type HostKind,
  type ProcessStdio,
  type RemoteEndpoint,
  type SendHints,
  type Transport,
  type TransportFactory,
  type TransportLink,
  type TransportStats,
} from "./transport.ts";
export { type Codec, jsonCodec, v8Codec } from "./codec.ts";
export {
  AuthenticationError,
  ConnectionClosedError,
  FrameTooLargeError,
  MessageNotCloneableError,
  ProtocolError,
} from "../internal/errors.ts";
export { queueTransportPair } from "./queue.ts";
export { type RingConnectOptions, ringTransportPair } from "./ring/ring.ts";
export { pipeTransportFromStreams } from "./pipe/pipe.ts";
export type { SocketConnectOptions } from "./socket/options.ts";
