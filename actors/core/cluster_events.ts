/**
 * Cluster events: what happened to a node's connection to the broker and to
 * the names it serves. Read them from `NatsNode.events()`; their counts are
 * in `NatsNode.stats()`. Server addresses in them carry no credentials.
 *
 * @module
 */

/**
 * Something that happened to a node's link to NATS. `id` is the node's
 * connection name (`NatsNodeOptions.name`), so these events read like the
 * lifecycle events beside them in `ActorSystem.events()`:
 * - `nats-disconnected`: the connection to `server` dropped; asks in flight
 *   rejected with `ConnectionLostError` (`failedAsks` of them). With
 *   `actorId`, it is the own connection of an actor serving a name in its
 *   thread (`inActor`): the node's thread serves the name meanwhile;
 * - `nats-reconnected`: the client is connected again (to `server`), and the
 *   node's exposed names are served again (with `actorId`: the actor's
 *   thread serves its name again);
 * - `nats-slow-consumer`: an exposed name's actor is slower than its
 *   callers: `dropped` requests were refused (`MailboxFullError`) because
 *   `maxPending` (`pending`) were in hand already. One event at the first
 *   drop, then at most one a second, with the drops since the last;
 * - `nats-bad-request`: a request broke the wire format (not JSON, no
 *   message name, too large...); it got an error reply and was not handled;
 * - `nats-dead-letter`: a remote tell the actor could not take (unknown
 *   message, full mailbox, stopped actor), or a durable message given up
 *   (`maxDeliver` deliveries without an ack, or an error no retry mends such
 *   as an unknown message name): then `msgId` is its `Nats-Msg-Id` and
 *   `deliveries` how often it was delivered;
 * - `nats-error`: the server reported an error (such as a permission
 *   violation), on the node's connection or (with `actorId`) an actor's;
 * - `nats-served-in-actor`: a name exposed with `inActor` moved: `serving`
 *   true once the actor's own thread serves its subscription, false (with
 *   the `reason`) when the node's thread serves it instead: the actor could
 *   not take it, or has ended;
 * - `nats-closed`: the connection closed for good: by `close()`, or because
 *   the client gave up reconnecting (then asks and tells reject with
 *   `ConnectionClosedError`). With `actorId`, an actor's own connection gave
 *   up: the node's thread serves its name from then on.
 *
 * @example Count disconnects
 * ```ts
 * import type { ClusterEvent } from "@troupe/troupe/nats";
 * import assert from "node:assert/strict";
 *
 * const events: ClusterEvent[] = [
 *   {
 *     type: "nats-disconnected",
 *     id: "web-1",
 *     server: "127.0.0.1:4222",
 *     failedAsks: 0,
 *     time: 0,
 *   },
 *   { type: "nats-reconnected", id: "web-1", server: "127.0.0.1:4222", time: 1 },
 * ];
 * assert.equal(events.filter((e) => e.type === "nats-disconnected").length, 1);
 * ```
 */
export type ClusterEvent =
  | {
    type: "nats-disconnected";
    id: string;
    server: string;
    failedAsks: number;
    /** Set when the connection is an actor's own (`inActor`), not the node's. */
    actorId?: string;
    time: number;
  }
  | {
    type: "nats-reconnected";
    id: string;
    server: string;
    /** Set when the connection is an actor's own (`inActor`), not the node's. */
    actorId?: string;
    time: number;
  }
  | {
    type: "nats-slow-consumer";
    id: string;
    name: string;
    pending: number;
    dropped: number;
    time: number;
  }
  | { type: "nats-bad-request"; id: string; name: string; reason: string; time: number }
  | {
    type: "nats-dead-letter";
    id: string;
    name: string;
    messageName: string;
    reason: string;
    /** Durable messages: the message's id (`Nats-Msg-Id`). */
    msgId?: string;
    /** Durable messages: how many times the broker delivered it. */
    deliveries?: number;
    time: number;
  }
  | {
    type: "nats-error";
    id: string;
    message: string;
    /** Set when the connection is an actor's own (`inActor`), not the node's. */
    actorId?: string;
    time: number;
  }
  | {
    type: "nats-served-in-actor";
    id: string;
    name: string;
    /** The actor behind the name. */
    actorId: string;
    /** `true`: its thread serves the name now; `false`: the node's thread does. */
    serving: boolean;
    /** Why the node's thread serves it (`serving` false). */
    reason?: string;
    time: number;
  }
  | {
    type: "nats-closed";
    id: string;
    /** `"closed"` by `close()`, or `"gave up reconnecting"` past `maxReconnectAttempts`. */
    reason: "closed" | "gave up reconnecting";
    /** Set when the connection is an actor's own (`inActor`): the node's thread serves its name. */
    actorId?: string;
    time: number;
  };

/** A cluster event as the node's parts report it; the node adds its `id`. */
export type ClusterEventReport = ClusterEvent extends infer E
  ? E extends ClusterEvent ? Omit<E, "id"> : never
  : never;

/** The `type`s of cluster events. */
export type ClusterEventType = ClusterEvent["type"];

/** What a cluster node gives the system it reports to: its figures, read on demand. */
export interface ClusterNodeSource {
  /** The node's figures now (a `NatsNode`'s `stats()`). */
  stats(): unknown;
}

const clusterNodes = new WeakMap<object, Set<ClusterNodeSource>>();

/**
 * Registers `node` with `system`, whose observer then reads its figures
 * (`troupe run --metrics`); the function returned takes it off again. The
 * core keeps the registry so that neither it nor the system imports the
 * cluster layer.
 */
export function registerClusterNode(system: object, node: ClusterNodeSource): () => void {
  let nodes = clusterNodes.get(system);
  if (nodes === undefined) clusterNodes.set(system, nodes = new Set());
  nodes.add(node);
  return () => void nodes.delete(node);
}

/** The cluster nodes registered with `system` now, in the order they came. */
export function clusterNodesOf(system: object): ClusterNodeSource[] {
  return [...clusterNodes.get(system) ?? []];
}
