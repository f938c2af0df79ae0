// The actor's end of a name served in the actor's own thread
// (`ExposeOptions.inActor`), loaded there as an extension (see
// `../core/extension.ts`; the node's end is `_in_actor_node.ts`). It opens a
// NATS connection of its own with the node's options and runs the same
// `Exposure` the node would, over a target that queues each request in the
// actor's mailbox from this thread: a request then reaches the handler, and
// its reply the broker, without crossing to the node's thread and back.
//
// What the node's path gives, this one gives as well: the same wire format,
// refusals, limits and counters (kept in memory shared with the node's
// exposure); the same errors (`ActorError`, `UnknownMessageError`,
// `MailboxFullError`, `ActorStoppedError`, a `TimeoutError`); and the
// mailbox's bound: requests in the mailbox from here count against its
// capacity apart from the node's messages (which the node bounds with its
// credits), and a full one applies the actor's overflow policy
// (`"backpressure"` waits, within the exposure's `maxPending`; the others
// refuse the newest with `MailboxFullError`).

import type { ActorExtension, ActorExtensionApi, LocalSettle } from "../core/extension.ts";
import { EXTENSION_CRASH_MS, EXTENSION_END_MS } from "../core/extension.ts";
import {
  ActorError,
  ActorStoppedError,
  MailboxFullError,
  UnknownMessageError,
} from "../../internal/errors.ts";
import { serializeError } from "../../internal/error_wire.ts";
import { noop, settleWithin, watchDeadline } from "../../internal/abort.ts";
import type { AskOptions } from "../core/actor_ref.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import { connectError, connectNats } from "./_connect.ts";
import { nodeOptions, redactServer } from "./_options.ts";
import { Exposure, type ExposureKit } from "./exposure.ts";
import type { ClusterEventReport } from "../core/cluster_events.ts";
import {
  ACTOR_DONE,
  type AskInHand,
  AskJournal,
  type InActorData,
  type InActorReport,
  NODE_SERVES,
  raise,
  raised,
  SharedText,
} from "./_in_actor_shared.ts";

/** The actor, as the exposure in its thread sees it: its mailbox, reached from here. */
class LocalTarget {
  readonly id: string;
  #api: ActorExtensionApi;
  #handlers: Set<string>;
  #backpressure: boolean;
  /** Requests queued from here and not yet settled. */
  #inMailbox = 0;
  /** Requests waiting for room (`"backpressure"`), oldest first. */
  #waiting: (() => void)[] = [];
  /** Tells queued from here and not yet settled, by message name. */
  #tells = new Map<string, number>();

  constructor(api: ActorExtensionApi, overflow: string) {
    this.id = api.actorId;
    this.#api = api;
    this.#handlers = new Set(api.handlers);
    this.#backpressure = overflow === "backpressure";
  }

