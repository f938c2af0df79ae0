/**
 * `troupe logs`: the last lines a running service printed (its lifecycle
 * events, its own messages and its app's log lines), and with `--follow`
 * every new one until the service stops or Ctrl-C.
 *
 * @module
 */

import { EXIT, parse, UsageError, writeErr, writeOut } from "./_args.ts";
import { ControlClient, resolveControl } from "./_control.ts";

/** The help text of `troupe logs`. */
export const LOGS_HELP = `Usage: troupe logs [options]

Prints the last lines a running service printed: its lifecycle events (started, crashed,
restarted, stopped, ...), its own messages, the lines its app logs through context.log, and what
its actors print (their console, their writes to stdout and stderr), as [id] line. The service
keeps the last 1,000. Not kept: what the app's main prints itself (console.log rather than
context.log), and the lines of actors whose onLog the app sets itself; those go straight to the
service's stdout and stderr (the journal, under systemd).

Options:
  -f, --follow       keep printing new lines as they come, until the service stops or Ctrl-C
  -n, --lines N      how many of the last lines to print first (default 100)
  --name NAME        the service (default: the only service running)
  --control PATH     the service's control socket (default: <state dir>/<name>.sock)
  -h, --help         show this help

Exit codes: 0 printed (with --follow: the service stopped), 1 no service answered, 2 usage error,
130 --follow ended by Ctrl-C.
`;

/**
 * Runs `troupe logs` with the arguments after `logs`.
 *
 * @param args The command line after `logs`.
 * @returns The exit code.
 * @throws {UsageError} When the command line is wrong.
 */
export async function logsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse("logs", args, {
    follow: { type: "boolean", short: "f" },
    lines: { type: "string", short: "n" },
    name: { type: "string" },
    control: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    writeOut(LOGS_HELP);
    return EXIT.ok;
  }
  if (positionals.length > 0) {
    throw new UsageError("logs", `unexpected argument '${positionals[0]}'`);
  }
  const lines = values.lines === undefined ? 100 : Number(values.lines);
  if (!Number.isInteger(lines) || lines < 0) {
    throw new UsageError("logs", `--lines takes a whole number, not '${values.lines}'`);
  }
  let client: ControlClient;
  try {
    client = await ControlClient.connect(await resolveControl("logs", values));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    writeErr(`troupe logs: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  }
  const interrupted = Promise.withResolvers<"interrupted">();
  const onInterrupt = () => interrupted.resolve("interrupted");
  try {
    if (values.follow) {
      client.onLog = (line) => writeOut(`${line}\n`);
      Deno.addSignalListener("SIGINT", onInterrupt);
    }
    const result = await client.request("logs", { lines, follow: values.follow === true }) as {
      lines: string[];
    };
    // The kept lines come in the answer, before any followed line.
    if (result.lines.length > 0) writeOut(`${result.lines.join("\n")}\n`);
    if (!values.follow) return EXIT.ok;
    const end = await Promise.race([
      client.stopped().then(() => "stopped" as const),
      interrupted.promise,
    ]);
    return end === "interrupted" ? EXIT.interrupted : EXIT.ok;
  } catch (error) {
    writeErr(`troupe logs: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  } finally {
    if (values.follow) Deno.removeSignalListener("SIGINT", onInterrupt);
    await client.close();
  }
}
