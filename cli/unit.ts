/**
 * `troupe unit`: prints a systemd unit that runs an app under `troupe run`,
 * so `systemctl stop` drains it through the stop sentinels: SIGTERM to the
 * service's main process only (`KillMode=mixed`), and a stop timeout longer
 * than the service's own shutdown deadline.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { checkName, EXIT, parse, parseDuration, UsageError, writeOut } from "./_args.ts";
import { DEADLINE_GRACE_MS, DEFAULT_SHUTDOWN_TIMEOUT_MS } from "./run.ts";

/** The help text of `troupe unit`. */
export const UNIT_HELP = `Usage: troupe unit [options] <app.ts>

Prints a systemd service unit that runs 'troupe run <app.ts>' and stops it the way Troupe stops:
systemd sends SIGTERM to the service's process alone (KillMode=mixed), the service stops every actor
through its sentinel within --shutdown-timeout, and only after TimeoutStopSec (the shutdown timeout,
Troupe's own grace for terminations, and a second) does systemd kill what is left.

Options:
  --name NAME              the service's name (default: the app file's name)
  --shutdown-timeout MS    the service's graceful stop deadline (default 5000; 10s works too)
  --user                   a user unit (WantedBy=default.target) instead of a system one
  -h, --help               show this help

Example:
  troupe unit examples/demo_app.ts > ~/.config/systemd/user/troupe-demo.service
  systemctl --user daemon-reload && systemctl --user start troupe-demo
`;

/** What the unit is made from. */
export interface UnitOptions {
  /** The app module, an absolute path or URL. */
  app: string;
  /** The service's name. */
  name: string;
  /** The graceful stop deadline, in ms. */
  shutdownMs: number;
  /** A user unit rather than a system one. */
  user: boolean;
  /** The `deno` binary. */
  deno: string;
  /** The CLI module `deno run` starts: a path, or a URL for a remote package. */
  cli: string;
  /** The directory the service runs in. */
  workingDirectory: string;
}

/** The unit's text. */
export function renderUnit(options: UnitOptions): string {
  const stopSec = Math.ceil((options.shutdownMs + DEADLINE_GRACE_MS) / 1000) + 1;
  const quote = (arg: string) => /^[\w@%+=:,./-]+$/.test(arg) ? arg : JSON.stringify(arg);
  const exec = [
    options.deno,
    "run",
    "-A",
    options.cli,
    "run",
    "--name",
    options.name,
    "--shutdown-timeout",
    String(options.shutdownMs),
    options.app,
  ].map(quote).join(" ");
  return `[Unit]
Description=Troupe service ${options.name} (${options.app})
After=network-online.target
Wants=network-online.target

[Service]
Type=exec
WorkingDirectory=${options.workingDirectory}
ExecStart=${exec}
Environment=NO_COLOR=1
# SIGTERM to 'troupe run' alone: it stops every actor through its sentinel, in order.
KillMode=mixed
KillSignal=SIGTERM
# The shutdown timeout, the service's own grace for terminations, and a second.
TimeoutStopSec=${stopSec}
Restart=on-failure
RestartSec=1

[Install]
WantedBy=${options.user ? "default.target" : "multi-user.target"}
`;
}

/**
 * Runs `troupe unit` with the arguments after `unit`.
 *
 * @param args The command line after the subcommand.
 * @returns The exit code.
 * @throws {UsageError} When the command line is wrong.
 */
export function unitCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse("unit", args, {
    name: { type: "string" },
    "shutdown-timeout": { type: "string" },
    user: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    writeOut(UNIT_HELP);
    return Promise.resolve(EXIT.ok);
  }
  if (positionals.length !== 1) {
    throw new UsageError("unit", positionals.length === 0 ? "missing <app.ts>" : "one app only");
  }
  const given = positionals[0]!;
  const app = /^[a-z]+:/i.test(given) ? given : isAbsolute(given) ? given : resolve(given);
  const base = (app.split("/").pop() ?? "app").replace(/\.[^.]*$/, "");
  const name = values.name ?? base;
  checkName("unit", name);
  const shutdownMs = values["shutdown-timeout"] === undefined
    ? DEFAULT_SHUTDOWN_TIMEOUT_MS
    : parseDuration("unit", "shutdown-timeout", values["shutdown-timeout"]);
  const cli = new URL("./mod.ts", import.meta.url);
  writeOut(renderUnit({
    app,
    name,
    shutdownMs,
    user: values.user === true,
    deno: Deno.execPath(),
    cli: cli.protocol === "file:" ? fileURLToPath(cli) : cli.href,
    workingDirectory: Deno.cwd(),
  }));
  return Promise.resolve(EXIT.ok);
}
