/**
 * `troupe unit APP`: prints a systemd unit that runs `troupe run APP` as a
 * service, so that `systemctl stop` drains it through its sentinels.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { checkName, EXIT, parse, parseDuration, UsageError, writeOut } from "./_args.ts";
import { DEFAULT_SHUTDOWN_TIMEOUT_MS } from "./run.ts";

/** The help text of `troupe unit`. */
export const UNIT_HELP = `Usage: troupe unit [options] <app.ts>

Prints a systemd unit that runs 'troupe run <app.ts>' (with this deno, by its absolute path) as a
service. systemctl stop sends SIGTERM to troupe run only (KillMode=mixed), which stops every actor
through its sentinel within --shutdown-timeout; TimeoutStopSec leaves it that long plus a margin
before systemd kills what is left. Restart=on-failure starts it again after a crash or a
supervisor that gave up (exit code 1), not after a clean stop.

  troupe unit service.ts > ~/.config/systemd/user/service.service
  systemctl --user daemon-reload && systemctl --user start service

Options:
  --name NAME              the service's name (default: the app file's name without extension)
  --shutdown-timeout MS    passed to troupe run (default ${DEFAULT_SHUTDOWN_TIMEOUT_MS} ms)
  --user                   a user unit (WantedBy=default.target instead of multi-user.target)
  --max-semi-space MIB     runs the service with V8's --max-semi-space-size=MIB, which bounds the
                           young generation of each of its isolates (the main thread, every worker
                           actor, and process actors, which inherit it): RSS stays flat instead of
                           climbing for its first 15 minutes or so, at some cost in throughput
                           (see the README's "Soak"); default: V8's own sizing
  -h, --help               show this help

Exit codes: 0 printed, 2 usage error.
`;

/** What systemd waits past the shutdown timeout before it kills the service: startup of the stop, the report. */
export const STOP_MARGIN_MS = 5000;

/** The settings of a printed unit. */
export interface UnitOptions {
  /** The app module's absolute path (or URL). */
  app: string;
  /** The service's name. */
  name: string;
  /** The shutdown timeout `troupe run` gets, in ms. */
  timeout: number;
  /** A user unit. */
  user: boolean;
  /** The deno executable. */
  deno: string;
  /** The CLI's entry (`cli/mod.ts` as a path, or its URL). */
  cli: string;
  /** V8's `--max-semi-space-size` in MiB; unset (or 0) leaves V8's default. */
  semiSpaceMiB?: number;
}

/** Quotes an ExecStart argument for systemd when it needs it. */
function quote(arg: string): string {
  const escaped = arg.replaceAll("%", "%%").replaceAll("$", "$$");
  if (!/[\s"'\\;]/.test(escaped)) return escaped;
  return `"${escaped.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** Renders the unit file. */
export function renderUnit(options: UnitOptions): string {
  const exec = [
    options.deno,
    "run",
    "-A",
    ...(options.semiSpaceMiB ? [`--v8-flags=--max-semi-space-size=${options.semiSpaceMiB}`] : []),
    options.cli,
    "run",
    "--name",
    options.name,
    "--shutdown-timeout",
    `${options.timeout}ms`,
    options.app,
  ].map(quote).join(" ");
  const cwd = options.app.startsWith("/") ? dirname(options.app) : undefined;
  return [
    "[Unit]",
    `Description=Troupe service ${options.name} (${options.app})`,
    "After=network.target",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${exec}`,
    ...(cwd ? [`WorkingDirectory=${cwd.replaceAll("%", "%%")}`] : []),
    "Environment=NO_COLOR=1",
    "Restart=on-failure",
    "RestartSec=1",
    "KillMode=mixed",
    "KillSignal=SIGTERM",
    `TimeoutStopSec=${Math.ceil((options.timeout + STOP_MARGIN_MS) / 1000)}`,
    "",
    "[Install]",
    `WantedBy=${options.user ? "default.target" : "multi-user.target"}`,
    "",
  ].join("\n");
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
    "max-semi-space": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    writeOut(UNIT_HELP);
    return Promise.resolve(EXIT.ok);
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      "unit",
      `expected one app module, received ${positionals.length}${
        positionals.length ? `: ${positionals.join(" ")}` : ""
      }`,
    );
  }
  const given = positionals[0]!;
  const remote = /^[a-z][a-z0-9+.-]*:/i.test(given) && !given.startsWith("file:");
  const app = remote ? given : resolve(given.startsWith("file:") ? fileURLToPath(given) : given);
  const file = app.split("/").pop()!.replace(/\.[^.]*$/, "") || "app";
  const name = checkName("unit", values.name ?? file);
  const timeout = values["shutdown-timeout"] === undefined
    ? DEFAULT_SHUTDOWN_TIMEOUT_MS
    : parseDuration("unit", "shutdown-timeout", values["shutdown-timeout"]);
  const semi = values["max-semi-space"];
  if (semi !== undefined && (!/^\d+$/.test(semi) || Number(semi) < 1 || Number(semi) > 1024)) {
    throw new UsageError(
      "unit",
      `--max-semi-space must be a whole number of MiB from 1 to 1024, received ${semi}`,
    );
  }
  // The CLI's entry next to this file (not an import: main.ts imports this file).
  const entry = new URL("mod.ts", new URL("./", import.meta.url));
  writeOut(renderUnit({
    app,
    name,
    timeout,
    user: values.user === true,
    deno: Deno.execPath(),
    cli: entry.protocol === "file:" ? fileURLToPath(entry) : entry.href,
    semiSpaceMiB: semi === undefined ? undefined : Number(semi),
  }));
  return Promise.resolve(EXIT.ok);
}
