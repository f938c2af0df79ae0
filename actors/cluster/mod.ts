/**
 * Troupe past one machine: expose actors under names on a NATS broker, and
 * call them by name from any process with the same typed `tell` and `ask`
 * as a local ref. A separate entry (`@troupe/troupe/nats`), so apps that stay
 * on one machine never load the NATS client.
 *
 * - subject = address: a name is served on `troupe.<namespace>.<name>`;
 * - queue group = pool: processes exposing one name share its messages;
 * - request/reply = ask, publish = tell (core NATS: at most once);
 * - JetStream = durable mailbox: `expose(name, ref, { durable: true })` and
 *   `lookupDurable(name).tell(...)`, at least once (handlers should be idempotent).
 *
 * @example Expose in one process, look up in another
 * ```ts
 * import { ActorSystem } from "@troupe/troupe";
 * import { NatsNode } from "@troupe/troupe/nats";
 * import assert from "node:assert/strict";
 *
 * const url = Deno.env.get("TROUPE_NATS_URL");
 * if (url) {
 *   await using system = await ActorSystem.start();
 *   await using node = await NatsNode.connect({ servers: url, namespace: "shop" });
 *   await node.expose(
 *     "counter",
 *     await system.spawn(new URL("../../examples/actors/counter.ts", import.meta.url)),
 *   );
 *   const counter = node.lookup<typeof import("../../examples/actors/counter.ts")>("counter");
 *   await counter.ask("inc", 1, { timeout: 2000 });
 *   assert.equal(await counter.ask("get"), 1);
 * }
 * ```
 *
 * @module
 */

export { type NatsCloseOptions, NatsNode, type NatsNodeStats } from "./nats_node.ts";
export { type ActorOf, RemoteRef } from "./remote_ref.ts";
export { type Exposable, Exposure, type ExposureStats } from "./exposure.ts";
export type {
  DurableLookupOptions,
  DurableOptions,
  EventSource,
  ExposeOptions,
  LookupOptions,
  NatsCodec,
  NatsNodeOptions,
  NatsTlsOptions,
} from "./nats_options.ts";
export { type DurableReceipt, DurableRef, type DurableTellOptions } from "./durable_ref.ts";
export type { DurableStats } from "./_durable.ts";
export type { ActorConnectionStats } from "./_in_actor_shared.ts";
export type { ClusterActor } from "./_discovery.ts";
export type { ClusterEvent, ClusterEventType } from "../core/cluster_events.ts";
