/**
 * `troupe status` (and `troupe ps --name NAME`): a running service's actors as a table, once
 * or redrawn every second with `--watch`.
 *
 * @module
 */

import type { ActorStats, SupervisionNode, SystemStats } from "../mod.ts";
import { EXIT, parse, UsageError, writeErr, writeOut } from "./_args.ts";
import { ControlClient, resolveControl } from "./_control.ts";
import { settleWithin } from "../internal/abort.ts";
import type { ClusterActor, NatsNode } from "../actors/cluster/mod.ts";
import {
  type Column,
  formatCount,
  formatDuration,
  formatRate,
  plural,
  renderTable,
} from "./_table.ts";

/** The help text of `troupe status`. */
export const STATUS_HELP = `Usage: troupe status [options]
       troupe ps --name NAME [options]

Connects to a running service's control socket and prints its actors:

  ID         the actor's id
  HOST       worker (a Deno Worker) or process (a deno run child)
  TRANSPORT  the mailbox transport (queue, pipe, ring, socket)
  PID        the child's process id, or "worker" for a worker actor
  STATE      starting, running, restarting, stopping
  RESTARTS   times its supervisor restarted it
  MAILBOX    messages sent and not yet handled / the mailbox capacity
  HANDLED    messages handled by this incarnation
  MSG/S      messages handled per second over the last second
  MEM        a process actor's resident memory (VmRSS), a worker actor's heap in use, or -
  CPU        CPU time its process (or worker thread) used, or -
  BUSY       how long it has been in its current handler, - when idle
  LAST CRASH the reason (and error message) of its last crash, - if none

With --nats URL it shows the cluster instead: every actor exposed on that NATS broker, by every
process (NAME, NAMESPACE, PROCESS, PID, HOST, MAILBOX: messages waiting, for a durable name those
stored and not yet acked across its processes, HANDLED, RESTARTS, ERRORS, SERVED IN: the node's
thread or the actor's own), from the NATS services protocol's $SRV.STATS that every Troupe node
answers.

Options:
  --nats URL         show the actors exposed on this NATS broker (credentials in the URL are used,
                     never shown)
  --namespace NS     with --nats: only this namespace (default: all)
  --tree             print the supervision tree instead: supervisors and their children, indented
  -w, --watch        redraw the table (or, with --tree, the tree) every second, like top, until
                     Ctrl-C or the service stops
  --json             print the status as a JSON object (with --watch, one line per second)
  --name NAME        the service to show (default: the only service running)
  --control PATH     the service's control socket (default: <state dir>/<name>.sock)
  -h, --help         show this help

Exit codes: 0 shown (or, with --watch, the service stopped), 1 no service answered,
2 usage error, 130 --watch ended by Ctrl-C.
`;

/** What a service answers to `status`. */
export interface ServiceStatus {
  name: string;
  pid: number;
  app: string;
  state: string;
  started: number;
  uptimeMs: number;
  stats: SystemStats;
  actors: (ActorStats & { rate: number })[];
  /** The supervision trees (services from before `--tree` existed send none). */
  tree?: SupervisionNode[];
}

const COLUMNS: Column[] = [
  { header: "ID" },
  { header: "HOST" },
  { header: "TRANSPORT" },
  { header: "PID" },
  { header: "STATE" },
  { header: "RESTARTS", right: true },
  { header: "MAILBOX", right: true },
  { header: "HANDLED", right: true },
  { header: "MSG/S", right: true },
  { header: "MEM", right: true },
  { header: "CPU", right: true },
  { header: "BUSY", right: true },
  { header: "LAST CRASH" },
];

const CLUSTER_COLUMNS: Column[] = [
  { header: "NAME" },
  { header: "NAMESPACE" },
  { header: "PROCESS" },
  { header: "PID" },
  { header: "HOST" },
  { header: "MAILBOX", right: true },
  { header: "HANDLED", right: true },
  { header: "RESTARTS", right: true },
  { header: "ERRORS", right: true },
  { header: "SERVED IN" },
];

