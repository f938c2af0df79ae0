/**
 * `NatsNode`: one process's connection to a NATS broker, through which it
 * exposes local actors under names and looks up the names other processes
 * expose.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/transport-node";
import { EventHub } from "../core/event_hub.ts";
import { abortable, noop, settleWithin } from "../../internal/abort.ts";
import { ConnectionWatch } from "./_status.ts";
import { PayloadInspector } from "../../internal/payload.ts";
import {
  type ClusterEvent,
  type ClusterEventReport,
  registerClusterNode,
} from "../core/cluster_events.ts";
import { type Exposable, Exposure, type ExposureKit, type ExposureStats } from "./exposure.ts";
import type {
  DurableLookupOptions,
  ExposeOptions,
  LookupOptions,
  NatsNodeOptions,
} from "./nats_options.ts";
import { type ActorOf, RemoteRef } from "./remote_ref.ts";
import { DurableRef } from "./durable_ref.ts";
import { Asks } from "./_asks.ts";
import { connectError, connectNats } from "./_connect.ts";
import { InActorServing } from "./_in_actor_node.ts";
import type { InActorNodeKit } from "./_in_actor_shared.ts";
import { type ClusterActor, discover, type Discovery, nodeDiscovery } from "./_discovery.ts";
import { exposeOptions, nodeOptions, type NodeSettings, redactServer } from "./_options.ts";
import { isSubjectPart, subjectOf } from "./_wire.ts";
import { durableLink, remoteLink } from "./_lookups.ts";

/** Counters of a node. Server addresses carry no credentials. */
export interface NatsNodeStats {
  /** The connection's name. */
  name: string;
  /** The node's id as a service instance (in `$SRV` answers). */
  id: string;
  /** The app's namespace. */
  namespace: string;
  /** The configured servers. */
  servers: string[];
  /** The server connected to now, or `undefined` while disconnected. */
  server: string | undefined;
  /** Whether the client is connected now. */
  connected: boolean;
  /** Asks sent so far. */
  asks: number;
  /** Tells sent so far. */
  tells: number;
  /** Durable tells the broker confirmed so far. */
  durableTells: number;
  /** Asks waiting for their reply now. */
  pendingAsks: number;
  /** Times the connection dropped. */
  disconnects: number;
  /** Times it came back. */
  reconnects: number;
  /** Cluster events so far, by type. */
  events: Record<string, number>;
  /** One record per exposed name. */
  exposed: ExposureStats[];
}

/** Options of {@linkcode NatsNode.close}. */
export interface NatsCloseOptions {
  /**
   * Milliseconds to wait for requests being served and asks in flight;
   * after it, exposures abort what they still handle and asks left reject
   * with `ConnectionClosedError`. Default 5000.
   */
  timeout?: number;
  /** Ends those waits early, as the timeout passing does: at once when already aborted. */
  signal?: AbortSignal;
}

/**
 * A process's link to NATS: expose local actors under names, look up names
 * exposed anywhere on the broker. Subjects are `troupe.<namespace>.<name>`;
 * the processes that expose one name form one queue group, so NATS spreads
 * its messages over them (a pool across machines).
 *
 * Guarantees:
 * - Core NATS delivery: at most once, in order from one sender to one
 *   serving process; nothing is retried.
 * - No ask waits forever: each has a deadline (its own or `askTimeout`),
 *   and asks in flight when the connection drops reject at once with
 *   `ConnectionLostError`. The client reconnects by itself and the node's
 *   names are served again; `events()` reports both.
 * - Credentials are handed to the client only: they appear in no error,
 *   event, `stats()`, `toString()` or JSON.
 * - `close()` (and `await using`) stops serving, waits for what is in
 *   flight within its timeout, then drains the connection. Local actors are
 *   left running: they belong to their system.
 *
 * @example Expose an actor and call it by name
 * ```ts
 * import { ActorSystem } from "@troupe/troupe";
 * import { NatsNode } from "@troupe/troupe/nats";
 * import assert from "node:assert/strict";
 *
 * const url = Deno.env.get("TROUPE_NATS_URL"); // a nats-server to try it on
 * if (url) {
 *   await using system = await ActorSystem.start();
 *   await using node = await NatsNode.connect({ servers: url, namespace: "shop" });
 *   const counter = await system.spawn(new URL("../../examples/actors/counter.ts", import.meta.url));
 *   await node.expose("counter", counter);
 *   const remote = node.lookup<typeof import("../../examples/actors/counter.ts")>("counter");
 *   await remote.ask("inc", 5, { timeout: 2000 });
 *   assert.equal(await remote.ask("get"), 5);
 * }
 * ```
 */
