// The NATS services protocol ("micro", v1) on core subscriptions: every node
// answers $SRV.PING, $SRV.INFO and $SRV.STATS (also with its service name,
// and with its name and id) as one service instance whose endpoints are the
// names it exposes, so standard NATS tooling (`nats micro ls`) lists Troupe
// actors. Every instance answers: these are plain subscriptions, no queue.

import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { ExposureStats } from "./exposure.ts";
import { decodeValue, encodeValue } from "./_wire.ts";
import { noop, settleWithin } from "../../internal/abort.ts";

/** The longest STATS waits for the broker's figures (durable depths) before it answers. */
const REFRESH_MS = 500;

/** Troupe's version, as the services protocol reports it (tests check it against deno.json). */
export const TROUPE_VERSION = "0.1.0";

const VERBS = ["PING", "INFO", "STATS"] as const;
type Verb = typeof VERBS[number];

/** What the discovery answers from: the node's identity and its exposures now. */
export interface DiscoverySource {
  /** The service name: `troupe-<namespace>` (dots become dashes). */
  name: string;
  id: string;
  metadata: Record<string, string>;
  started: string;
  exposed(): { stats: ExposureStats; target: unknown }[];
  /** Reads what must come from the broker (durable mailboxes' depths) before STATS answers. */
  refresh(): Promise<void>;
}

/** The endpoint name the protocol allows (letters, digits, `-`, `_`) for an exposed name. */
export function endpointName(name: string): string {
  return name.replaceAll(".", "-");
}

/** A plain-JSON copy of a target's `stats()`, when it has one. */
function targetData(target: unknown): unknown {
  const stats = (target as { stats?: () => unknown } | undefined)?.stats;
  if (typeof stats !== "function") return undefined;
  try {
    return JSON.parse(JSON.stringify(stats.call(target)));
  } catch {
    return undefined;
  }
}

export class Discovery {
  #subs: Subscription[] = [];
  #source: DiscoverySource;

  constructor(nc: NatsConnection, source: DiscoverySource) {
    this.#source = source;
    for (const verb of VERBS) {
      for (const subject of [`$SRV.${verb}`, `$SRV.${verb}.${source.name}`]) {
        this.#subs.push(
          nc.subscribe(subject, { callback: (error, msg) => void this.#answer(verb, error, msg) }),
        );
      }
      this.#subs.push(
        nc.subscribe(`$SRV.${verb}.${source.name}.${source.id}`, {
          callback: (error, msg) => void this.#answer(verb, error, msg),
        }),
      );
    }
  }

  #identity() {
    const { name, id, metadata } = this.#source;
    return { name, id, version: TROUPE_VERSION, metadata };
  }

  /** The response to one verb, as the services protocol shapes it. */
  response(verb: Verb): Record<string, unknown> {
    const exposed = this.#source.exposed();
    switch (verb) {
      case "PING":
        return { type: "io.nats.micro.v1.ping_response", ...this.#identity() };
      case "INFO":
        return {
          type: "io.nats.micro.v1.info_response",
          ...this.#identity(),
          description: `Troupe actors exposed by ${this.#source.metadata.connection}`,
          endpoints: exposed.map(({ stats }) => ({
            name: endpointName(stats.name),
            subject: stats.subject,
            queue_group: stats.queue,
            metadata: { actor: stats.name, target: stats.target },
          })),
        };
      case "STATS":
        return {
          type: "io.nats.micro.v1.stats_response",
          ...this.#identity(),
          started: this.#source.started,
          endpoints: exposed.map(({ stats, target }) => {
            const handled = stats.replied + stats.told + stats.failed + stats.deadLetters;
            const nanos = Math.round(stats.processingMs * 1e6);
            return {
              name: endpointName(stats.name),
              subject: stats.subject,
              queue_group: stats.queue,
              num_requests: stats.received,
              num_errors: stats.failed + stats.deadLetters + stats.badRequests,
              last_error: stats.lastError ?? "",
              processing_time: nanos,
              average_processing_time: handled > 0 ? Math.round(nanos / handled) : 0,
              data: {
                actor: stats.name,
                pending: stats.pending,
                replied: stats.replied,
                told: stats.told,
                dead_letters: stats.deadLetters,
                bad_requests: stats.badRequests,
                dropped: stats.dropped,
                served_in: stats.servedIn,
                target: targetData(target),
                ...(stats.durable !== undefined ? { durable: stats.durable } : {}),
              },
            };
          }),
        };
    }
  }

  async #answer(verb: Verb, error: Error | null, msg: Msg): Promise<void> {
    if (error !== null || !msg.reply) return;
    if (verb === "STATS") await settleWithin(this.#source.refresh().catch(noop), REFRESH_MS);
    try {
      msg.respond(encodeValue(this.response(verb)));
    } catch {
      // The connection is going: the asker's request times out on its side.
    }
  }

  close(): void {
    for (const sub of this.#subs) {
      try {
        sub.unsubscribe();
      } catch {
        // Closed with the connection already.
      }
    }
  }
}

