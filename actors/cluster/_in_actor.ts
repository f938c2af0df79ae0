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
import { EXTENSION_END_MS } from "../core/extension.ts";
import {
  ActorError,
  ActorStoppedError,
  MailboxFullError,
  UnknownMessageError,
} from "../../internal/errors.ts";
import { serializeError } from "../../internal/error_wire.ts";
import { noop, settleWithin, watchDeadline } from "../../internal/abort.ts";
import type { AskOptions } from "../core/actor_ref.ts";
import { connectNats } from "./_connect.ts";
import { nodeOptions } from "./_options.ts";
import { Exposure, type ExposureKit } from "./exposure.ts";
import type { ClusterEventReport } from "../core/cluster_events.ts";
import {
  type AskInHand,
  type InActorData,
  type InActorReport,
  SharedText,
} from "./_in_actor_shared.ts";

/** The actor, as the exposure in its thread sees it: its mailbox, reached from here. */
class LocalTarget {
  readonly id: string;
  #api: ActorExtensionApi;
  #backpressure: boolean;
  /** Requests queued from here and not yet settled. */
  #inMailbox = 0;
  /** Requests waiting for room (`"backpressure"`), oldest first. */
  #waiting: (() => void)[] = [];

  constructor(api: ActorExtensionApi, overflow: string) {
    this.id = api.actorId;
    this.#api = api;
    this.#backpressure = overflow === "backpressure";
  }

  /** Why a request for `name` cannot be queued now, or `undefined`. */
  #refusal(name: string): Error | undefined {
    if (!this.#api.taking) return new ActorStoppedError(this.id);
    if (!this.#api.handlers.includes(name)) {
      return new UnknownMessageError(this.id, name, this.#api.handlers);
    }
    return undefined;
  }

  /** Resolves once the mailbox has room for one more request from here. */
  #room(): Promise<void> | Error | undefined {
    if (this.#inMailbox < this.#api.capacity) return undefined;
    if (!this.#backpressure) return new MailboxFullError(this.id, this.#api.capacity);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #left = (): void => {
    this.#inMailbox--;
    this.#waiting.shift()?.();
  };

  #queue(name: string, payload: unknown, settle: LocalSettle): void {
    this.#inMailbox++;
    this.#api.request(name, payload, settle);
  }

  tell(name: string, payload: unknown): Promise<void> {
    const refused = this.#refusal(name);
    if (refused !== undefined) return Promise.reject(refused);
    const room = this.#room();
    if (room instanceof Error) return Promise.reject(room);
    const send = () => {
      const late = this.#refusal(name);
      if (late !== undefined) throw late;
      this.#queue(name, payload, (ok, value, why) => {
        this.#left();
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
      });
    };
    if (room === undefined) {
      send();
      return Promise.resolve();
    }
    return room.then(send);
  }

  ask(name: string, payload: unknown, options: AskOptions = {}): Promise<unknown> {
    const refused = this.#refusal(name);
    if (refused !== undefined) return Promise.reject(refused);
    const room = this.#room();
    if (room instanceof Error) return Promise.reject(room);
    return new Promise((resolve, reject) => {
      let done = false;
      const stop = watchDeadline(options.signal, options.timeout, (reason) => {
        done = true;
        reject(reason);
      });
      const send = () => {
        if (done) return;
        const late = this.#refusal(name);
        if (late !== undefined) {
          done = true;
          stop();
          reject(late);
          return;
        }
        this.#queue(name, payload, (ok, value, why) => {
          this.#left();
          if (done) return;
          done = true;
          stop();
          if (ok) resolve(value);
          else if (why === "stopped") reject(new ActorStoppedError(this.id));
          else if (why === "unknown") {
            reject(new UnknownMessageError(this.id, name, this.#api.handlers));
          } else reject(new ActorError(this.id, name, serializeError(value)));
        });
      };
      if (room === undefined) send();
      else void room.then(send);
    });
  }
}

/** Starts serving the name in this thread; rejects (the node serves it) when it cannot. */
export async function extendActor(
  given: unknown,
  api: ActorExtensionApi,
): Promise<ActorExtension> {
  const data = given as InActorData;
  const report = (message: InActorReport) => api.send(message);
  const lastError = new SharedText(data.lastError);
  const { connection } = nodeOptions({ ...data.options, name: data.connectionName });
  const nc = await connectNats(connection);
  let exposure: Exposure;
  let abandon = (): AskInHand[] => [];
  try {
    exposure = new Exposure(
      data.name,
      data.subject,
      new LocalTarget(api, data.overflow) as never,
      data.settings as never,
      {
        nc,
        namespace: data.options.namespace ?? "default",
        connected: () => !nc.isClosed(),
        emit: (event: ClusterEventReport) => report({ event }),
        forget: noop,
        counters: data.counters,
        lastError: (text: string) => lastError.write(text),
        abandoning: (given: () => AskInHand[]) => abandon = given,
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
      report({ orphans: abandon(), why });
      void nc.close().catch(noop);
      return undefined;
    },
  };
}