  /**
   * Why a request for `name` cannot be queued now (the actor is stopping, or
   * has no such handler), a full mailbox's `MailboxFullError`, a promise of
   * a slot (`"backpressure"`: the request then holds it, and queues or
   * `#passOn()`s it), or `undefined`: queue it now.
   */
  #admit(name: string): Error | Promise<void> | undefined {
    const refused = this.#refusal(name);
    if (refused !== undefined) return refused;
    if (this.#inMailbox < this.#api.capacity) return undefined;
    if (!this.#backpressure) return new MailboxFullError(this.id, this.#api.capacity);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #refusal(name: string): Error | undefined {
    if (!this.#api.taking) return new ActorStoppedError(this.id);
    if (!this.#handlers.has(name)) {
      return new UnknownMessageError(this.id, name, this.#api.handlers);
    }
    return undefined;
  }

  /**
   * Gives a slot up: to the oldest request waiting for room, which then holds
   * it (so no newcomer takes it meanwhile), or back to the mailbox. Called
   * when a request settles, and by one that was handed a slot and no longer
   * wants it.
   */
  #passOn = (): void => {
    const next = this.#waiting.shift();
    if (next !== undefined) next();
    else this.#inMailbox--;
  };

  /** Queues a request; `held`: it holds the slot a `#passOn()` gave it. */
  #queue(name: string, payload: unknown, settle: LocalSettle, held: boolean): void {
    if (!held) this.#inMailbox++;
    this.#api.request(name, payload, settle);
  }

  tell(name: string, payload: unknown): Promise<void> {
    const admitted = this.#admit(name);
    if (admitted instanceof Error) return Promise.reject(admitted);
    const held = admitted !== undefined;
    const send = () => {
      // After a wait for room the actor may have begun to stop (checked once, without one).
      const late = held ? this.#refusal(name) : undefined;
      if (late !== undefined) {
        this.#passOn();
        throw late;
      }
      this.#tells.set(name, (this.#tells.get(name) ?? 0) + 1);
      this.#queue(name, payload, (ok, value, why) => {
        this.#passOn();
        // Counted out by `lose()` already when the actor died first.
        const left = (this.#tells.get(name) ?? 1) - 1;
        if (left > 0) this.#tells.set(name, left);
        else this.#tells.delete(name);
        if (ok) return;
        // As the actor reports a tell it could not handle from its parent.
        this.#api.deadLetter(
          name,
          why === "stopped"
            ? "sent after stop"
            : why === "unknown"
            ? "unknown message"
            : `handler threw ${serializeError(value).message}`,
        );
      }, held);
    };
    if (admitted === undefined) {
      send();
      return Promise.resolve();
    }
    return admitted.then(send);
  }

  /**
   * The actor is dying (`reason`: `"error"` or `"exited"`): each tell still
   * in its mailbox from here is a dead letter, as the node's path counts
   * them (an ask's caller hears of it from the node).
   */
  lose(reason: string): void {
    for (const [name, count] of this.#tells) {
      for (let i = 0; i < count; i++) {
        this.#api.deadLetter(name, `actor ended (${reason}) with it in its mailbox`);
      }
    }
    this.#tells.clear();
  }

  ask(name: string, payload: unknown, options: AskOptions = {}): Promise<unknown> {
    const admitted = this.#admit(name);
    if (admitted instanceof Error) return Promise.reject(admitted);
    return new Promise((resolve, reject) => {
      let done = false;
      const stop = watchDeadline(options.signal, options.timeout, (reason) => {
        done = true;
        reject(reason);
      });
      const held = admitted !== undefined;
      const send = () => {
        // After a wait for room the ask may have timed out, or the actor begun to stop.
        const late = held && !done ? this.#refusal(name) : undefined;
        if (done || late !== undefined) {
          if (held) this.#passOn();
          if (!done) {
            done = true;
            stop();
            reject(late);
          }
          return;
        }
        this.#queue(name, payload, (ok, value, why) => {
          this.#passOn();
          if (done) return;
          done = true;
          stop();
          if (ok) resolve(value);
          else if (why === "stopped") reject(new ActorStoppedError(this.id));
          else if (why === "unknown") {
            reject(new UnknownMessageError(this.id, name, this.#api.handlers));
          } else reject(new ActorError(this.id, name, serializeError(value)));
        }, held);
      };
      if (admitted === undefined) send();
      else void admitted.then(send);
    });
  }
}

/**
 * Ends a connection's status watch at once. nats.js's `close()` closes the
 * socket only once every status listener has taken its `close` status, a
 * turn or more later; a thread that calls `Deno.exit()` has no turn left, and the socket (with
 * the subscription the server routes requests to) would outlive it. Without
 * the listener, `close()` closes the socket before it first waits. Where the
 * client's inside is not as expected, the watch just stops.
 */
export function unwatch(nc: NatsConnection, statuses: AsyncIterable<unknown>): void {
  const listeners = (nc as unknown as { protocol?: { listeners?: unknown[] } }).protocol
    ?.listeners;
  const at = Array.isArray(listeners) ? listeners.indexOf(statuses) : -1;
  if (at >= 0) listeners!.splice(at, 1);
  (statuses as { stop?: () => void }).stop?.();
}

