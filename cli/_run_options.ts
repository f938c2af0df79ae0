// The command line of `troupe run`: its help, its options, and the service's
// settings they make (the app module's URL, the service's name, its control
// socket, the stop deadline, the observer's address).

import { basename, extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { checkName, parse, parseDuration, UsageError, writeOut } from "./_args.ts";
import { controlPath } from "./_control.ts";
import { looksLikeAddress, type ObserveAddress, parseAddress } from "./_observe.ts";
import { Output } from "./_output.ts";
import { splitAppArgs } from "./_app_args.ts";

/** The help text of `troupe run`. */
export const RUN_HELP = `Usage: troupe run [options] <app.ts> [app arguments]

Starts the supervision tree that app.ts exports as \`app\` and prints one line per lifecycle
event (started, crashed, restarted, stopped, gave-up, permits-recovered). While it runs, a control
socket serves \`troupe status\` and \`troupe stop\`.

When app.ts also exports \`main(system, root, context)\`, main runs once the tree is up; when it
resolves, the service stops cleanly, prints a summary and exits 0. Without main, the service runs
until it is stopped. Arguments after app.ts that are not options of troupe run are the app's
(context.args in main). SIGINT or SIGTERM stops it through every actor's sentinel (each drains its
mailbox and runs its stop hook); a second signal, 500 ms or more after the first, forces it.

Options:
  --json                   print one JSON object per line instead of text
  --shutdown-timeout MS    how long a graceful stop may take: each actor of the tree gets at most
                           this long to stop before it is terminated, and past it the service
                           exits with code 1 (default 5000; 500ms and 5s work too)
  --name NAME              the service's name, which names its control socket
                           (default: the app file's name without its extension)
  --control PATH           the control socket (default: <state dir>/<name>.sock)
  --observe [HOST:PORT]    serve a live page of the supervision tree (actors, mailboxes, messages
                           per second, restarts, crashes with their stacks); default 127.0.0.1 and
                           a free port. It prints the page's URL with its access token: every
                           request without that token is refused
  --metrics                also serve the same figures in the Prometheus text format at /metrics
                           (on the --observe server; alone, it starts one at the default address)
  -h, --help               show this help

The state dir is $XDG_RUNTIME_DIR/troupe, or \${TMPDIR:-/tmp}/troupe-<uid> without it: created
mode 0700, and refused if other users can enter it; the socket is mode 0600.

Exit codes:
  0    main finished, or the service was stopped (SIGTERM, troupe stop), and every actor stopped
       cleanly
  1    the app did not load or start, main threw, a supervisor gave up, an actor had to be
       terminated, or the stop deadline passed
  2    usage error
  130  stopped by Ctrl-C (SIGINT); a second signal exits with 128 + its number (130, 143)

The observer's token is random for each run, or $TROUPE_OBSERVER_TOKEN when set (16 characters
or more, for a scrape config); send it as ?token=... or "Authorization: Bearer ...". Bind it to
another address than loopback only behind a proxy you trust: anyone with the URL sees the actors,
their messages' names and the crashes' stacks.

Example:
  troupe run examples/demo_app.ts
  troupe run --observe --metrics examples/demo_app.ts
  troupe run --json --shutdown-timeout 10s service.ts > events.ndjson
`;

/** How long a graceful stop may take when `--shutdown-timeout` is not given. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5000;

/** What `troupe run` was asked to run, and how. */
export interface ServiceOptions {
  url: URL;
  display: string;
  name: string;
  control: string;
  timeout: number;
  out: Output;
  /** Where the observer listens, when asked for (`--observe`, `--metrics`). */
  observe: ObserveAddress | undefined;
  metrics: boolean;
  /** The app's arguments (after the app module). */
  args: string[];
}

/**
 * Parses the command line after `run`.
 *
 * @returns The service's settings, or `undefined` when `--help` printed the help.
 * @throws {UsageError} When the command line is wrong.
 */
export function runOptions(args: string[]): ServiceOptions | undefined {
  const { own, app: appArgs } = splitAppArgs(args);
  const { values, positionals } = parse("run", observeValue(own), {
    json: { type: "boolean" },
    observe: { type: "string" },
    metrics: { type: "boolean" },
    "shutdown-timeout": { type: "string" },
    name: { type: "string" },
    control: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    writeOut(RUN_HELP);
    return undefined;
  }
  if (positionals.length === 0) {
    throw new UsageError("run", "missing the app module: troupe run <app.ts>");
  }
  if (positionals.length > 1) {
    throw new UsageError(
      "run",
      `expected one app module, received ${positionals.length}: ${positionals.join(" ")}`,
    );
  }
  const timeout = values["shutdown-timeout"] === undefined
    ? DEFAULT_SHUTDOWN_TIMEOUT_MS
    : parseDuration("run", "shutdown-timeout", values["shutdown-timeout"]);
  const observe = values.observe !== undefined || values.metrics
    ? parseAddress(values.observe ?? "")
    : undefined;
  const display = positionals[0]!;
  const url = appUrl(display);
  const name = checkName("run", values.name ?? defaultName(url));
  return {
    url,
    display,
    name,
    control: values.control === undefined ? controlPath(name) : resolve(values.control),
    timeout,
    out: new Output(values.json === true),
    observe,
    metrics: values.metrics === true,
    args: appArgs,
  };
}

/** The options of `troupe run` that take a value in the next argument. */
const VALUE_OPTIONS = new Set(["--shutdown-timeout", "--name", "--control"]);

/**
 * `--observe` takes an optional value, which parseArgs cannot express: a bare
 * `--observe` becomes `--observe=`, and `--observe 8080` (a value that looks
 * like an address, never the app module) becomes `--observe=8080`. A `--`
 * after the app module is dropped: `deno task demo -- --observe` passes it on
 * (before the app module it keeps its meaning, the end of the options).
 */
function observeValue(args: string[]): string[] {
  const out: string[] = [];
  let app = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      if (app) continue;
      out.push(...args.slice(i));
      break;
    }
    if (arg !== "--observe") {
      out.push(arg);
      if (VALUE_OPTIONS.has(arg) && i + 1 < args.length) out.push(args[++i]!);
      else if (!arg.startsWith("-")) app = true;
      continue;
    }
    const next = args[i + 1];
    if (next !== undefined && looksLikeAddress(next)) {
      out.push(`--observe=${next}`);
      i++;
    } else {
      out.push("--observe=");
    }
  }
  return out;
}

function appUrl(path: string): URL {
  if (/^(file|https?|jsr|npm):/i.test(path)) return new URL(path);
  return pathToFileURL(resolve(path));
}

function defaultName(url: URL): string {
  const file = basename(decodeURIComponent(url.pathname));
  const stem = file.slice(0, file.length - extname(file).length) || "app";
  return stem.replace(/[^A-Za-z0-9._-]/g, "-").replace(/^[^A-Za-z0-9]+/, "").slice(0, 64) ||
    "app";
}