/** One exposed name in one process, as `$SRV.STATS` reports it (see `NatsNode.discover`). */
export interface ClusterActor {
  /** The app's namespace. */
  namespace: string;
  /** The exposed name. */
  name: string;
  /** The subject it is served on. */
  subject: string;
  /** The serving process's connection name. */
  process: string;
  /** Its process id, when it said. */
  pid: number | undefined;
  /** Its host name ("" when it could not tell). */
  host: string;
  /** The node's id as a service instance. */
  instance: string;
  /** The actor or pool behind the name (its id). */
  target: string;
  /** Whether the name has a durable mailbox. */
  durable: boolean;
  /**
   * Messages waiting: for a durable name, those stored and not yet acked
   * (across every process serving it); otherwise those in the actor's
   * mailbox or the pool's hands, plus requests the exposure holds.
   */
  depth: number | undefined;
  /** Messages handled: asks answered, tells delivered, durable messages acked. */
  handled: number;
  /** Requests answered with an error, dead letters and bad requests. */
  errors: number;
  /** Times the actor behind the name was restarted (`undefined` for a pool). */
  restarts: number | undefined;
  /**
   * Requests refused because `maxPending` were in hand (the actor is slower
   * than its callers), counted in `errors` too.
   */
  dropped: number;
  /**
   * Which thread serves the name's subscription: the node's, or the actor's
   * own (`inActor`); `undefined` from a node that did not say.
   */
  servedIn: "node" | "actor" | undefined;
}

const num = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) ? value : undefined;
const str = (value: unknown): string => typeof value === "string" ? value : "";
const rec = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null ? value as Record<string, unknown> : {};

/** The exposed names one STATS response lists, or none when it is not a Troupe node's. */
export function actorsOf(response: unknown): ClusterActor[] {
  const r = rec(response);
  if (r.type !== "io.nats.micro.v1.stats_response" || !str(r.name).startsWith("troupe-")) return [];
  const meta = rec(r.metadata);
  const endpoints = Array.isArray(r.endpoints) ? r.endpoints : [];
  return endpoints.map((endpoint): ClusterActor => {
    const e = rec(endpoint);
    const data = rec(e.data);
    const target = rec(data.target);
    const durable = data.durable === undefined ? undefined : rec(data.durable);
    const targetDepth = num(target.inflight) !== undefined
      ? (num(target.inflight) ?? 0) + (num(target.waiting) ?? 0)
      : undefined;
    const handled = (num(data.replied) ?? 0) + (num(data.told) ?? 0) +
      (num(durable?.acked) ?? 0);
    return {
      namespace: str(meta.namespace),
      name: str(data.actor) || str(e.name),
      subject: str(e.subject),
      process: str(meta.connection),
      pid: num(Number(meta.pid)),
      host: str(meta.host),
      instance: str(r.id),
      target: str(target.id),
      durable: durable !== undefined,
      depth: durable !== undefined
        ? num(durable.depth)
        : targetDepth === undefined
        ? num(data.pending)
        : targetDepth + (num(data.pending) ?? 0),
      handled,
      errors: num(e.num_errors) ?? 0,
      restarts: num(target.restarts),
      dropped: num(data.dropped) ?? 0,
      servedIn: data.served_in === "node" || data.served_in === "actor"
        ? data.served_in
        : undefined,
    };
  });
}

/**
 * Asks every service instance on the broker for its STATS (`$SRV.STATS`, or
 * `$SRV.STATS.troupe-<namespace>`) and gathers the answers that come within
 * `wait` milliseconds.
 */
export async function discover(
  nc: NatsConnection,
  namespace: string | undefined,
  wait: number,
): Promise<ClusterActor[]> {
  const subject = namespace === undefined
    ? "$SRV.STATS"
    : `$SRV.STATS.troupe-${namespace.replaceAll(".", "-")}`;
  const replies = await nc.requestMany(subject, undefined, { strategy: "timer", maxWait: wait });
  const found: ClusterActor[] = [];
  try {
    for await (const msg of replies) {
      try {
        found.push(...actorsOf(decodeValue(msg.data)));
      } catch {
        // Not JSON: some other service's answer.
      }
    }
  } catch {
    // No responders, or the connection went: what came is what there is.
  }
  return found.sort((a, b) =>
    a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name) ||
    a.process.localeCompare(b.process) || a.instance.localeCompare(b.instance)
  );
}

/** What a node's discovery is made from. */
export interface NodeIdentity {
  namespace: string;
  /** The connection's name. */
  connection: string;
  id: string;
  /** The exposures now, each with what it serves and its durable depth refresher. */
  exposed(): { stats(): ExposureStats; target: unknown; depth(): Promise<unknown> }[];
}

/**
 * The discovery of a node: service `troupe-<namespace>`, its metadata (the
 * namespace, the connection's name, the host when `--allow-sys` lets it be
 * read, the process id) and the time it started.
 */
export function nodeDiscovery(nc: NatsConnection, node: NodeIdentity): Discovery {
  let host = "";
  try {
    host = Deno.hostname();
  } catch {
    // No --allow-sys: the host stays unnamed.
  }
  return new Discovery(nc, {
    name: `troupe-${node.namespace.replaceAll(".", "-")}`,
    id: node.id,
    metadata: { namespace: node.namespace, connection: node.connection, host, pid: `${Deno.pid}` },
    started: new Date().toISOString(),
    exposed: () => node.exposed().map((e) => ({ stats: e.stats(), target: e.target })),
    refresh: async () => {
      await Promise.all(node.exposed().map((e) => e.depth()));
    },
  });
}
