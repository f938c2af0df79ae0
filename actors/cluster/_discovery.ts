// The NATS services protocol ("micro", v1) on core subscriptions: every node
// answers $SRV.PING, $SRV.INFO and $SRV.STATS (also with its service name,
// and with its name and id) as one service instance whose endpoints are the
// names it exposes, so standard NATS tooling (`nats micro ls`) lists Troupe
// actors. Every instance answers: these are plain subscriptions, no queue.

import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { ExposureStats } from "./exposure.ts";
import { encodeValue } from "./_wire.ts";

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
          nc.subscribe(subject, { callback: (error, msg) => this.#answer(verb, error, msg) }),
        );
      }
      this.#subs.push(
        nc.subscribe(`$SRV.${verb}.${source.name}.${source.id}`, {
          callback: (error, msg) => this.#answer(verb, error, msg),
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
                pending: stats.pending,
                replied: stats.replied,
                told: stats.told,
                dead_letters: stats.deadLetters,
                bad_requests: stats.badRequests,
                target: targetData(target),
              },
            };
          }),
        };
    }
  }

  #answer(verb: Verb, error: Error | null, msg: Msg): void {
    if (error !== null || !msg.reply) return;
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
