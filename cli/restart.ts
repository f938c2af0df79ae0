/**
 * `troupe restart ACTOR`: restarts one actor of a running service, or the
 * subtree under a nested supervisor, through its supervisor.
 *
 * @module
 */

import { EXIT, parse, UsageError, writeErr, writeOut } from "./_args.ts";
import { ControlClient, resolveControl } from "./_control.ts";

/** The help text of `troupe restart`. */
export const RESTART_HELP = `Usage: troupe restart [options] ACTOR

Restarts an actor of a running service through its supervisor: the actor stops through its
sentinel (within its shutdown timeout) and starts again; messages sent meanwhile wait for it.
Given a nested supervisor's id, every actor under it restarts. It counts as a restart (RESTARTS in
'troupe status'), and the service prints a 'restarted ... on request' event.

Options:
  --name NAME        the service (default: the only service running)
  --control PATH     the service's control socket (default: <state dir>/<name>.sock)
  -h, --help         show this help

Exit codes: 0 restarted, 1 failed (no such actor, no service answered), 2 usage error.
`;

/**
 * Runs `troupe restart` with the arguments after `restart`.
 *
 * @param args The command line after `restart`.
 * @returns The exit code.
 * @throws {UsageError} When the command line is wrong.
 */
export async function restartCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse("restart", args, {
    name: { type: "string" },
    control: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    writeOut(RESTART_HELP);
    return EXIT.ok;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      "restart",
      positionals.length === 0
        ? "name the actor to restart"
        : `unexpected argument '${positionals[1]}'`,
    );
  }
  const actor = positionals[0]!;
  let client: ControlClient;
  try {
    client = await ControlClient.connect(await resolveControl("restart", values));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    writeErr(`troupe restart: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  }
  try {
    await client.request("restart", { actor });
    writeOut(`troupe: restarted ${actor} in ${client.greeting.name ?? "the service"}\n`);
    return EXIT.ok;
  } catch (error) {
    writeErr(`troupe restart: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  } finally {
    await client.close();
  }
}
