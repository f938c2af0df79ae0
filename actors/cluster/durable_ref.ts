/**
 * `DurableRef`: a typed handle that sends messages to an actor's durable
 * mailbox (a JetStream stream), to be handled at least once.
 *
 * @module
 */

import type {
  AnyActorDefinition,
  HandlersOf,
  MessageName,
  PayloadArgs,
} from "../core/define_actor.ts";
import type { DurableReceipt } from "./_durable.ts";

export type { DurableReceipt } from "./_durable.ts";

/** Options of one {@linkcode DurableRef.tell}. */
export interface DurableTellOptions {
  /**
   * The message's id, sent as `Nats-Msg-Id`: a message sent again with the
   * same id within the stream's duplicate window (2 minutes by default) is
   * stored once. Default: a fresh random id. Give your own (an order number)
   * to make retries across process restarts safe.
   */
  id?: string;
  /**
   * Milliseconds to wait for the broker's confirmation; past it the tell
   * rejects with `PublishOutcomeUnknownError`. Default: the lookup's
   * `publishTimeout` (5000).
   */
  timeout?: number;
}

/** What a `DurableRef` talks through: its node (internal). */
export interface DurableLink {
  readonly name: string;
  readonly subject: string;
  tell(name: string, payload: unknown, options: DurableTellOptions | undefined): Promise<
    DurableReceipt
  >;
}

/**
 * A typed reference to the durable mailbox of an actor some process exposes
 * with `durable` (see `ExposeOptions.durable`): made by
 * `NatsNode.lookupDurable`. `D` is the actor's definition type.
 *
 * Guarantees (JetStream, at least once):
 * - `tell` resolves once the broker stored the message (a `DurableReceipt`
 *   with its stream sequence); from then on it survives the serving
 *   processes' crashes and the broker's restarts (file storage).
 * - A stored message is handled at least once: it is acked only after its
 *   handler returned, and redelivered (to any serving process) when the
 *   handler threw, its process died, or it ran past `ackWait`; after
 *   `maxDeliver` deliveries it is dead-lettered. Handlers should therefore
 *   be idempotent.
 * - Every message carries an id (`Nats-Msg-Id`): a retry with the same id
 *   stores it once (`duplicate: true` on the receipt).
 * - A tell the broker did not confirm (within its timeout, or before the
 *   connection dropped) rejects with `PublishOutcomeUnknownError`, carrying
 *   the id to retry with; one sent
 *   while the connection is down rejects with `ConnectionLostError`
 *   (`inFlight: false`: nothing was sent); when no stream takes the subject
 *   (nobody ever exposed the name durably) with `NoRespondersError`.
 *
 * @example Send work that must not be lost
 * ```ts
 * import { ActorSystem } from "@troupe/troupe";
 * import { NatsNode } from "@troupe/troupe/nats";
 * import assert from "node:assert/strict";
 *
 * const url = Deno.env.get("TROUPE_NATS_URL");
 * if (url) {
 *   await using system = await ActorSystem.start();
 *   await using node = await NatsNode.connect({ servers: url, namespace: "docs" });
 *   const counter = await system.spawn(new URL("../../examples/actors/counter.ts", import.meta.url));
 *   await node.expose("ledger", counter, { durable: true });
 *   const durable = node.lookupDurable<typeof import("../../examples/actors/counter.ts")>("ledger");
 *   const receipt = await durable.tell("inc", 1, { id: "order-17" });
 *   const again = await durable.tell("inc", 1, { id: "order-17" });
 *   assert.equal(again.duplicate, true);
 *   assert.equal(again.seq, receipt.seq);
 * }
 * ```
 */
export class DurableRef<D extends AnyActorDefinition> {
  #link: DurableLink;

  /**
   * Made by `NatsNode.lookupDurable`; not constructed directly.
   *
   * @param link The node's end (internal).
   */
  constructor(link: never) {
    this.#link = link as DurableLink;
  }

  /** The name the actor is exposed under. */
  get name(): string {
    return this.#link.name;
  }

  /** The subject its durable messages go to: `troupe-durable.<namespace>.<name>`. */
  get subject(): string {
    return this.#link.subject;
  }

  /**
   * Stores a message in the actor's durable mailbox; resolves once the
   * broker confirmed it.
   *
   * @example Retry a tell whose outcome is unknown
   * ```ts
   * import { NatsNode } from "@troupe/troupe/nats";
   * import { PublishOutcomeUnknownError } from "@troupe/troupe";
   * import type { counter } from "../../examples/actors/counter.ts";
   *
   * const url = Deno.env.get("TROUPE_NATS_URL");
   * if (url) {
   *   await using node = await NatsNode.connect({ servers: url, namespace: "docs" });
   *   const durable = node.lookupDurable<typeof counter>("ledger");
   *   const id = crypto.randomUUID();
   *   try {
   *     await durable.tell("inc", 1, { id, timeout: 2000 });
   *   } catch (error) {
   *     // Same id: stored once even if the first one was stored after all.
   *     if (error instanceof PublishOutcomeUnknownError) await durable.tell("inc", 1, { id });
   *   }
   * }
   * ```
   *
   * @param name The handler's name.
   * @param args The payload (plain JSON data; pass `undefined` for none), then optional
   *   {@linkcode DurableTellOptions}.
   * @returns The broker's receipt: id, stream, sequence, and whether it was a duplicate.
   * @throws {PublishOutcomeUnknownError} When the broker did not confirm it in time.
   * @throws {ConnectionLostError} When the connection is down (nothing was sent).
   * @throws {NoRespondersError} When no stream takes the subject.
   * @throws {MessageNotCloneableError} When the payload is not plain JSON data.
   * @throws {ProtocolError} When the broker refused the message (a stream limit, say).
   */
  tell<K extends MessageName<D>>(
    name: K,
    ...args: [...PayloadArgs<HandlersOf<D>[K]>, options?: DurableTellOptions]
  ): Promise<DurableReceipt> {
    return this.#link.tell(name, args[0], args[1] as DurableTellOptions | undefined);
  }

  /** The name and subject, for logs (no credentials). */
  toString(): string {
    return `DurableRef(${this.#link.name} on ${this.#link.subject})`;
  }
}
