/**
 * `troupe run <app.ts>`: starts the supervision tree an app module exports,
 * prints its lifecycle events, serves a control socket, and stops through the
 * actors' sentinels on SIGINT, SIGTERM or `troupe stop`.
 *
 * @module
 */

import { basename, extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  type ActorStats,
  ActorSystem,
  type ChildSpec,
  type LifecycleEvent,
  type ShutdownResult,
  type Supervisor,
  type SupervisorSpec,
} from "../mod.ts";
import type { AppContext, AppMain, AppModule, AppResult, AppTree } from "./app.ts";
import { checkName, EXIT, parse, parseDuration, UsageError, writeOut } from "./_args.ts";
import { controlPath, ControlServer } from "./_control.ts";
import {
  isLoopback,
  looksLikeAddress,
  type ObserveAddress,
  Observer,
  parseAddress,
} from "./_observe.ts";
import { errorData, errorText, Output } from "./_output.ts";
import { Logbook } from "./_logbook.ts";
import { splitAppArgs } from "./_app_args.ts";
import { formatCount, formatDuration, formatRate, plural } from "./_table.ts";
import { settleWithin } from "../internal/abort.ts";
import { signalClassifier } from "../internal/signal_echo.ts";

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

/** Extra time past the deadline for the terminations themselves. */
const DEADLINE_GRACE_MS = 2000;
/** How long a stopped service waits for `main` to return before it exits anyway. */
const MAIN_GRACE_MS = 1000;
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5000;
const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGTERM: 15 };

/**
 * Runs `troupe run` with the arguments after `run`.
 *
 * @param args The command line after `run`.
 * @returns The exit code.
 * @throws {UsageError} When the command line is wrong.
 */