/** Starts serving the name in this thread; rejects (the node serves it) when it cannot. */
export async function extendActor(
  given: unknown,
  api: ActorExtensionApi,
): Promise<ActorExtension> {
  const data = given as InActorData;
  const report = (message: InActorReport) => api.send(message);
  const lastError = new SharedText(data.lastError);
  const journal = new AskJournal(data.journal);
  const { settings, connection } = nodeOptions({ ...data.options, name: data.connectionName });
  // Typed as the node's own connect failure is, and as free of credentials.
  const nc = await connectNats(connection).catch((error: unknown) => {
    throw connectError(error, settings.displayServers);
  });
  let exposure: Exposure;
  const flags = new Int32Array(data.flags);
  const target = new LocalTarget(api, data.overflow);
  let abandon = (): AskInHand[] => [];
  let relay = (): Promise<void> => Promise.resolve();
  try {
    exposure = new Exposure(
      data.name,
      data.subject,
      target as never,
      data.settings as never,
      {
        nc,
        namespace: data.options.namespace ?? "default",
        connected: () => !nc.isClosed(),
        emit: (event: ClusterEventReport) => report({ event }),
        forget: noop,
        counters: data.counters,
        lastError: (text: string) => lastError.write(text),
        journal,
        abandoning: (given: () => AskInHand[], passOn: () => Promise<void>) => {
          abandon = given;
          relay = passOn;
        },
      } satisfies ExposureKit as never,
    );
    // Registered at the server before the node's thread lets go of the name.
    await nc.flush();
  } catch (error) {
    await nc.close().catch(noop);
    throw error;
  }
  report({ serving: true });
  const resumed = Promise.withResolvers<void>();
  let closing: Promise<void> | undefined;
  let dying = false;
  // The connection's own life, as the node's is watched (`_status.ts`): while it
  // is down the node's thread serves the name; a client that gave up is an end.
  const statuses = nc.status();
  void (async () => {
    for await (const status of statuses) {
      if (status.type === "disconnect") {
        report({ link: "down", server: redactServer(status.server) });
      } else if (status.type === "reconnect") {
        // The client resent the subscription; a round trip makes sure the server holds it.
        await nc.flush().catch(noop);
        if (!nc.isClosed()) report({ link: "up", server: redactServer(status.server) });
      } else if (status.type === "error") {
        const { message } = status.error;
        report({ event: { type: "nats-error", actorId: api.actorId, message, time: Date.now() } });
      }
    }
    if (closing === undefined && !dying) {
      const reason = "gave up reconnecting";
      report({ event: { type: "nats-closed", actorId: api.actorId, reason, time: Date.now() } });
      report({ declined: "the actor's NATS connection closed: its client gave up reconnecting" });
    }
  })().catch(noop);
  const close = (timeout: number) =>
    closing ??= (async () => {
      await exposure.close({ timeout });
      await nc.drain().catch(() => nc.close()).catch(noop);
    })();
  return {
    receive(message) {
      const given = message as { close?: number; resumed?: true };
      if (given.resumed) resumed.resolve();
      if (given.close !== undefined) void close(given.close).then(() => report({ closed: true }));
    },
    end(why) {
      // Stopping: what came after the sentinel is refused here. The node's thread takes the
      // name back first (it answers as for any stopping actor), then this one lets go.
      if (why === "stop") {
        report({ stopping: true });
        return settleWithin(resumed.promise, EXTENSION_END_MS / 4).then(() =>
          close(EXTENSION_END_MS / 2)
        );
      }
      // Dying: the node answers the asks in hand, on its own connection.
      dying = true;
      report({ orphans: abandon(), why });
      target.lose(why === "crash" ? "error" : "exited");
      if (why === "exit") {
        // The thread ends now: its socket closes with it (at once: see `unwatch`), and what the
        // server was sending it is lost.
        unwatch(nc, statuses);
        void nc.close().catch(noop);
        return undefined;
      }
      // Crashed: the thread runs on until the node lets it go (see `EXTENSION_CRASH_MS`). Once the
      // node's thread serves the name again, the requests the server sent here since the crash go
      // back to the subject, and so to it.
      void (async () => {
        await raised(flags, NODE_SERVES, EXTENSION_CRASH_MS / 2);
        await settleWithin(relay(), EXTENSION_CRASH_MS / 4);
        await nc.close().catch(noop);
      })().catch(noop).finally(() => raise(flags, ACTOR_DONE));
      return undefined;
    },
  };
}
