// How a `troupe run` service stops: why (main finished or failed, a signal, a
// request on the control socket), the signals it listens for, the lines it
// prints while stopping and after, and its exit code.

import type { ShutdownResult } from "../mod.ts";
import type { AppResult } from "./app.ts";
import { EXIT } from "./_args.ts";
import { errorData, errorText, type Output } from "./_output.ts";
import { formatCount, formatDuration, formatRate, plural } from "./_table.ts";

/** Why the service stops. */
export type StopRequest =
  | { kind: "done"; result: AppResult | undefined; elapsedMs: number }
  | { kind: "failed"; message: string; error: unknown }
  | { kind: "signal"; signal: Deno.Signal }
  | { kind: "control"; timeout: number | undefined };

const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGTERM: 15 };

/** The exit code of a process ended by a second `signal` (128 + its number). */
export function forcedExitCode(signal: Deno.Signal): number {
  return 128 + (SIGNAL_NUMBERS[signal] ?? 15);
}

/**
 * Calls `onSignal` on every SIGINT and SIGTERM.
 *
 * @returns A function that removes the listeners.
 */
export function listenForStopSignals(onSignal: (signal: Deno.Signal) => void): () => void {
  const handlers = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const handler = () => onSignal(signal);
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  };
}

/** Prints why the service is stopping, and within how long (`timeout`). */
export function sayStopping(out: Output, request: StopRequest, timeout: number): void {
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
        `troupe: stop requested on the control socket, stopping within ${formatDuration(timeout)}`,
        { type: "service-stopping", reason: "control", timeout },
      );
      break;
  }
}

/** Prints how the stop went (`tookMs` since it began) with its exit code. */
export function sayStopped(
  out: Output,
  request: StopRequest,
  result: ShutdownResult,
  code: number,
  tookMs: number,
): void {
  const took = formatDuration(tookMs);
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
}

/** Prints the summary of a service whose main finished: its work, restarts and crashes. */
export function saySummary(
  out: Output,
  request: Extract<StopRequest, { kind: "done" }>,
  result: ShutdownResult,
  counts: { restarts: number; crashes: number },
): void {
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
    `summary: ${work}, ${plural(counts.restarts, "restart")}, ${
      plural(counts.crashes, "crash", "crashes")
    }`,
    ...Object.entries(app.details ?? {}).map(([key, value]) =>
      `  ${key}: ${typeof value === "number" ? formatCount(value) : String(value)}`
    ),
  ].join("\n");
  out.say(text, {
    type: "summary",
    ...(items !== undefined ? { items, unit, rate: Math.round(rate ?? 0) } : {}),
    elapsedMs: Math.round(request.elapsedMs),
    restarts: counts.restarts,
    crashes: counts.crashes,
    clean: result.clean,
    ...(app.details ? { details: app.details } : {}),
  });
}

/** The exit code of a stop, from why it stopped and how the shutdown went. */
export function exitCode(request: StopRequest, result: ShutdownResult): number {
  if (request.kind === "failed") return EXIT.failed;
  if (request.kind === "signal" && request.signal === "SIGINT") return EXIT.interrupted;
  return result.clean ? EXIT.ok : EXIT.failed;
}
