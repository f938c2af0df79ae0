// The end of an actor system: the graceful shutdown (supervisors first, then
// every actor through its sentinel, within a deadline), the forced one (every
// actor terminated at once), and the signal handlers that start one, then the
// other, and exit the process.

import type { ActorExit } from "../core/actor_ref.ts";
import type { ActorCell } from "../core/cell.ts";
import type { SupervisorRuntime } from "../supervision/supervisor.ts";
import type { ShutdownResult, SignalShutdownOptions } from "./shutdown_options.ts";
import { signalClassifier } from "../../internal/signal_echo.ts";
import { sequentialCaps } from "../../internal/abort.ts";

const SIGNAL_NUMBERS: Partial<Record<Deno.Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGTERM: 15,
};

/** What a shutdown stops, and what it ends once they are stopped. */
export interface ShutdownTargets {
  /** The running supervisors, oldest first. */
  readonly supervisors: readonly SupervisorRuntime[];
  /** The running actors, supervised ones included. */
  cells(): Iterable<ActorCell>;
  /** Ends what outlives the actors: the watchdog, pending timers, the event streams. */
  close(): void;
}

/**
 * Stops every supervisor (newest first, each stopping its children in
 * reverse order), then every other actor through its sentinel, in parallel,
 * all out of one deadline `timeout` ms away; actors still stopping when it
 * passes are terminated.
 *
 * @param targets What to stop.
 * @param timeout Milliseconds the whole shutdown may take.
 * @returns What happened to each actor.
 */
export async function shutDown(targets: ShutdownTargets, timeout: number): Promise<ShutdownResult> {
  const cells = [...targets.cells()];
  // Supervisors first, newest first: each stops its children in reverse order.
  // Then the rest at once, as one more step of the one deadline.
  const supervisors = targets.supervisors.slice().reverse();
  const capOf = sequentialCaps(timeout, supervisors.length + 1);
  for (const [index, runtime] of supervisors.entries()) await runtime.stop(capOf(index));
  const last = capOf(supervisors.length);
  const exits = await Promise.all(cells.map((cell) => cell.stop(last)));
  targets.close();
  return summarize(exits);
}

/**
 * Terminates every actor now, without waiting for sentinels; no supervisor
 * restarts them.
 *
 * @param targets What to stop.
 */
export function forceStop(targets: ShutdownTargets): void {
  for (const runtime of targets.supervisors) runtime.stopped = true;
  for (const cell of targets.cells()) cell.kill(new Error("forced shutdown"));
}

/**
 * Handles the signals: the first one calls `shutdown`, the next ones
 * `force`; then the process exits, if asked to.
 *
 * @param options The signals, the deadline, whether to exit, the callback.
 * @param shutdown Shuts the system down gracefully within `timeout` ms per actor.
 * @param force Terminates every actor at once.
 * @returns A handle whose disposal removes the signal handlers.
 */
export function shutdownOnSignals(
  options: SignalShutdownOptions,
  shutdown: (timeout: number) => Promise<ShutdownResult>,
  force: () => void,
): Disposable {
  const signals = options.signals ?? ["SIGINT", "SIGTERM"];
  const exit = options.exit ?? true;
  let received = 0;
  const classify = signalClassifier();
  const handlers = signals.map((signal) => {
    const handler = () => {
      // One Ctrl-C under `deno task` arrives twice, a millisecond apart.
      if (classify() === "echo") return;
      received++;
      options.onSignal?.(signal, received);
      if (received === 1) {
        void shutdown(options.timeout ?? 5000).then((result) => {
          if (exit) Deno.exit(result.clean ? 0 : 1);
        });
      } else {
        force();
        if (exit) Deno.exit(128 + (SIGNAL_NUMBERS[signal] ?? 15));
      }
    };
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  return {
    [Symbol.dispose]() {
      for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    },
  };
}

/** Sorts the exits of a shutdown by how each actor ended. */
function summarize(exits: ActorExit[]): ShutdownResult {
  const result: ShutdownResult = {
    clean: true,
    stopped: [],
    terminated: [],
    leaked: [],
    failed: [],
    exits,
  };
  for (const exit of exits) {
    if (exit.reason === "normal") result.stopped.push(exit.id);
    else if (exit.reason === "timeout") {
      result.terminated.push(exit.id);
      if (exit.leaked) result.leaked.push(exit.id);
    } else result.failed.push(exit.id);
  }
  result.clean = result.terminated.length === 0 && result.failed.length === 0;
  return result;
}
