/**
 * The options an `ActorSystem` starts with, and the counters its `stats()`
 * gives back.
 *
 * @module
 */

import type { TransportFactory } from "../../transports/transport.ts";
import type { DeadLetter } from "../core/actor_ref.ts";

/**
 * Settings of a system's telemetry (`SystemOptions.telemetry`).
 *
 * @example Trace every tell, not only those sent inside a trace
 * ```ts
 * import { ActorSystem } from "@troupe/troupe";
 *
 * await using system = await ActorSystem.start({ telemetry: { tells: "all" } });
 * ```
 */
export interface TelemetryOptions {
  /**
   * Which tells get spans. `"in-trace"` (the default): a tell sent while a
   * span is active gets a producer span in that trace, and its handler a
   * consumer span linked to it; a tell outside any trace gets none. `"all"`:
   * a tell outside any trace gets a producer span too, as the root of a
   * trace of its own. Two spans per tell cost most of a tell's time (the
   * README's "Telemetry" has the figures).
   */
  tells?: "in-trace" | "all";
}

/** Options of `ActorSystem.start`. */
export interface SystemOptions {
  /**
   * Transports selectable by name in `spawn`, in addition to the built-in
   * ones (`"queue"`, `"pipe"`, `"ring"`, `"socket"`); one with a built-in name replaces it.
   */
  transports?: readonly TransportFactory[];
  /** Called for every message that could not be delivered (they are also counted in `stats()`). */
  onDeadLetter?: (letter: DeadLetter) => void;
  /**
   * Milliseconds between an actor's heartbeats; an actor that sends none for
   * three of the watchdog's ticks (one per interval) while not inside a
   * handler is declared dead. The ticks run on the parent's thread, so a
   * parent that is itself stalled holds no actor's silence against it. Default 1000;
   * 0 turns the watchdog off. Process actors need none: their exit is seen.
   */
  heartbeatMs?: number;
  /**
   * Whether Deno runs with `--unstable-worker-options`, which worker actors
   * with `permissions` need. Detected from the command line by default; set
   * it when the option comes from deno.json's `"unstable"` list instead.
   */
  unstableWorkerOptions?: boolean;
  /**
   * What to do when a worker actor's thread outlives its termination (it
   * spins in synchronous code, which Deno cannot stop, so the process could
   * never exit on its own). The actor is named on stderr either way. With
   * `true` (the default) the process exits with code 1 once the system has
   * shut down and the main module has finished, instead of hanging; with
   * `false` it keeps running until `Deno.exit()`.
   */
  exitOnLeak?: boolean;
  /**
   * OpenTelemetry traces and metrics, through Deno's built-in exporter (see
   * the README's "Telemetry"). On by default when the environment has
   * `OTEL_DENO=true` (Deno then exports what `npm:@opentelemetry/api`
   * records); `false` keeps the system silent even then. When off, nothing
   * of it is loaded and messages carry no trace context. Settings
   * ({@linkcode TelemetryOptions}) turn it on as `true` does.
   */
  telemetry?: boolean | TelemetryOptions;
  /**
   * Where the log lines of every actor whose spawn names no `onLog` go (see
   * `SpawnOptions.onLog`): a process actor's output, and a worker or thread
   * actor's `console` and `Deno.stdout` / `Deno.stderr` writes, which
   * otherwise go straight to the process's stdout and stderr. `troupe run` sets it, so those lines never land in the middle of
   * its progress bar.
   */
  onLog?: (line: string, stream: "stdout" | "stderr", id: string) => void;
}

/** Counters of a whole system. */
export interface SystemStats {
  /** Actors running now. */
  actors: number;
  /** Actors ever spawned. */
  spawned: number;
  /** Actors that ended, by reason. */
  exits: Record<string, number>;
  /** Messages that could not be delivered. */
  deadLetters: number;
  /** Lifecycle events so far, by type (`started`, `crashed`, `restarted`, ...). */
  events: Record<string, number>;
  /**
   * Events a subscriber of `events()` missed because it left 10,000 unread:
   * a reader that falls that far behind loses the newest, counted here.
   */
  eventsDropped: number;
  /** Supervisors running now. */
  supervisors: number;
  /**
   * Worker actors terminated inside a handler, whose threads may still run
   * (a synchronous loop cannot be stopped; see `ActorExit.leaked`).
   */
  leaked: number;
}
