/**
 * `RemoteRef`: a typed handle on an actor some process exposes over NATS,
 * with the same `tell` and `ask` as a local `ActorRef`.
 *
 * @module
 */

import type { AskOptions, TellOptions } from "../core/actor_ref.ts";
import type {
  AnyActorDefinition,
  HandlersOf,
  MessageName,
  PayloadArgs,
  ReplyOf,
} from "../core/define_actor.ts";

/**
 * The actor definition a type names: the definition itself
 * (`typeof counter`), or the one an actor module exports
 * (`typeof import("./counter.ts")`).
 */
export type ActorOf<M> = M extends AnyActorDefinition ? M
  : Extract<M[keyof M], AnyActorDefinition>;

/** What a `RemoteRef` talks through: its node (internal). */
export interface RemoteLink {
  readonly name: string;
  readonly subject: string;
  tell(name: string, payload: unknown): Promise<void>;
  ask(name: string, payload: unknown, options: AskOptions | undefined): Promise<unknown>;
}

/**
 * A typed reference to an actor exposed under a name by some process on the
 * broker: made by `NatsNode.lookup`. `D` is the actor's definition type, so
 * message names, payloads and replies are checked at compile time as for a
 * local `ActorRef`.
 *
 * Guarantees (core NATS, at most once):
 * - Every `ask` settles exactly once: the reply; the handler's error as
 *   `ActorError` (with the remote name, message and stack);
 *   `UnknownMessageError`; `MailboxFullError` when the actor's mailbox is
 *   full under `"fail"`; `NoRespondersError` when nobody serves the name;
 *   `ConnectionLostError` when the connection drops while it waits; a
 *   `TimeoutError` `DOMException` past its deadline (the node's
 *   `askTimeout`, 30 s, when the ask gives none); the signal's reason on abort.
 * - A `tell` resolves once the node took the message. Tells sent in a burst
 *   go to the client together, after the tells before them and before any
 *   later ask; the JSON tells of a burst to one name travel as one NATS message
 *   (`Troupe-Kind: tells`, a line each, split to fit the server's payload
 *   limit), a V8 tell or a lone one as its own. The serving side counts one
 *   it cannot deliver as a dead letter there.
 * - Messages from one ref to one serving process arrive in the order sent;
 *   a name served by several processes spreads them over the processes.
 * - Nothing is retried: a message lost with a connection is lost.
 *
 * @example Ask an actor another process exposes
 * ```ts
 * import { ActorSystem } from "@troupe/troupe";
 * import { NatsNode } from "@troupe/troupe/nats";
 * import assert from "node:assert/strict";
 *
 * const url = Deno.env.get("TROUPE_NATS_URL");
 * if (url) {
 *   await using system = await ActorSystem.start();
 *   await using node = await NatsNode.connect({ servers: url, namespace: "docs" });
 *   const local = await system.spawn(new URL("../../examples/actors/counter.ts", import.meta.url));
 *   await node.expose("counter", local);
 *   const counter = node.lookup<typeof import("../../examples/actors/counter.ts")>("counter");
 *   await counter.tell("inc", 2);
 *   assert.equal(await counter.ask("get", undefined, { timeout: 2000 }), 2);
 * }
 * ```
 */
export class RemoteRef<D extends AnyActorDefinition> {
  #link: RemoteLink;

  /**
   * Made by `NatsNode.lookup`; not constructed directly.
   *
   * @param link The node's end (internal).
   */
  constructor(link: never) {
    this.#link = link as RemoteLink;
  }

  /** The name the actor is exposed under. */
  get name(): string {
    return this.#link.name;
  }

  /** The NATS subject its messages go to: `troupe.<namespace>.<name>`. */
  get subject(): string {
    return this.#link.subject;
  }

  /**
   * Sends a message without waiting for a reply, at most once. Resolves once
   * the node took it (a burst of tells is handed to the client, and written to
   * the socket, together, JSON tells to one name as one NATS message); while the connection is down it
   * rejects at once with `ConnectionLostError` (nothing was sent).
   *
   * @example
   * ```ts
   * import { NatsNode } from "@troupe/troupe/nats";
   * import type { counter } from "../../examples/actors/counter.ts";
   * import assert from "node:assert/strict";
   *
   * const url = Deno.env.get("TROUPE_NATS_URL");
   * if (url) {
   *   await using node = await NatsNode.connect({ servers: url });
   *   const ref = node.lookup<typeof counter>("nobody-here");
   *   await ref.tell("inc", 1); // at most once: nobody serves it, it is gone
   *   assert.equal(ref.name, "nobody-here");
   * }
   * ```
   *
   * @param name The handler's name.
   * @param args The payload (plain JSON data, or what V8 serializes under `codec: "v8"`; pass `undefined` for none), then optional
   * `TellOptions`, as for a local ref: a remote tell never waits for room, so only a signal
   * already aborted matters (the message is not sent).
   * @returns Once the node took the message.
   * @throws {MessageNotCloneableError} When the payload is not plain JSON data (or not V8-serializable under `codec: "v8"`).
   * @throws {FrameTooLargeError} When it exceeds the server's payload limit.
   * @throws {ConnectionLostError} When the connection is down (`inFlight: false`).
   * @throws {ConnectionClosedError} When the node is closed.
   */
  tell<K extends MessageName<D>>(
    name: K,
    ...args: [...PayloadArgs<HandlersOf<D>[K]>, options?: TellOptions]
  ): Promise<void> {
    const signal = (args[1] as TellOptions | undefined)?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return this.#link.tell(name, args[0]);
  }

  /**
   * Sends a message and waits for the remote handler's return value.
   *
   * @example
   * ```ts
   * import { NatsNode } from "@troupe/troupe/nats";
   * import { NoRespondersError } from "@troupe/troupe";
   * import type { counter } from "../../examples/actors/counter.ts";
   * import assert from "node:assert/strict";
   *
   * const url = Deno.env.get("TROUPE_NATS_URL");
   * if (url) {
   *   await using node = await NatsNode.connect({ servers: url });
   *   const ref = node.lookup<typeof counter>("nobody-here");
   *   await assert.rejects(ref.ask("get", undefined, { timeout: 1000 }), NoRespondersError);
   * }
   * ```
   *
   * @param name The handler's name.
   * @param args The payload (pass `undefined` for none), then optional `AskOptions`.
   * @returns The handler's return value, decoded from JSON (or V8, under `codec: "v8"`).
   * @throws {ActorError} When the remote handler throws.
   * @throws {UnknownMessageError} When the remote actor has no such handler.
   * @throws {MailboxFullError} When its mailbox is full and its policy is `"fail"`.
   * @throws {NoRespondersError} When no process serves the name.
   * @throws {ConnectionLostError} When the connection dropped while the ask waited.
   * @throws {DOMException} `TimeoutError` past the deadline, or the signal's reason when aborted.
   */
  ask<K extends MessageName<D>>(
    name: K,
    ...args: [...PayloadArgs<HandlersOf<D>[K]>, options?: AskOptions]
  ): Promise<ReplyOf<HandlersOf<D>[K]>> {
    return this.#link.ask(name, args[0], args[1] as AskOptions | undefined) as Promise<
      ReplyOf<HandlersOf<D>[K]>
    >;
  }

  /** The name and subject, for logs (no credentials). */
  toString(): string {
    return `RemoteRef(${this.#link.name} on ${this.#link.subject})`;
  }
}
