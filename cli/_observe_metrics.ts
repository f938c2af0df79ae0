// The observer's figures in the Prometheus text exposition format (0.0.4),
// served at /metrics by `troupe run --metrics`.

import type { SystemStats } from "../mod.ts";
import type { ExposureStats, NatsNodeStats } from "../actors/cluster/mod.ts";
import type { ActorView, SupervisorView } from "./_observe_model.ts";

/** The content type of the text format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Kind = "counter" | "gauge";

interface Family {
  name: string;
  kind: Kind;
  help: string;
  samples: { labels: Record<string, string>; value: number }[];
}

/** A label value with `\`, `"` and newlines escaped. */
function labelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text with `\` and newlines escaped. */
function helpText(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function number(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function render(families: Family[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${helpText(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.kind}`);
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels);
      const set = labels.length === 0
        ? ""
        : `{${labels.map(([key, value]) => `${key}="${labelValue(value)}"`).join(",")}}`;
      lines.push(`${family.name}${set} ${number(sample.value)}`);
    }
  }
  return lines.join("\n") + "\n";
}

/**
 * Renders the figures of every actor and supervisor known, the system's
 * counters, and those of the NATS nodes connected with the system.
 */
export function renderMetrics(
  actors: readonly ActorView[],
  supervisors: readonly SupervisorView[],
  stats: SystemStats,
  crashes: ReadonlyMap<string, number>,
  nats: readonly NatsNodeStats[] = [],
): string {
  const perActor = (
    name: string,
    kind: Kind,
    help: string,
    value: (actor: ActorView) => number,
  ): Family => ({
    name,
    kind,
    help,
    samples: actors.map((actor) => ({
      labels: { id: actor.id, host: actor.host, transport: actor.transport },
      value: value(actor),
    })),
  });
  const byKey = (
    name: string,
    kind: Kind,
    help: string,
    label: string,
    record: Record<string, number>,
  ): Family => ({
    name,
    kind,
    help,
    samples: Object.entries(record).sort(([a], [b]) => a.localeCompare(b)).map((
      [key, value],
    ) => ({ labels: { [label]: key }, value })),
  });
  const one = (name: string, kind: Kind, help: string, value: number): Family => ({
    name,
    kind,
    help,
    samples: [{ labels: {}, value }],
  });
  return render([
    perActor(
      "troupe_actor_up",
      "gauge",
      "1 when the actor is running, 0 when it crashed, stopped or is restarting.",
      (a) => a.up ? 1 : 0,
    ),
    perActor(
      "troupe_actor_messages_handled_total",
      "counter",
      "Messages the actor's current incarnation handled (a restart resets it).",
      (a) => a.handled,
    ),
    perActor(
      "troupe_actor_messages_per_second",
      "gauge",
      "Messages the actor handled per second over the last sample.",
      (a) => a.rate,
    ),
    perActor(
      "troupe_actor_mailbox_depth",
      "gauge",
      "Messages sent to the actor and not yet handled, those waiting for room included.",
      (a) => a.mailbox,
    ),
    perActor(
      "troupe_actor_mailbox_capacity",
      "gauge",
      "The actor's mailbox capacity.",
      (a) => a.capacity,
    ),
    perActor(
      "troupe_actor_pending_asks",
      "gauge",
      "Asks to the actor waiting for their reply.",
      (a) => a.pendingAsks,
    ),
    perActor(
      "troupe_actor_restarts_total",
      "counter",
      "Times the actor's supervisor restarted it.",
      (a) => a.restarts,
    ),
    perActor(
      "troupe_actor_crashes_total",
      "counter",
      "Times the actor crashed since the service started.",
      (a) => crashes.get(a.id) ?? 0,
    ),
    {
      name: "troupe_supervisor_gave_up",
      kind: "gauge",
      help: "1 when the supervisor gave up (and was not restarted since), else 0.",
      samples: supervisors.map((s) => ({
        labels: { id: s.id },
        value: s.gaveUp && !s.gaveUp.restarted ? 1 : 0,
      })),
    },
    {
      name: "troupe_supervisor_restarts_total",
      kind: "counter",
      help: "Times a nested supervisor was restarted by its own supervisor.",
      samples: supervisors.map((s) => ({ labels: { id: s.id }, value: s.restarts })),
    },
    one("troupe_actors", "gauge", "Actors running now.", stats.actors),
    one("troupe_supervisors", "gauge", "Supervisors running now.", stats.supervisors),
    one("troupe_actors_spawned_total", "counter", "Actors ever spawned.", stats.spawned),
    byKey(
      "troupe_actor_exits_total",
      "counter",
      "Actors that ended, by reason.",
      "reason",
      stats.exits,
    ),
    one(
      "troupe_dead_letters_total",
      "counter",
      "Messages that could not be delivered.",
      stats.deadLetters,
    ),
    byKey(
      "troupe_lifecycle_events_total",
      "counter",
      "Lifecycle events so far, by type.",
      "type",
      stats.events,
    ),
    one(
      "troupe_leaked_workers",
      "gauge",
      "Worker actors terminated inside a handler whose threads may still run.",
      stats.leaked,
    ),
    ...natsFamilies(nats),
  ]);
}