/** Renders the cluster view: a header line and one row per exposed name per process. */
export function renderCluster(servers: string[], actors: ClusterActor[]): string {
  const processes = new Set(actors.map((a) => a.instance)).size;
  const header = [
    `cluster at ${servers.join(", ")}`,
    plural(actors.length, "exposed actor"),
    plural(processes, "process", "processes"),
  ].join("  ");
  const rows = actors.map((a) => [
    a.name,
    a.namespace,
    a.process,
    a.pid !== undefined ? String(a.pid) : "-",
    a.host || "-",
    a.depth === undefined ? "-" : `${formatCount(a.depth)}${a.durable ? " durable" : ""}`,
    formatCount(a.handled),
    a.restarts === undefined ? "-" : formatCount(a.restarts),
    formatCount(a.errors),
    a.servedIn ?? "-",
  ]);
  return `${header}\n\n${renderTable(CLUSTER_COLUMNS, rows)}`;
}

async function clusterCommand(
  command: string,
  url: string,
  namespace: string | undefined,
  json: boolean,
): Promise<number> {
  let node: NatsNode;
  try {
    // Loaded here, so the other commands never load the NATS client.
    const { NatsNode } = await import("../actors/cluster/mod.ts");
    node = await NatsNode.connect({
      servers: url,
      name: `troupe-${command}-${Deno.pid}`,
      discovery: false,
      maxReconnectAttempts: 0,
      connectTimeout: 3000,
    });
  } catch (error) {
    writeErr(`troupe ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  }
  try {
    const actors = await node.discover(namespace === undefined ? {} : { namespace });
    const servers = node.stats().servers;
    if (json) writeOut(`${JSON.stringify({ servers, actors })}\n`);
    else if (actors.length === 0) {
      writeOut(`cluster at ${servers.join(", ")}: no Troupe actors exposed\n`);
    } else writeOut(renderCluster(servers, actors));
    return EXIT.ok;
  } catch (error) {
    writeErr(`troupe ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  } finally {
    await node.close({ timeout: 1000 });
  }
}

/** Renders a status as the header line and the table. */
export function renderStatus(status: ServiceStatus): string {
  const restarts = status.actors.reduce((sum, a) => sum + a.restarts, 0);
  const now = status.started + status.uptimeMs;
  const header = [
    `service ${status.name}`,
    `pid ${status.pid}`,
    status.state,
    `up ${formatDuration(status.uptimeMs)}`,
    plural(status.actors.length, "actor"),
    plural(status.stats.supervisors, "supervisor"),
    plural(restarts, "restart"),
    plural(status.stats.deadLetters, "dead letter"),
  ].join("  ");
  const rows = status.actors.map((actor) => [
    actor.id,
    actor.host,
    actor.transport,
    actor.pid !== undefined ? String(actor.pid) : "worker",
    actor.state,
    formatCount(actor.restarts),
    `${formatCount(actor.inflight + actor.waiting)}/${formatCount(actor.capacity)}`,
    formatCount(actor.handled),
    formatRate(actor.rate),
    formatBytes(actor.rss ?? actor.heapUsed),
    actor.cpuMs === undefined ? "-" : formatDuration(actor.cpuMs),
    actor.busySince === undefined ? "-" : formatDuration(Math.max(0, now - actor.busySince)),
    formatCrash(actor.lastCrash),
  ]);
  return `${header}\n\n${renderTable(COLUMNS, rows)}`;
}

/**
 * Renders the supervision tree: one line per supervisor and actor, children
 * indented under their supervisor, each actor with its host, state, restarts
 * and last crash, a supervisor with its state when it is not running.
 */
export function renderTree(status: ServiceStatus): string {
  const actors = new Map(status.actors.map((a) => [a.id, a]));
  const lines = [`service ${status.name}  pid ${status.pid}  ${status.state}`];
  const walk = (node: SupervisionNode, prefix: string, last: boolean, top: boolean) => {
    const branch = top ? "" : last ? "└─ " : "├─ ";
    let text = node.id;
    // `state` is absent from the status of a service that predates it.
    const state = node.state as string | undefined;
    if (node.kind === "supervisor") {
      text += `  (supervisor${state && state !== "running" ? `, ${state}` : ""})`;
    } else {
      const actor = actors.get(node.id);
      text += actor
        ? `  ${actor.host}  ${actor.state}  ${plural(actor.restarts, "restart")}${
          actor.lastCrash ? `  last crash: ${formatCrash(actor.lastCrash)}` : ""
        }`
        : `  (${state && state !== "running" ? state : "not running"})`;
    }
    lines.push(`${prefix}${branch}${text}`);
    const children = node.children ?? [];
    const inner = top ? prefix : `${prefix}${last ? "   " : "│  "}`;
    children.forEach((child, i) => walk(child, inner, i === children.length - 1, false));
  };
  for (const root of status.tree ?? []) walk(root, "", true, true);
  if (!status.tree) lines.push("(this service does not report its tree)");
  return `${lines.join("\n")}\n`;
}

/** Bytes for people: `-` when unknown, `512 KiB`, `48.2 MiB`, `1.3 GiB`. */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return "-";
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

/** The last crash as a cell: `error: boom` (at most 40 characters), or `-`. */
export function formatCrash(crash: ActorStats["lastCrash"]): string {
  if (!crash) return "-";
  const text = crash.message ? `${crash.reason}: ${crash.message}` : crash.reason;
  const line = text.replace(/\s+/g, " ");
  return line.length > 40 ? `${line.slice(0, 39)}…` : line;
}

/**
 * Runs `troupe status` with the arguments after `status` (or `ps`).
 *
 * @param args The command line after the subcommand.
 * @param command The name it was called by, for messages.
 * @returns The exit code.
 * @throws {UsageError} When the command line is wrong.
 */
export async function statusCommand(args: string[], command = "status"): Promise<number> {
  const { values, positionals } = parse(command, args, {
    watch: { type: "boolean", short: "w" },
    json: { type: "boolean" },
    tree: { type: "boolean" },
    name: { type: "string" },
    control: { type: "string" },
    nats: { type: "string" },
    namespace: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    writeOut(STATUS_HELP);
    return EXIT.ok;
  }
  if (positionals.length > 0) {
    throw new UsageError(command, `unexpected argument '${positionals[0]}'`);
  }
  if (values.namespace !== undefined && values.nats === undefined) {
    throw new UsageError(command, "--namespace needs --nats URL");
  }
  if (values.nats !== undefined) {
    if (values.watch) throw new UsageError(command, "--watch does not go with --nats");
    return await clusterCommand(command, values.nats, values.namespace, values.json === true);
  }
  let client: ControlClient;
  try {
    client = await ControlClient.connect(await resolveControl(command, values));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    writeErr(`troupe ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  }
  try {
    if (!values.watch) {
      const status = await client.request("status") as ServiceStatus;
      writeOut(
        values.json
          ? `${JSON.stringify(status)}\n`
          : values.tree
          ? renderTree(status)
          : renderStatus(status),
      );
      return EXIT.ok;
    }
    return await watch(client, values.json === true, values.tree ? renderTree : renderStatus);
  } catch (error) {
    writeErr(`troupe ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  } finally {
    await client.close();
  }
}

/** Redraws the status every second with `render` (the table, or the tree). */
async function watch(
  client: ControlClient,
  json: boolean,
  render: (status: ServiceStatus) => string,
): Promise<number> {
  const tty = !json && Deno.stdout.isTerminal();
  const interrupted = new AbortController();
  const onInterrupt = () => interrupted.abort();
  Deno.addSignalListener("SIGINT", onInterrupt);
  const stopped = client.stopped();
  try {
    while (true) {
      let status: ServiceStatus;
      try {
        status = await client.request("status") as ServiceStatus;
      } catch (error) {
        // The service says it stopped (or goes away) within a second.
        if (await settleWithin(stopped, 1000)) break;
        throw error;
      }
      if (json) writeOut(`${JSON.stringify(status)}\n`);
      else if (tty) writeOut(`\x1b[H\x1b[2J${render(status)}`);
      else writeOut(`${render(status)}\n`);
      const next = await waitFor(1000, interrupted.signal, stopped);
      if (next === "interrupted") return EXIT.interrupted;
      if (next === "stopped") break;
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
  writeOut(`troupe: the service ${client.greeting.name ?? ""} stopped\n`);
  return EXIT.ok;
}

function waitFor(
  ms: number,
  signal: AbortSignal,
  stopped: Promise<unknown>,
): Promise<"tick" | "interrupted" | "stopped"> {
  if (signal.aborted) return Promise.resolve("interrupted");
  return new Promise((resolve) => {
    const done = (result: "tick" | "interrupted" | "stopped") => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve(result);
    };
    const onAbort = () => done("interrupted");
    const timer = setTimeout(() => done("tick"), ms);
    signal.addEventListener("abort", onAbort, { once: true });
    stopped.then(() => done("stopped"));
  });
}
