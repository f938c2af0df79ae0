/**
 * The options of a NATS node (`NatsNode.connect`) and of the names it
 * exposes (`NatsNode.expose`).
 *
 * @module
 */

import type { LifecycleEvent } from "../core/events.ts";

/**
 * TLS settings, passed through to the NATS client as they are. Give either
 * file paths or PEM text.
 */
export interface NatsTlsOptions {
  /** The client certificate's file. */
  certFile?: string;
  /** The client certificate, PEM. */
  cert?: string;
  /** The client key's file. */
  keyFile?: string;
  /** The client key, PEM. */
  key?: string;
  /** The certificate authority's file. */
  caFile?: string;
  /** The certificate authority, PEM. */
  ca?: string;
  /** Start TLS before the server's first message (servers with `handshake_first`). */
  handshakeFirst?: boolean;
}

/**
 * Options of `NatsNode.connect`. Credentials (`user`/`pass`, `token`,
 * `creds`, `nkeySeed`, TLS keys, and any in server URLs) are handed to the
 * client and never appear in errors, events, `stats()`, `toString()` or JSON.
 */
export interface NatsNodeOptions {
  /** Server URLs, such as `"nats://10.0.0.5:4222"`. Default `"nats://127.0.0.1:4222"`. */
  servers?: string | readonly string[];
  /** The connection's name, as the server's monitoring shows it. Default `troupe-<pid>`. */
  name?: string;
  /**
   * The app's namespace: names are served on `troupe.<namespace>.<name>`,
   * so apps on one broker do not see each other's names. Letters, digits,
   * `_` and `-`, in dot-separated tokens. Default `"default"`.
   */
  namespace?: string;
  /** User name, with `pass`. */
  user?: string;
  /** Password, with `user`. */
  pass?: string;
  /** A token the server expects. */
  token?: string;
  /** The contents of a `.creds` file (user JWT and nkey seed), as text or bytes. */
  creds?: string | Uint8Array;
  /** An nkey seed (`SU...`), as text or bytes, for nkey authentication. */
  nkeySeed?: string | Uint8Array;
  /** TLS settings; setting them requires TLS. */
  tls?: NatsTlsOptions;
  /**
   * The deadline of an ask that gives none, in milliseconds: a remote actor's
   * process can die without a word, so no remote ask waits forever. Default 30000.
   */
  askTimeout?: number;
  /** Milliseconds the first connect may take. Default 5000. */
  connectTimeout?: number;
  /**
   * Milliseconds between the client's pings; two unanswered pings count as
   * a lost connection (a silent network is found within about three
   * intervals). Default 5000.
   */
  pingInterval?: number;
  /** Milliseconds between reconnect attempts. Default 250. */
  reconnectWait?: number;
  /** Reconnect attempts before giving up; -1 (the default) tries forever. */
  maxReconnectAttempts?: number;
  /**
   * Answer the NATS services protocol (`$SRV.PING`, `$SRV.INFO`,
   * `$SRV.STATS`) as service `troupe-<namespace>`, one endpoint per exposed
   * name, so `nats micro ls` and other NATS tooling list the node. Default true.
   */
  discovery?: boolean;
  /**
   * An `ActorSystem` whose `events()` also reports this node's cluster events
   * (`nats-disconnected`, `nats-reconnected`, `nats-dead-letter`...), beside
   * its actors' lifecycle, so one loop watches both. `NatsNode.events()`
   * reports them either way. Its observer (`troupe run --metrics`) also
   * shows the node's figures, until the node closes.
   */
  system?: EventSource;
  /** Abandons the first connect. */
  signal?: AbortSignal;
}

/** What `NatsNodeOptions.system` takes: an `ActorSystem` (anything else is refused). */
export interface EventSource {
  /** The system's event stream. */
  events(options?: { signal?: AbortSignal }): AsyncIterableIterator<LifecycleEvent>;
}

/**
 * The body format of a name's messages over NATS, named in the
 * `Troupe-Codec` header:
 * - `"json"`, the default: what the `nats` CLI and clients in any language
 *   send; payloads and replies are plain JSON data.
 * - `"v8"`: `node:v8`'s serialization (structured clone's format), for
 *   TypeScript-to-TypeScript traffic: Map, Set, Date, bigint, typed arrays,
 *   errors and `undefined` inside arrive as they were sent.
 *
 * A serving side answers in the codec each request came in. An exposure
 * takes `"v8"` requests only when exposed with `codec: "v8"` (it takes JSON
 * requests either way); any other request gets a `ProtocolError` reply.
 *
 * @example Map, Date and bigint over NATS
 * ```ts
 * import { ActorSystem } from "@troupe/troupe";
 * import { type NatsCodec, NatsNode } from "@troupe/troupe/nats";
 * import assert from "node:assert/strict";
 *
 * const url = Deno.env.get("TROUPE_NATS_URL");
 * if (url) {
 *   const codec: NatsCodec = "v8";
 *   await using system = await ActorSystem.start();
 *   await using node = await NatsNode.connect({ servers: url, namespace: "v8docs" });
 *   const counter = await system.spawn(new URL("../../examples/actors/counter.ts", import.meta.url));
 *   await node.expose("counter", counter, { codec });
 *   const remote = node.lookup<typeof import("../../examples/actors/counter.ts")>("counter", { codec });
 *   await remote.ask("inc", 2, { timeout: 2000 });
 *   assert.equal(await remote.ask("get"), 2);
 * }
 * ```
 */
