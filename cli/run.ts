/**
 * `troupe run <app.ts>`: starts the supervision tree an app module exports,
 * prints its lifecycle events, serves a control socket, and stops through the
 * actors' sentinels on SIGINT, SIGTERM or `troupe stop`.
 *
 * @module
 */

import {
  type ActorStats,
  ActorSystem,
  type LifecycleEvent,
  type ShutdownResult,
  type Supervisor,
} from "../mod.ts";
import type { AppContext, AppMain, AppModule } from "./app.ts";
import { EXIT } from "./_args.ts";
import { ControlServer } from "./_control.ts";
import { isLoopback, type ObserveAddress, Observer } from "./_observe.ts";
import { errorData, errorText, type Output } from "./_output.ts";
import { Logbook } from "./_logbook.ts";
import { formatDuration, plural } from "./_table.ts";
import { capShutdown, loadApp } from "./_app_module.ts";
import { Rates } from "./_rates.ts";
import {
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  RUN_HELP,
  runOptions,
  type ServiceOptions,
} from "./_run_options.ts";
import {
  exitCode,
  forcedExitCode,
  listenForStopSignals,
  sayStopped,
  sayStopping,
  saySummary,
  type StopRequest,
} from "./_stop_request.ts";
import { settleWithin } from "../internal/abort.ts";
import { signalClassifier } from "../internal/signal_echo.ts";

export { DEFAULT_SHUTDOWN_TIMEOUT_MS, RUN_HELP };

/** Extra time past the deadline for the terminations themselves. */
const DEADLINE_GRACE_MS = 2000;
/** How long a stopped service waits for `main` to return before it exits anyway. */
const MAIN_GRACE_MS = 1000;

/**
 * Runs `troupe run` with the arguments after `run`.
 *
 * @param args The command line after `run`.
 * @returns The exit code.
 * @throws {UsageError} When the command line is wrong.
 */
export async function runCommand(args: string[]): Promise<number> {
  const options = runOptions(args);
  if (options === undefined) return EXIT.ok;
  return await new Service(options).run();
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
  #rates = new Rates();

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
      // Actors' log lines (a worker's console, a process actor's output) go through the output,
      // above the progress bar, unless the app routes them itself.
      const onLog = (line: string, stream: "stdout" | "stderr", id: string) =>
        out.actorLog(id, line, stream);
      system = await ActorSystem.start({ onLog, ...module.options });
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
    const unlisten = listenForStopSignals((signal) => this.#onSignal(signal));
    const sampler = setInterval(() => this.#sample(), 1000);
    try {
      await this.#start(system, module);
      const request = await this.#stopRequested;
      return await this.#shutdown(system, request, pump);
    } finally {
      clearInterval(sampler);
      unlisten();
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
    Deno.exit(forcedExitCode(signal));
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
    sayStopping(out, request, timeout);
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
    if (request.kind === "done") {
      saySummary(out, request, result, { restarts: this.#restarts, crashes: this.#crashes });
    }
    this.#stopped = true;
    await this.#observer?.close();
    const code = exitCode(request, result);
    sayStopped(out, request, result, code, performance.now() - began);
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

  async #pump(events: AsyncIterableIterator<LifecycleEvent>): Promise<void> {
    for await (const event of events) {
      if (event.type === "restarted") this.#restarts++;
      if (event.type === "crashed") this.#crashes++;
      this.#out.event(event);
    }
  }

  /** Messages per second per actor over the last second. */
  #sample(): void {
    this.#rates.sample(this.#system?.actors() ?? []);
  }

  #status(): unknown {
    const system = this.#system!;
    const now = performance.now();
    const actors: (ActorStats & { rate: number })[] = system.actors().map((actor) => ({
      ...actor,
      rate: this.#rates.rate(actor, now),
    }));
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