/** One figure: its name, kind, help, and how it is read from a node or an exposed name. */
type Figure<T> = [name: string, kind: Kind, help: string, pick: (from: T) => number | undefined];

/** The figures of each NATS node (label `node`, its connection name). */
const NODE_FIGURES: Figure<NatsNodeStats>[] = [
  ["troupe_nats_connected", "gauge", "1 while the node's connection is up.", (n) => +n.connected],
  [
    "troupe_nats_disconnects_total",
    "counter",
    "Times the connection dropped.",
    (n) => n.disconnects,
  ],
  [
    "troupe_nats_reconnects_total",
    "counter",
    "Times the connection came back.",
    (n) => n.reconnects,
  ],
  ["troupe_nats_asks_total", "counter", "Remote asks sent.", (n) => n.asks],
  ["troupe_nats_tells_total", "counter", "Remote tells sent.", (n) => n.tells],
  [
    "troupe_nats_pending_asks",
    "gauge",
    "Remote asks waiting for their reply.",
    (n) => n.pendingAsks,
  ],
];

/** The figures of each exposed name (labels `node` and `name`); `undefined`: no sample. */
const NAME_FIGURES: Figure<ExposureStats>[] = [
  [
    "troupe_nats_requests_total",
    "counter",
    "Requests that arrived for the name.",
    (e) => e.received,
  ],
  ["troupe_nats_replied_total", "counter", "Asks answered with a value.", (e) => e.replied],
  ["troupe_nats_failed_total", "counter", "Asks answered with an error.", (e) => e.failed],
  ["troupe_nats_told_total", "counter", "Tells delivered into the mailbox.", (e) => e.told],
  [
    "troupe_nats_dead_letters_total",
    "counter",
    "Tells that could not be delivered.",
    (e) => e.deadLetters,
  ],
  [
    "troupe_nats_bad_requests_total",
    "counter",
    "Requests refused for breaking the wire format.",
    (e) => e.badRequests,
  ],
  [
    "troupe_nats_dropped_total",
    "counter",
    "Requests refused because maxPending were in hand (the actor is slower than its callers).",
    (e) => e.dropped,
  ],
  ["troupe_nats_requests_pending", "gauge", "Requests being handled now.", (e) => e.pending],
  [
    "troupe_nats_served_in_actor",
    "gauge",
    "1 while the actor's own thread serves the name (inActor), 0 while the node's does.",
    (e) => +(e.servedIn === "actor"),
  ],
  [
    "troupe_nats_actor_connection_up",
    "gauge",
    "With inActor: 1 while the actor's own connection is up.",
    (e) => e.actorConnection === undefined ? undefined : +e.actorConnection.connected,
  ],
  [
    "troupe_nats_actor_disconnects_total",
    "counter",
    "With inActor: times the actor's own connection dropped.",
    (e) => e.actorConnection?.disconnects,
  ],
];

/** A family of `figure` over `sources`, each with its labels. */
function familyOf<T>(
  [name, kind, help, pick]: Figure<T>,
  sources: readonly { labels: Record<string, string>; from: T }[],
): Family {
  return {
    name,
    kind,
    help,
    samples: sources.flatMap(({ labels, from }) => {
      const value = pick(from);
      return value === undefined ? [] : [{ labels, value }];
    }),
  };
}

/**
 * The figures of the NATS nodes connected with this system
 * (`NatsNode.connect({ system })`): per node and per exposed name.
 */
function natsFamilies(nodes: readonly NatsNodeStats[]): Family[] {
  if (nodes.length === 0) return [];
  const perNode = nodes.map((node) => ({ labels: { node: node.name }, from: node }));
  const perName = nodes.flatMap((node) =>
    node.exposed.map((exposure) => ({
      labels: { node: node.name, name: exposure.name },
      from: exposure,
    }))
  );
  return [
    ...NODE_FIGURES.map((figure) => familyOf(figure, perNode)),
    ...NAME_FIGURES.map((figure) => familyOf(figure, perName)),
  ];
}
