/**
 * `troupe stop`: asks a running service to stop gracefully through its
 * control socket, waits until it has, and reports how.
 *
 * @module
 */

import { EXIT, parse, parseDuration, UsageError, writeErr, writeOut } from "./_args.ts";
import { ControlClient, resolveControl } from "./_control.ts";
import { formatDuration, plural } from "./_table.ts";

/** The help text of `troupe stop`. */
export const STOP_HELP = `Usage: troupe stop [options]

Asks a running service to stop gracefully, as SIGTERM does: every actor handles what is already
in its mailbox, runs its stop hook and exits. Waits until the service has stopped, then says how.

Options:
  --timeout MS       how long the stop may take (default: the service's --shutdown-timeout);
                     past it the service terminates the actors still running and exits 1
  --name NAME        the service to stop (default: the only service running)
  --control PATH     the service's control socket (default: <state dir>/<name>.sock)
  -h, --help         show this help

Exit codes: 0 the service stopped cleanly, 1 it did not (or no service answered), 2 usage error.
`;

/** Extra time the client waits past the stop deadline for the service's report. */
const REPORT_GRACE_MS = 5000;

/**
 * Runs `troupe stop` with the arguments after `stop`.
 *
 * @param args The command line after `stop`.
 * @returns The exit code.
 * @throws {UsageError} When the command line is wrong.
 */
export async function stopCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse("stop", args, {
    timeout: { type: "string" },
    name: { type: "string" },
    control: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    writeOut(STOP_HELP);
    return EXIT.ok;
  }
  if (positionals.length > 0) {
    throw new UsageError("stop", `unexpected argument '${positionals[0]}'`);
  }
  const timeout = values.timeout === undefined
    ? undefined
    : parseDuration("stop", "timeout", values.timeout);
  let client: ControlClient;
  try {
    client = await ControlClient.connect(await resolveControl("stop", values));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    writeErr(`troupe stop: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  }
  const { name = "service", pid } = client.greeting;
  const who = `${name}${pid !== undefined ? ` (pid ${pid})` : ""}`;
  const began = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await client.request("stop", timeout === undefined ? {} : { timeout });
    writeOut(`troupe: stopping ${who}\n`);
    const wait = (timeout ?? client.greeting.shutdownTimeout ?? 5000) + REPORT_GRACE_MS;
    const report = await Promise.race([
      client.stopped(),
      new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), wait)),
    ]);
    const took = formatDuration(performance.now() - began);
    if (report === "late") {
      writeErr(`troupe stop: ${who} did not report within ${formatDuration(wait)}\n`);
      return EXIT.failed;
    }
    if (report === undefined) {
      writeErr(`troupe stop: ${who} went away in ${took} without saying how it stopped\n`);
      return EXIT.failed;
    }
    const list = (key: string) => Array.isArray(report[key]) ? report[key] as string[] : [];
    if (report.clean === true) {
      writeOut(
        `troupe: ${who} stopped cleanly in ${took} (${
          plural(list("stopped").length, "actor")
        } stopped)\n`,
      );
      return EXIT.ok;
    }
    const parts = [
      list("terminated").length > 0 ? `terminated ${list("terminated").join(", ")}` : "",
      list("failed").length > 0 ? `failed ${list("failed").join(", ")}` : "",
    ].filter(Boolean);
    writeOut(`troupe: ${who} stopped in ${took}, not cleanly: ${parts.join("; ")}\n`);
    return EXIT.failed;
  } catch (error) {
    writeErr(`troupe stop: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  } finally {
    clearTimeout(timer);
    await client.close();
  }
}
