/**
 * `main`: the `troupe` command's dispatcher, callable from code and tests.
 *
 * @module
 */

import denoJson from "../deno.json" with { type: "json" };
import { EXIT, UsageError, writeErr, writeOut } from "./_args.ts";
import { BENCH_HELP, benchCommand } from "./bench.ts";
import { PS_HELP, psCommand } from "./ps.ts";
import { LOGS_HELP, logsCommand } from "./logs.ts";
import { RESTART_HELP, restartCommand } from "./restart.ts";
import { RUN_HELP, runCommand } from "./run.ts";
import { STATUS_HELP, statusCommand } from "./status.ts";
import { STOP_HELP, stopCommand } from "./stop.ts";
import { UNIT_HELP, unitCommand } from "./unit.ts";

const HELP = `troupe ${denoJson.version}: run a supervised Troupe service, watch it, stop it cleanly

Usage: troupe <command> [options]

Commands:
  run <app.ts>    start the supervision tree an app module exports and print its lifecycle events
                  (--observe: a live page of the tree in the browser; --metrics: Prometheus)
  status          show a running service's actors (--watch redraws every second)
  ps              list the services running on this machine (--name NAME: one service's actors)
  stop            stop a running service gracefully through its control socket
  logs            the last lines a service printed (--follow: and the new ones as they come)
  restart ACTOR   restart an actor (or a nested supervisor's subtree) through its supervisor
  unit <app.ts>   print a systemd unit that runs 'troupe run <app.ts>' and stops it gracefully
  bench           run the benchmark suite and print its table
  help [command]  show the help of a command

Options:
  -h, --help      show this help
  -V, --version   print the version

Exit codes: 0 clean, 1 failed, 2 usage error, 130 interrupted by Ctrl-C.
Run 'troupe <command> --help' for a command's options.
`;

const COMMANDS: Record<string, { help: string; run: (args: string[]) => Promise<number> }> = {
  run: { help: RUN_HELP, run: runCommand },
  status: { help: STATUS_HELP, run: (args) => statusCommand(args, "status") },
  ps: { help: PS_HELP, run: psCommand },
  stop: { help: STOP_HELP, run: stopCommand },
  restart: { help: RESTART_HELP, run: restartCommand },
  logs: { help: LOGS_HELP, run: logsCommand },
  unit: { help: UNIT_HELP, run: unitCommand },
  bench: { help: BENCH_HELP, run: benchCommand },
};

/**
 * Runs the `troupe` command with the given arguments and returns its exit
 * code instead of exiting: 0 clean, 1 failed, 2 usage error, 130 after
 * Ctrl-C. `troupe run` handles SIGINT and SIGTERM while it runs, and exits
 * the process itself only when a second signal forces the stop or the stop
 * deadline passes.
 *
 * @example Print the help
 * ```ts
 * import { main } from "@troupe/troupe/cli";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await main(["--help"]), 0);
 * ```
 *
 * @example A usage error is exit code 2
 * ```ts
 * import { main } from "@troupe/troupe/cli";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await main(["run", "--no-such-option", "app.ts"]), 2);
 * ```
 *
 * @param args The command line after `troupe`, such as `["run", "app.ts"]`.
 * @returns The exit code.
 */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case undefined:
        writeErr(HELP);
        return EXIT.usage;
      case "-h":
      case "--help":
        writeOut(HELP);
        return EXIT.ok;
      case "-V":
      case "--version":
        writeOut(`troupe ${denoJson.version} (deno ${Deno.version.deno})\n`);
        return EXIT.ok;
      case "help": {
        if (rest.length === 0) {
          writeOut(HELP);
          return EXIT.ok;
        }
        const topic = COMMANDS[rest[0]!];
        if (!topic) throw new UsageError("", `unknown command '${rest[0]}'`);
        writeOut(topic.help);
        return EXIT.ok;
      }
    }
    const entry = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (!entry) {
      throw new UsageError(
        "",
        command.startsWith("-") ? `unknown option '${command}'` : `unknown command '${command}'`,
      );
    }
    return await entry.run(rest);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const where = error.command === "" ? "troupe" : `troupe ${error.command}`;
    writeErr(`${where}: ${error.message}\nhint: run '${where} --help' for usage\n`);
    return EXIT.usage;
  }
}
