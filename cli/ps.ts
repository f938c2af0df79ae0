/**
 * `troupe ps`: every service running on this machine for this user, one row
 * each. With `--name` or `--control` (or `--watch`, `--nats`) it shows that
 * one service's actors, as `troupe status` does.
 *
 * @module
 */

import { EXIT, parse, UsageError, writeErr, writeOut } from "./_args.ts";
import { ControlClient, listServices, stateDir } from "./_control.ts";
import { type Column, formatCount, formatDuration, renderTable } from "./_table.ts";
import { type ServiceStatus, statusCommand } from "./status.ts";

/** The help text of `troupe ps`. */
export const PS_HELP = `Usage: troupe ps [options]
       troupe ps --name NAME [status options]

Lists every service running on this machine (for this user), one line each:

  NAME      the service's name (its control socket is <state dir>/<name>.sock)
  PID       the process id of its 'troupe run'
  UPTIME    how long it has been running
  ACTORS    how many actors it runs
  RESTARTS  restarts of its actors since it started

With --name NAME or --control PATH it shows that service's actors, as 'troupe status' does
(see 'troupe status --help' for those options).

Options:
  --json             print a JSON array of the services
  --name NAME        show this service's actors instead
  --control PATH     show the actors of the service on this control socket instead
  -h, --help         show this help

Exit codes: 0 shown (also when none runs), 1 a service did not answer, 2 usage error.
`;

/** One row of `troupe ps`. */
export interface ServiceRow {
  name: string;
  pid: number;
  uptimeMs: number;
  actors: number;
  restarts: number;
}

const COLUMNS: Column[] = [
  { header: "NAME" },
  { header: "PID", right: true },
  { header: "UPTIME", right: true },
  { header: "ACTORS", right: true },
  { header: "RESTARTS", right: true },
];

/** Renders the services as a table (or a line saying none runs). */
export function renderServices(rows: readonly ServiceRow[]): string {
  if (rows.length === 0) return `no service is running (state dir ${stateDir()})\n`;
  return renderTable(
    COLUMNS,
    rows.map((row) => [
      row.name,
      String(row.pid),
      formatDuration(row.uptimeMs),
      formatCount(row.actors),
      formatCount(row.restarts),
    ]),
  );
}

/**
 * Runs `troupe ps` with the arguments after `ps`.
 *
 * @param args The command line after the subcommand.
 * @returns The exit code.
 * @throws {UsageError} When the command line is wrong.
 */
export async function psCommand(args: string[]): Promise<number> {
  const single = args.some((arg) =>
    /^(--name|--control|--nats|--namespace|--watch|-w)(=|$)/.test(arg)
  );
  if (single) return await statusCommand(args, "ps");
  const { values, positionals } = parse("ps", args, {
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    writeOut(PS_HELP);
    return EXIT.ok;
  }
  if (positionals.length > 0) {
    throw new UsageError("ps", `unexpected argument '${positionals[0]}'`);
  }
  const services = await listServices();
  let failed = false;
  const rows = (await Promise.all(services.map(async (service) => {
    try {
      const client = await ControlClient.connect(service.path);
      try {
        const status = await client.request("status") as ServiceStatus;
        return {
          name: status.name,
          pid: status.pid,
          uptimeMs: status.uptimeMs,
          actors: status.actors.length,
          restarts: status.actors.reduce((sum, a) => sum + a.restarts, 0),
        };
      } finally {
        await client.close();
      }
    } catch (error) {
      failed = true;
      writeErr(
        `troupe ps: ${service.name}: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      return undefined;
    }
  }))).filter((row): row is ServiceRow => row !== undefined);
  writeOut(values.json ? `${JSON.stringify(rows)}\n` : renderServices(rows));
  return failed ? EXIT.failed : EXIT.ok;
}