export async function runCommand(args: string[]): Promise<number> {
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
    return EXIT.ok;
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
  const service = new Service({
    url,
    display,
    name,
    control: values.control === undefined ? controlPath(name) : resolve(values.control),
    timeout,
    out: new Output(values.json === true),
    observe,
    metrics: values.metrics === true,
    args: appArgs,
  });
  return await service.run();
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

/** Why the service stops. */
type StopRequest =
  | { kind: "done"; result: AppResult | undefined; elapsedMs: number }
  | { kind: "failed"; message: string; error: unknown }
  | { kind: "signal"; signal: Deno.Signal }
  | { kind: "control"; timeout: number | undefined };

interface ServiceOptions {
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

class Service {
  #options: ServiceOptions;
  #out: Output;
  #logbook = new Logbook();
  #state: "starting" | "running" | "stopping" = "starting";
  #started = Date.now();
  #request: StopRequest | undefined;
  #signals = signalClassifier();
  #requested!: (request: StopRequest) => void;
  #stopRequested = new Promise<StopRequest>((resolve) => this.#requested = resolve);
  #abort = new AbortController();
  /** Settles when `main` has returned or thrown (resolved at once when there is none). */
  #mainSettled: Promise<void> = Promise.resolve();
  #server: ControlServer | undefined;
  #observer: Observer | undefined;
  #stopped = false;
  #system: ActorSystem | undefined;
  #restarts = 0;
  #crashes = 0;
  #rates = new Map<string, number>();
  #samples = new Map<string, { handled: number; time: number }>();

  constructor(options: ServiceOptions) {
    this.#options = options;
    this.#out = options.out;
    options.out.tap = (line) => this.#logbook.add(line);
  }

  async run(): Promise<number> {
    const { out, display } = this.#options;
    let module: AppModule;
    try {
      module = await loadApp(this.#options.url, display);
    } catch (error) {
      out.error(`troupe: ${errorText(error)}`, { type: "error", ...errorData(error) });
      return EXIT.failed;
    }
    let system: ActorSystem;
    try {
      system = await ActorSystem.start(module.options ?? {});
    } catch (error) {
      out.error(`troupe: cannot start the actor system: ${errorText(error)}`, {
        type: "error",
        ...errorData(error),
      });
      return EXIT.failed;
    }
    this.#system = system;
    const pump = this.#pump(system.events());
    try {
      this.#server = await ControlServer.listen(this.#options.control, {
        hello: () => ({
          name: this.#options.name,
          pid: Deno.pid,
          app: this.#options.url.href,
          started: this.#started,
          shutdownTimeout: this.#options.timeout,
        }),
        status: () => this.#status(),
        stop: (timeout) => this.#stop({ kind: "control", timeout }),
        logs: (count) => this.#logbook.last(count),
        follow: (follower) => this.#logbook.follow(follower),
        restart: async (actor) => {
          await system.restart(actor);
          return { restarted: actor };
        },
      });
    } catch (error) {
      out.error(`troupe: cannot serve the control socket: ${errorText(error)}`, {
        type: "error",
        ...errorData(error),
      });
      await system.shutdown({ timeout: this.#options.timeout });
      await pump;
      return EXIT.failed;
    }
    if (this.#options.observe) {
      try {
        this.#observer = await this.#observe(system, this.#options.observe);
      } catch (error) {
        out.error(`troupe: cannot serve the observer: ${errorText(error)}`, {
          type: "error",
          ...errorData(error),
        });
        await system.shutdown({ timeout: this.#options.timeout });
        await pump;
        await this.#server?.finish({ clean: true, exitCode: EXIT.failed });
        return EXIT.failed;
      }
    }
    const onSignal = (signal: Deno.Signal) => () => this.#onSignal(signal);
    const handlers = (["SIGINT", "SIGTERM"] as const).map((signal) => {
      const handler = onSignal(signal);
      Deno.addSignalListener(signal, handler);
      return [signal, handler] as const;
    });
    const sampler = setInterval(() => this.#sample(), 1000);
    try {
      await this.#start(system, module);
      const request = await this.#stopRequested;
      return await this.#shutdown(system, request, pump);
    } finally {
      clearInterval(sampler);
      for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    }
  }

  async #observe(system: ActorSystem, address: ObserveAddress): Promise<Observer> {
    const { out, name } = this.#options;
    const observer = await Observer.start({
      ...address,
      system,
      metrics: this.#options.metrics,
      service: () => ({
        name,
        pid: Deno.pid,
        app: this.#options.url.href,
        state: this.#stopped ? "stopped" : this.#state,
        started: this.#started,
      }),
    });
    out.say(`troupe: observer at ${observer.url}`, {
      type: "observer",
      url: observer.url,
      hostname: observer.hostname,
      port: observer.port,
      ...(this.#options.metrics ? { metrics: observer.metricsUrl } : {}),
    });
    if (this.#options.metrics) {
      out.say(`troupe: metrics at ${observer.metricsUrl}`, {
        type: "metrics",
        url: observer.metricsUrl,
      });
    }
    if (!isLoopback(observer.hostname)) {
      out.error(
        `troupe: warning: the observer listens on ${observer.hostname}, not on loopback: anyone who can reach it and has the token sees every actor and crash stack`,
        { type: "warning", message: "observer not on loopback", hostname: observer.hostname },
      );
    }
    return observer;
  }

  async #start(system: ActorSystem, module: AppModule): Promise<void> {
    const { out, name, timeout } = this.#options;
    let root: Supervisor;
    try {
      const spec = typeof module.app === "function" ? await module.app(system) : module.app;
      this.#observer?.addSpec(spec);
      root = await system.supervise(capShutdown(spec, timeout));
    } catch (error) {
      this.#stop({ kind: "failed", message: "cannot start the supervision tree", error });
      return;
    }
    if (this.#request) return; // a signal came while the tree was starting
    this.#state = "running";
    this.#sample(); // the baseline of the first second's rates
    const count = system.actors().length;
    out.say(
      `troupe: running ${name} (pid ${Deno.pid}, ${plural(count, "actor")}); control socket ${
        this.#server!.path
      }`,
      {
        type: "service-running",
        name,
        pid: Deno.pid,
        actors: count,
        control: this.#server!.path,
        app: this.#options.url.href,
      },
    );
    root.done.catch((error) =>
      this.#stop({ kind: "failed", message: `supervisor ${root.id} gave up`, error })
    );
    if (module.main) this.#main(module.main, system, root);
  }

  #main(main: AppMain, system: ActorSystem, root: Supervisor): void {
    const out = this.#out;
    const context: AppContext = {
      signal: this.#abort.signal,
      progress: (update) => {
        if (this.#state !== "stopping") out.progress(update);
      },
      log: (message) => out.say(message, { type: "log", message }),
      args: this.#options.args,
    };
    const started = performance.now();
    this.#mainSettled = Promise.resolve()
      .then(() => main(system, root, context))
      .then(
        (result) =>
          this.#stop({
            kind: "done",
            result: typeof result === "object" && result !== null ? result : undefined,
            elapsedMs: performance.now() - started,
          }),
        (error) => this.#stop({ kind: "failed", message: "main failed", error }),
      );
  }

  /** Asks the service to stop; the first request wins. */
  #stop(request: StopRequest): void {
    if (this.#request) return;
    this.#request = request;
    this.#abort.abort(new DOMException("The service is stopping", "AbortError"));
    this.#requested(request);
  }

  #onSignal(signal: Deno.Signal): void {
    const meaning = this.#signals();
    if (!this.#request) {
      this.#stop({ kind: "signal", signal });
      return;
    }
    // One Ctrl-C under `deno task` arrives twice, a millisecond apart.
    if (meaning === "echo") return;
    // A second signal, or a signal after another kind of stop began: force it.
    const out = this.#out;
    out.endProgress();
    out.say(`troupe: ${signal} again, forcing the stop`, { type: "service-forced", signal });
    this.#server?.closeSync();
    Deno.exit(128 + (SIGNAL_NUMBERS[signal] ?? 15));
  }

  async #shutdown(
    system: ActorSystem,
    request: StopRequest,
    pump: Promise<void>,
  ): Promise<number> {
    const out = this.#out;
    this.#state = "stopping";
    const timeout = request.kind === "control" && request.timeout !== undefined
      ? request.timeout
      : this.#options.timeout;
    out.endProgress();
    switch (request.kind) {
      case "done":
        out.say(`troupe: main finished, stopping`, { type: "service-stopping", reason: "done" });
        break;
      case "failed":
        out.error(`troupe: ${request.message}: ${errorText(request.error)}`, {
          type: "error",
          message: request.message,
          error: errorData(request.error),
        });
        out.say(`troupe: stopping`, { type: "service-stopping", reason: "failed" });
        break;
      case "signal":
        out.say(
          `troupe: ${request.signal} received, stopping within ${
            formatDuration(timeout)
          } (send it again to force)`,
          { type: "service-stopping", reason: "signal", signal: request.signal, timeout },
        );
        break;
      case "control":
        out.say(
          `troupe: stop requested on the control socket, stopping within ${
            formatDuration(timeout)
          }`,
          { type: "service-stopping", reason: "control", timeout },
        );
        break;
    }
    const began = performance.now();
    const deadline = setTimeout(() => this.#deadlinePassed(timeout), timeout + DEADLINE_GRACE_MS);
    let result: ShutdownResult;
    try {
      result = await system.shutdown({ timeout });
    } finally {
      clearTimeout(deadline);
    }
    await pump;
    // Stopped from outside while main still ran: its actors are gone, so it ends soon; let its
    // finally blocks (temporary files) run, but do not wait for a main that ignores its signal.
    await settleWithin(this.#mainSettled, MAIN_GRACE_MS);
    if (request.kind === "done") this.#summary(request, result);
    this.#stopped = true;
    await this.#observer?.close();
    const code = exitCode(request, result);
    const took = formatDuration(performance.now() - began);
    const data = {
      type: "service-stopped",
      clean: result.clean,
      stopped: result.stopped,
      terminated: result.terminated,
      leaked: result.leaked,
      failed: result.failed,
      exitCode: code,
    };
    if (result.clean) {
      const how = request.kind === "failed" ? "after the failure" : "cleanly";
      out.say(
        `troupe: stopped ${how} in ${took} (${plural(result.stopped.length, "actor")} stopped)`,
        data,
      );
    } else {
      const parts = [
        result.terminated.length > 0 ? `terminated ${result.terminated.join(", ")}` : "",
        result.leaked.length > 0 ? `leaked ${result.leaked.join(", ")}` : "",
        result.failed.length > 0 ? `failed ${result.failed.join(", ")}` : "",
      ].filter(Boolean);
      out.say(`troupe: stopped in ${took}, not cleanly: ${parts.join("; ")}`, data);
    }
    await this.#server?.finish({
      clean: result.clean,
      exitCode: code,
      stopped: result.stopped,
      terminated: result.terminated,
      leaked: result.leaked,
      failed: result.failed,
    });
    return code;
  }

  #deadlinePassed(timeout: number): void {
    const still = this.#system?.actors().map((a) => a.id) ?? [];
    this.#out.error(
      `troupe: the stop deadline (${formatDuration(timeout)}) passed; still running: ${
        still.join(", ") || "none"
      }; exiting`,
      { type: "service-deadline", timeout, running: still },
    );
    this.#server?.closeSync();
    Deno.exit(EXIT.failed);
  }

  #summary(request: Extract<StopRequest, { kind: "done" }>, result: ShutdownResult): void {
    const app = request.result ?? {};
    const unit = app.unit ?? "items";
    const seconds = request.elapsedMs / 1000;
    const items = app.items;
    const rate = items !== undefined && seconds > 0 ? items / seconds : undefined;
    const work = items === undefined
      ? `finished in ${formatDuration(request.elapsedMs)}`
      : `${formatCount(items)} ${unit} in ${formatDuration(request.elapsedMs)} (${
        formatRate(rate ?? 0)
      } ${unit}/s)`;
    const text = [
      `summary: ${work}, ${plural(this.#restarts, "restart")}, ${
        plural(this.#crashes, "crash", "crashes")
      }`,
      ...Object.entries(app.details ?? {}).map(([key, value]) =>
        `  ${key}: ${typeof value === "number" ? formatCount(value) : String(value)}`
      ),
    ].join("\n");
    this.#out.say(text, {
      type: "summary",
      ...(items !== undefined ? { items, unit, rate: Math.round(rate ?? 0) } : {}),
      elapsedMs: Math.round(request.elapsedMs),
      restarts: this.#restarts,
      crashes: this.#crashes,
      clean: result.clean,
      ...(app.details ? { details: app.details } : {}),
    });
  }

  async #pump(events: AsyncIterableIterator<LifecycleEvent>): Promise<void> {
    for await (const event of events) {
      if (event.type === "restarted") this.#restarts++;
      if (event.type === "crashed") this.#crashes++;
      this.#out.event(event);
    }
  }

  /** Messages per second per actor over the last second. */
  #sample(): void {
    const now = performance.now();
    const actors = this.#system?.actors() ?? [];
    const seen = new Set<string>();
    for (const actor of actors) {
      seen.add(actor.id);
      const before = this.#samples.get(actor.id);
      if (before) {
        // A restarted actor counts from zero again.
        const delta = actor.handled >= before.handled
          ? actor.handled - before.handled
          : actor.handled;
        this.#rates.set(actor.id, (delta * 1000) / Math.max(1, now - before.time));
      }
      this.#samples.set(actor.id, { handled: actor.handled, time: now });
    }
    for (const id of this.#samples.keys()) {
      if (!seen.has(id)) {
        this.#samples.delete(id);
        this.#rates.delete(id);
      }
    }
  }

  #status(): unknown {
    const system = this.#system!;
    const now = performance.now();
    const actors: (ActorStats & { rate: number })[] = system.actors().map((actor) => {
      let rate = this.#rates.get(actor.id);
      const sample = this.#samples.get(actor.id);
      if (
        rate === undefined && sample && now - sample.time >= 250 && actor.handled >= sample.handled
      ) {
        // No full second yet: the rate since the first sample.
        rate = ((actor.handled - sample.handled) * 1000) / (now - sample.time);
      }
      return { ...actor, rate: Math.round((rate ?? 0) * 10) / 10 };
    });
    return {
      name: this.#options.name,
      pid: Deno.pid,
      app: this.#options.url.href,
      state: this.#state,
      started: this.#started,
      uptimeMs: Date.now() - this.#started,
      stats: system.stats(),
      actors,
      tree: system.tree(),
    };
  }
}