export type NatsCodec = "json" | "v8";

/**
 * Options of `NatsNode.lookup`.
 *
 * @example
 * ```ts
 * import { type LookupOptions, NatsNode } from "@troupe/troupe/nats";
 * import assert from "node:assert/strict";
 *
 * const url = Deno.env.get("TROUPE_NATS_URL");
 * if (url) {
 *   await using node = await NatsNode.connect({ servers: url, namespace: "shop" });
 *   const options: LookupOptions = { codec: "v8" };
 *   assert.equal(node.lookup("counter", options).subject, "troupe.shop.counter");
 * }
 * ```
 */
export interface LookupOptions {
  /**
   * The codec of the ref's payloads and of the replies it asks for (see
   * {@linkcode NatsCodec}). `"v8"` needs the name exposed with `codec: "v8"`.
   * Default `"json"`.
   */
  codec?: NatsCodec;
}

/** Options of `NatsNode.expose`. */
export interface ExposeOptions {
  /**
   * The codecs the name takes (see {@linkcode NatsCodec}): `"json"` (the
   * default) takes JSON requests only; `"v8"` takes V8-serialized requests
   * from TypeScript peers as well as JSON ones. Each is answered in its own
   * codec. Durable messages follow the same rule.
   */
  codec?: NatsCodec;
  /**
   * The NATS queue group. Processes that expose one name with the same group
   * share its messages, each message going to one of them. Default: the
   * subject, so every process exposing a name joins one group.
   */
  queue?: string;
  /**
   * The largest request body taken, in bytes; a larger one gets a
   * `FrameTooLargeError` reply. Default 1 MiB (NATS's own default limit).
   */
  maxPayload?: number;
  /**
   * Requests the exposure handles at once (asks waiting for their reply,
   * tells waiting for mailbox room). Past it, an ask is answered with
   * `MailboxFullError` and a tell is dropped as a dead letter; each drop is
   * counted (`ExposureStats.dropped`) and reported (`nats-slow-consumer`).
   * Default 1024.
   */
  maxPending?: number;
  /**
   * The longest a remote ask may wait for the local actor, in milliseconds;
   * a caller's own deadline (the `Troupe-Timeout` header) shortens it.
   * Default 30000.
   */
  askTimeout?: number;
  /**
   * Back the name with a durable mailbox on JetStream as well: `true` for the
   * defaults, or the settings. Messages sent with `NatsNode.lookupDurable`
   * are stored in a stream and handled at least once (see
   * {@linkcode DurableOptions}). Core asks and tells keep working beside it.
   */
  durable?: boolean | DurableOptions;
  /**
   * Serve the name from the actor's own thread: the actor (a worker or
   * thread actor on the `queue` transport, spawned with `system.spawn` or
   * a supervised child, whose every incarnation then serves it)
   * opens a NATS connection of its own, with this node's options, and its
   * handlers take requests straight from it, without the two hops through
   * this node's thread (about half of a remote ask's time on one machine).
   * The same wire format, errors, limits, counters and events hold. Until
   * the actor's thread has subscribed, and once it has ended, this node's
   * thread serves the name as without the option; so it does for a target
   * that cannot take it (a pool, another host or
   * transport, a worker without `net` permission), reported by a
   * `nats-served-in-actor` event and `ExposureStats.servedIn`. Default
   * `false`. See the README's "Past one machine" for what differs.
   */
  inActor?: boolean;
}

/**
 * Settings of a durable mailbox (`ExposeOptions.durable`). Every process
 * exposing a name durably shares one stream and one durable consumer, so its
 * messages are spread over them; the settings of the latest exposure win.
 *
 * At least once: a message is acked only after its handler returned. A
 * handler that throws is retried after `retryDelay`; one whose process dies
 * or stalls is redelivered after `ackWait`. A message delivered `maxDeliver`
 * times without an ack is dead-lettered (a `nats-dead-letter` event, counted
 * in `ExposureStats.durable.deadLetters`) and removed, as is one whose error
 * no retry mends (an unknown message name, a payload the actor cannot take).
 */
export interface DurableOptions {
  /**
   * Milliseconds a delivered message may go unacked before the broker
   * delivers it again (to any serving process). The handler may run for
   * 0.8 × ackWait: past that it is given up on (found within ackWait / 10,
   * at most 1 s later) and its message retried as after a throw, before the
   * broker would redeliver it; the handler itself cannot be stopped, and
   * what it returns later is ignored. Default 30000.
   */
  ackWait?: number;
  /** Deliveries of one message before it is dead-lettered. Default 5. */
  maxDeliver?: number;
  /** Milliseconds before a message whose handler threw is delivered again. Default 1000. */
  retryDelay?: number;
  /** Handlers this process runs at once for the name. Default 64. */
  maxInflight?: number;
  /**
   * Milliseconds within which a second message with the same id
   * (`Nats-Msg-Id`) is stored once (the stream's duplicate window). Default 120000.
   */
  duplicateWindow?: number;
}

/** Options of `NatsNode.lookupDurable`. */
export interface DurableLookupOptions {
  /**
   * The codec of the ref's payloads (see {@linkcode NatsCodec}); `"v8"`
   * needs the name exposed with `codec: "v8"`. Default `"json"`.
   */
  codec?: NatsCodec;
  /**
   * Milliseconds a durable tell waits for the broker to confirm it stored
   * the message; past it the tell rejects with `PublishOutcomeUnknownError`.
   * Default 5000.
   */
  publishTimeout?: number;
}