export class NatsNode implements AsyncDisposable {
  #nc: NatsConnection;
  #settings: NodeSettings;
  #asks: Asks;
  #events = new EventHub<ClusterEvent>();
  #exposures = new Map<string, Exposure>();
  #inspector = new PayloadInspector();
  #watch: ConnectionWatch;
  #durableTells = 0;
  #closing: Promise<void> | undefined;
  #kit: ExposureKit;
  #targets = new Map<Exposure, Exposable>();
  #discovery: Discovery | undefined;
  /** Takes the node off its system's observer (see `NatsNodeOptions.system`). */
  #unregister: () => void = noop;
  #id = crypto.randomUUID().replaceAll("-", "").slice(0, 22).toUpperCase();

  private constructor(nc: NatsConnection, settings: NodeSettings, inActor: InActorNodeKit) {
    this.#nc = nc;
    this.#settings = settings;
    this.#asks = new Asks(nc);
    if (settings.system !== undefined) {
      this.#unregister = registerClusterNode(settings.system, this);
    }
    this.#kit = {
      nc,
      namespace: settings.namespace,
      connected: () => this.#watch.connected,
      emit: (event) => this.#emit(event),
      forget: (exposure) => {
        if (this.#exposures.get(exposure.name) === exposure) this.#exposures.delete(exposure.name);
        this.#targets.delete(exposure);
      },
      inActor: { start: (hooks) => new InActorServing(inActor, hooks) },
    };
    if (settings.discovery) {
      this.#discovery = nodeDiscovery(nc, {
        namespace: settings.namespace,
        connection: settings.name,
        id: this.#id,
        exposed: () =>
          [...this.#exposures.values()].map((exposure) => ({
            stats: () => exposure.stats(),
            target: this.#targets.get(exposure),
            depth: () => exposure.depth(),
          })),
      });
    }
    this.#watch = new ConnectionWatch({
      nc,
      asks: this.#asks,
      emit: (event) => this.#emit(event),
      closing: () => this.#closing !== undefined,
      gaveUp: () => {
        this.#asks.close();
        this.#discovery?.close();
        this.#emit({ type: "nats-closed", reason: "gave up reconnecting", time: Date.now() });
      },
    });
  }

  /**
   * Connects to NATS. The first connect fails fast when no server answers;
   * after that the client reconnects by itself for as long as
   * `maxReconnectAttempts` allows.
   *
   * @example
   * ```ts
   * import { NatsNode } from "@troupe/troupe/nats";
   * import assert from "node:assert/strict";
   *
   * const url = Deno.env.get("TROUPE_NATS_URL");
   * if (url) {
   *   await using node = await NatsNode.connect({ servers: url, name: "billing-1" });
   *   assert.equal(node.stats().connected, true);
   * }
   * ```
   *
   * @param options Servers, connection name, namespace, credentials, deadlines.
   * @returns The connected node.
   * @throws {TypeError} When an option is invalid.
   * @throws {AuthenticationError} When the server refuses the credentials.
   * @throws {BrokerUnavailableError} When no server could be reached.
   */
  static async connect(options: NatsNodeOptions = {}): Promise<NatsNode> {
    const { settings, connection } = nodeOptions(options);
    options.signal?.throwIfAborted();
    const connecting = connectNats(connection);
    let nc: NatsConnection;
    try {
      nc = await abortable(connecting, options.signal);
    } catch (error) {
      if (options.signal?.aborted && error === options.signal.reason) {
        connecting.then((late) => late.close(), () => {});
        throw error;
      }
      throw connectError(error, settings.displayServers);
    }
    // What an actor's thread needs to connect as this node does (`ExposeOptions.inActor`):
    // the options as given, less what cannot leave this thread.
    const { system: _system, signal: _signal, ...given } = options;
    return new NatsNode(nc, settings, { options: given, nodeName: settings.name });
  }

  /** Reports an event to the node's subscribers, and to its system's when it has one. */
  #emit(report: ClusterEventReport): void {
    const event = { ...report, id: this.#settings.name } as ClusterEvent;
    this.#events.emit(event);
    this.#settings.systemEvents?.emit(event);
  }

  /** The app's namespace. */
  get namespace(): string {
    return this.#settings.namespace;
  }

  /**
   * Serves a local actor (an `ActorRef`, a supervised child's ref, or a
   * `Pool`) under `name`, on the subject `troupe.<namespace>.<name>`.
   * Several processes exposing one name share its traffic (one queue group).
   * Resolves once the server registered the subscription, so a lookup made
   * after it finds the name.
   *
   * @example A pool across processes
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import { NatsNode } from "@troupe/troupe/nats";
   * import assert from "node:assert/strict";
   *
   * const url = Deno.env.get("TROUPE_NATS_URL");
   * if (url) {
   *   await using system = await ActorSystem.start();
   *   await using node = await NatsNode.connect({ servers: url });
   *   const pool = await system.pool(
   *     new URL("../../examples/actors/word_count.ts", import.meta.url),
   *     { size: 2, args: { minLength: 1 } },
   *   );
   *   const exposure = await node.expose("words", pool, { maxPending: 256 });
   *   assert.equal(exposure.subject, "troupe.default.words");
   *   await pool.close();
   * }
   * ```
   *
   * @param name Letters, digits, `_` and `-`, in dot-separated tokens.
   * @param target The actor or pool that handles the messages.
   * @param options The queue group, payload limit, pending bound, ask bound.
   * @returns The exposure; close it to stop serving the name.
   * @throws {TypeError} When the name or an option is invalid, or the name is exposed already.
   */
  async expose(name: string, target: Exposable, options: ExposeOptions = {}): Promise<Exposure> {
    const settings = exposeOptions(name, options);
    if (this.#closing) throw new TypeError(`Cannot expose "${name}": the node is closed`);
    if (this.#exposures.has(name)) {
      throw new TypeError(`Cannot expose "${name}": this node exposes that name already`);
    }
    if (typeof target?.ask !== "function" || typeof target?.tell !== "function") {
      throw new TypeError(`Cannot expose "${name}": the target must be an ActorRef or a Pool`);
    }
    let opening: Promise<void> | undefined;
    const exposure = new Exposure(
      name,
      subjectOf(this.#settings.namespace, name),
      target as never,
      settings as never,
      { ...this.#kit, opening: (opened: Promise<void>) => opening = opened } as never,
    );
    this.#exposures.set(name, exposure);
    this.#targets.set(exposure, target);
    try {
      await opening;
      await this.#nc.flush();
    } catch (error) {
      await exposure.close({ timeout: 0 });
      throw error;
    }
    return exposure;
  }

  /**
   * A typed ref on the actor exposed under `name` in this node's namespace,
   * wherever it runs. Name the actor module's type for compile-time checks:
   * `lookup<typeof import("./counter.ts")>("counter")`, or the definition's,
   * `lookup<typeof counter>("counter")`. Nothing is sent until it is used;
   * an ask when nobody serves the name rejects with `NoRespondersError`.
   *
   * @example
   * ```ts
   * import { NatsNode } from "@troupe/troupe/nats";
   * import assert from "node:assert/strict";
   *
   * const url = Deno.env.get("TROUPE_NATS_URL");
   * if (url) {
   *   await using node = await NatsNode.connect({ servers: url, namespace: "shop" });
   *   const ref = node.lookup<typeof import("../../examples/actors/counter.ts")>("counter");
   *   assert.equal(ref.subject, "troupe.shop.counter");
   * }
   * ```
   *
   * @param name The exposed name.
   * @param options The codec (`"json"`, the default, or `"v8"` for TypeScript peers).
   * @returns The typed remote ref.
   * @throws {TypeError} When the name or the codec is not valid.
   */
  lookup<M>(name: string, options: LookupOptions = {}): RemoteRef<ActorOf<M>> {
    const link = remoteLink(
      this.#settings.namespace,
      name,
      this.#asks,
      this.#inspector,
      this.#settings.askTimeout,
      options,
    );
    return new RemoteRef<ActorOf<M>>(link as never);
  }

  /**
   * A typed ref on the durable mailbox of the actor exposed under `name`
   * with `durable` (see `ExposeOptions.durable`), wherever it runs: its
   * `tell` stores the message in the name's JetStream stream and resolves
   * once the broker confirmed it; the message is then handled at least once.
   *
   * @example
   * ```ts
   * import { NatsNode } from "@troupe/troupe/nats";
   * import assert from "node:assert/strict";
   *
   * const url = Deno.env.get("TROUPE_NATS_URL");
   * if (url) {
   *   await using node = await NatsNode.connect({ servers: url, namespace: "shop" });
   *   const ref = node.lookupDurable<typeof import("../../examples/actors/counter.ts")>("counter");
   *   assert.equal(ref.subject, "troupe-durable.shop.counter");
   * }
   * ```
   *
   * @param name The exposed name.
   * @param options How long a tell waits for the broker's confirmation, and the codec.
   * @returns The typed durable ref.
   * @throws {TypeError} When the name is not a valid name.
   */
  lookupDurable<M>(name: string, options: DurableLookupOptions = {}): DurableRef<ActorOf<M>> {
    const link = durableLink(name, options, {
      nc: this.#nc,
      asks: this.#asks,
      namespace: this.#settings.namespace,
      inspector: this.#inspector,
      open: () => this.#watch.connected && !this.#closing,
      confirmed: () => this.#durableTells++,
    });
    return new DurableRef<ActorOf<M>>(link as never);
  }

  /**
   * The cluster events from now on: disconnects (with how many asks they
   * failed), reconnects, bad requests, dead letters, server errors. Ends
   * when the signal aborts or the node closes.
   *
   * @example
   * ```ts
   * import { NatsNode } from "@troupe/troupe/nats";
   * import assert from "node:assert/strict";
   *
   * const url = Deno.env.get("TROUPE_NATS_URL");
   * if (url) {
   *   const node = await NatsNode.connect({ servers: url });
   *   const events = node.events();
   *   await node.close();
   *   assert.equal((await events.next()).value?.type, "nats-closed");
   * }
   * ```
   *
   * @param options A signal that ends the iteration.
   * @returns The events, in the order they happened.
   */
  events(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<ClusterEvent> {
    return this.#events.subscribe(options.signal);
  }

  /**
   * Every actor exposed on the broker, by every process that answers the
   * NATS services protocol as a Troupe node: asks `$SRV.STATS` (of one
   * namespace, or of all) and gathers the answers that come within `wait`
   * milliseconds. What `troupe status --nats URL` shows.
   *
   * @example
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import { NatsNode } from "@troupe/troupe/nats";
   * import assert from "node:assert/strict";
   *
   * const url = Deno.env.get("TROUPE_NATS_URL");
   * if (url) {
   *   await using system = await ActorSystem.start();
   *   await using node = await NatsNode.connect({ servers: url, namespace: "seen" });
   *   const counter = await system.spawn(new URL("../../examples/actors/counter.ts", import.meta.url));
   *   await node.expose("counter", counter);
   *   const [actor] = await node.discover({ namespace: "seen" });
   *   assert.equal(actor.name, "counter");
   *   assert.equal(actor.pid, Deno.pid);
   * }
   * ```
   *
   * @param options The namespace to list (default: every namespace) and how long to gather.
   * @returns One record per exposed name per process, sorted by namespace, name and process.
   */
  async discover(
    options: { namespace?: string; wait?: number } = {},
  ): Promise<ClusterActor[]> {
    if (options.namespace !== undefined && !isSubjectPart(options.namespace)) {
      throw new TypeError(
        `Cannot discover actors: the namespace must be letters, digits, "_" and "-" in dot-separated tokens, received ${
          JSON.stringify(options.namespace)
        }`,
      );
    }
    return await discover(this.#nc, options.namespace, options.wait ?? 500);
  }

  /**
   * Counters of the node and of each name it exposes.
   *
   * @example
   * ```ts
   * import { NatsNode } from "@troupe/troupe/nats";
   * import assert from "node:assert/strict";
   *
   * const url = Deno.env.get("TROUPE_NATS_URL");
   * if (url) {
   *   await using node = await NatsNode.connect({ servers: url, namespace: "shop" });
   *   assert.equal(node.stats().namespace, "shop");
   * }
   * ```
   *
   * @returns The counters now.
   */
  stats(): NatsNodeStats {
    return {
      name: this.#settings.name,
      id: this.#id,
      namespace: this.#settings.namespace,
      servers: [...this.#settings.displayServers],
      server: this.#watch.connected && !this.#nc.isClosed()
        ? redactServer(this.#nc.getServer())
        : undefined,
      connected: this.#watch.connected && !this.#nc.isClosed(),
      asks: this.#asks.sent,
      tells: this.#asks.told,
      durableTells: this.#durableTells,
      pendingAsks: this.#asks.pending,
      disconnects: this.#watch.disconnects,
      reconnects: this.#watch.reconnects,
      events: { ...this.#events.counts },
      exposed: [...this.#exposures.values()].map((e) => e.stats()),
    };
  }

  /**
   * Stops serving every exposed name, waits (within `timeout`) for the
   * requests being served and the asks in flight, then drains and closes
   * the connection. Calling it again returns the same promise.
   *
   * @example
   * ```ts
   * import { NatsNode } from "@troupe/troupe/nats";
   * import assert from "node:assert/strict";
   *
   * const url = Deno.env.get("TROUPE_NATS_URL");
   * if (url) {
   *   const node = await NatsNode.connect({ servers: url });
   *   await node.close({ timeout: 1000 });
   *   assert.equal(node.stats().connected, false);
   * }
   * ```
   *
   * @param options How long to wait for what is in flight, and a signal that ends the wait early.
   * @returns Once the connection is closed.
   */
  close(options: NatsCloseOptions = {}): Promise<void> {
    this.#closing ??= (async () => {
      this.#unregister();
      const { timeout = 5000, signal } = options;
      await Promise.all([...this.#exposures.values()].map((e) => e.close({ timeout, signal })));
      await settleWithin(this.#asks.idle(), timeout, signal);
      this.#asks.close();
      this.#discovery?.close();
      // Draining needs the server; while disconnected (or past the timeout)
      // the connection is closed without it.
      const drained = this.#watch.connected &&
        await settleWithin(this.#nc.drain().catch(() => this.#nc.close()), timeout, signal);
      if (!drained) await this.#nc.close().catch(() => {});
      await this.#nc.closed();
      await this.#watch.done;
      this.#watch.connected = false;
      if (this.#events.counts["nats-closed"] === undefined) {
        this.#emit({ type: "nats-closed", reason: "closed", time: Date.now() });
      }
      this.#events.close();
    })();
    return this.#closing;
  }

  /** The connection's name, namespace and servers (no credentials). */
  toString(): string {
    return `NatsNode(${this.#settings.name} in ${this.#settings.namespace} at ${
      this.#settings.displayServers.join(", ")
    })`;
  }

  /**
   * The node as JSON: name, namespace, servers (no credentials).
   *
   * @returns A plain object.
   */
  toJSON(): { name: string; namespace: string; servers: string[] } {
    return {
      name: this.#settings.name,
      namespace: this.#settings.namespace,
      servers: [...this.#settings.displayServers],
    };
  }

  /** Closes the node (see {@linkcode NatsNode.close}). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