function exitCode(request: StopRequest, result: ShutdownResult): number {
  if (request.kind === "failed") return EXIT.failed;
  if (request.kind === "signal" && request.signal === "SIGINT") return EXIT.interrupted;
  return result.clean ? EXIT.ok : EXIT.failed;
}

/** Loads and checks an app module. */
async function loadApp(url: URL, display: string): Promise<AppModule> {
  if (url.protocol === "file:") {
    try {
      await Deno.stat(url);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new Error(`cannot find the app module ${display}`);
      }
      throw error;
    }
  }
  let module: Record<string, unknown>;
  try {
    module = await import(url.href);
  } catch (error) {
    throw new Error(`cannot load the app module ${display}`, { cause: error });
  }
  const app = module.app as AppTree | undefined;
  if (app === undefined) {
    const exports = Object.keys(module);
    throw new Error(
      `the app module ${display} exports no \`app\` (it exports ${
        exports.length > 0 ? exports.join(", ") : "nothing"
      }); export its supervision tree: export const app: SupervisorSpec = { id: "root", children: [...] }`,
    );
  }
  const isSpec = typeof app === "object" && app !== null &&
    Array.isArray((app as SupervisorSpec).children);
  if (!isSpec && typeof app !== "function") {
    throw new Error(
      `the app module ${display} exports an \`app\` that is neither a supervisor spec ({ id, children }) nor a function returning one`,
    );
  }
  if (module.main !== undefined && typeof module.main !== "function") {
    throw new Error(`the app module ${display} exports a \`main\` that is not a function`);
  }
  if (
    module.options !== undefined && (typeof module.options !== "object" || module.options === null)
  ) {
    throw new Error(`the app module ${display} exports \`options\` that are not an object`);
  }
  return module as unknown as AppModule;
}

/** The tree with every actor's stop deadline capped at the service's. */
function capShutdown(spec: SupervisorSpec, timeout: number): SupervisorSpec {
  if (!Array.isArray(spec?.children)) return spec; // supervise() says what is wrong with it
  return {
    ...spec,
    children: spec.children.map((child) =>
      Array.isArray((child as SupervisorSpec).children)
        ? capShutdown(child as SupervisorSpec, timeout)
        : {
          ...(child as ChildSpec),
          shutdown: Math.min((child as ChildSpec).shutdown ?? DEFAULT_SHUTDOWN_TIMEOUT_MS, timeout),
        }
    ),
  };
}
