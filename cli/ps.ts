/**
 * `troupe ps`: every running service on the machine (of this user), one row
 * each, like `docker ps`. With `--name`, `--control` or `--watch` it shows one
 * service's actors, as `troupe status` does.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { EXIT, parse, writeErr, writeOut } from "./_args.ts";
import { ControlClient, listServices, stateDir } from "./_control.ts";
import { type ServiceStatus, statusCommand } from "./status.ts";
import { type Column, formatCount, formatDuration, renderTable } from "./_table.ts";

/** The help text of `troupe ps`. */
export const PS_HELP = `Usage: troupe ps [options]

Lists every Troupe service running for this user (the control sockets in the state dir that
answer), one row each:

  NAME      the service's name (its control socket's)
  PID       the process of 'troupe run'
  STATE     running, or stopping
  UPTIME    since it started
  ACTORS    actors running now
  RESTARTS  restarts by its supervisors, all actors together
  APP       the app module it runs

With --name, --control or --watch it shows that one service's actors instead, as 'troupe status'.

Options:
  --json          print the list as a JSON array
  --name NAME     show one service's actors (as troupe status --name NAME)
  --control PATH  show the service of this control socket
  -w, --watch     as troupe status --watch
  -h, --help      show this help

Exit codes: 0 listed (also when none runs), 1 a service could not be read, 2 usage error.
`;

/** One row of `troupe ps`: what a service says of itself. */
export interface ServiceSummary {
  name: string;
  pid: number;
  state: string;
  uptimeMs: number;
  actors: number;
  restarts: number;
  app: string;
}

const COLUMNS: Column[] = [
  { header: "NAME" },
  { header: "PID", right: true },
  { header: "STATE" },
  { header: "UPTIME", right: true },
  { header: "ACTORS", right: true },
  { header: "RESTARTS", right: true },
  { header: "APP" },
];

/** Renders the services as the `troupe ps` table. */
export function renderServices(services: readonly ServiceSummary[]): string {
  return renderTable(
    COLUMNS,
    services.map((s) => [
      s.name,
      String(s.pid),
      s.state,
      formatDuration(s.uptimeMs),
      formatCount(s.actors),
      formatCount(s.restarts),
      s.app.startsWith("file:") ? fileURLToPath(s.app) : s.app,
    ]),
  );
}

/** A service's row, from its `status` answer. */
export function summarize(status: ServiceStatus): ServiceSummary {
  return {
    name: status.name,
    pid: status.pid,
    state: status.state,
    uptimeMs: status.uptimeMs,
    actors: status.actors.length,
    restarts: status.actors.reduce((sum, a) => sum + a.restarts, 0),
    app: status.app,
  };
}

/**
 * Runs `troupe ps` with the arguments after `ps`.
 *
 * @param args The command line after the subcommand.
 * @returns The exit code.
 */
export async function psCommand(args: string[]): Promise<number> {
  const { values } = parse("ps", args, {
    json: { type: "boolean" },
    name: { type: "string" },
    control: { type: "string" },
    watch: { type: "boolean", short: "w" },
    nats: { type: "string" },
    namespace: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    writeOut(PS_HELP);
    return EXIT.ok;
  }
  const one = values.name !== undefined || values.control !== undefined || values.watch ||
    values.nats !== undefined;
  if (one) return await statusCommand(args, "ps");
  const dir = stateDir();
  const summaries: ServiceSummary[] = [];
  let failed = false;
  for (const found of await listServices(dir)) {
    let client: ControlClient | undefined;
    try {
      client = await ControlClient.connect(found.path);
      summaries.push(summarize(await client.request("status") as ServiceStatus));
    } catch (error) {
      // It stopped between the listing and the question, or does not answer: say so, go on.
      failed = true;
      writeErr(
        `troupe ps: ${found.name}: ${error instanceof Error ? error.message : String(error)}\n`,
      );
    } finally {
      await client?.close();
    }
  }
  if (values.json) writeOut(`${JSON.stringify(summaries)}\n`);
  else if (summaries.length === 0 && !failed) writeOut(`no Troupe services running (${dir})\n`);
  else writeOut(renderServices(summaries));
  return failed ? EXIT.failed : EXIT.ok;
}
