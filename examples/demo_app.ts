/**
 * The Troupe demo, a service in miniature: a log-processing pipeline that
 * `troupe run` starts, watches and stops.
 *
 * - `reader` hands out the lines of a synthetic access log in batches;
 * - a pool of four `parser` workers parses them, and appends the server
 *   errors to an output file that a one-permit semaphore guards;
 * - `aggregator` adds up the parsers' summaries and counts the lines done in
 *   a `SharedValue`, which `main` reads for the progress bar without asking.
 *
 * One line of the log is poisoned: the parser that reads it crashes (once, on
 * purpose), its supervisor starts a new one, and the pool retries the batch.
 * When every line is done, `main` returns and the service stops cleanly.
 *
 * Run: `deno task demo` (that is, `deno run -A cli/mod.ts run examples/demo_app.ts`);
 * while it runs, `deno task troupe status` in another terminal shows the actors.
 * It finishes in about two seconds; `deno task demo --duration 60` spreads the
 * same work over a minute, time to try `troupe status`, `troupe logs --follow`,
 * `troupe restart parser-2` or `troupe stop` from a second terminal.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type ActorSystem, SharedValue, type Supervisor, type SupervisorSpec } from "../mod.ts";
import type { AppContext, AppResult } from "../cli/mod.ts";
import type { logReader } from "./actors/log_reader.ts";
import type { logParser } from "./actors/log_parser.ts";
import type { logAggregator } from "./actors/log_aggregator.ts";

// The parsers talk over the shared-memory ring transport.
const PARSER_TRANSPORT: string = "ring";
const LINES = 200_000;
const BATCH = 2_000;
const PARSERS = 4;

/** Lines aggregated so far: the aggregator adds, the progress bar reads. */
const done = SharedValue.of("i32", 0);
/** Set by the first parser that meets the poisoned line, so only one crashes. */
const crashedOnce = SharedValue.of("i32", 0);

/** The supervision tree: the reader and the aggregator (the parsers' pool starts in `main`). */
export const app: SupervisorSpec = {
  id: "pipeline",
  children: [
    {
      id: "reader",
      module: new URL("./actors/log_reader.ts", import.meta.url),
      args: { lines: LINES },
    },
    {
      id: "aggregator",
      module: new URL("./actors/log_aggregator.ts", import.meta.url),
      args: { done: done.share() },
    },
  ],
};

/** Runs the pipeline to the end and returns the figures of the summary. */
export async function main(
  system: ActorSystem,
  root: Supervisor,
  { signal, progress, args = [] }: AppContext,
): Promise<AppResult> {
  const durationMs = demoDuration(args);
  const dir = await Deno.makeTempDir({ prefix: "troupe-demo-" });
  const output = join(dir, "server-errors.ndjson");
  try {
    // Semaphores come before the actors that use them (workers then share its memory).
    system.semaphore("output", 1);
    const parsers = await system.pool<typeof logParser>(
      new URL("./actors/log_parser.ts", import.meta.url),
      {
        id: "parser",
        size: PARSERS,
        transport: PARSER_TRANSPORT,
        args: { output, crashedOnce: crashedOnce.share() },
      },
    );
    const reader = root.ref<typeof logReader>("reader");
    const aggregator = root.ref<typeof logAggregator>("aggregator");
    const total = await reader.ask("total");
    const tick = () => progress({ done: done.load(), total, unit: "lines" });
    const ticker = setInterval(tick, 100);
    let failure: { error: unknown } | undefined;
    try {
      const inflight = new Set<Promise<void>>();
      const began = Date.now();
      let sent = 0;
      while (!signal.aborted && !failure) {
        const lines = await reader.ask("next", BATCH);
        if (lines.length === 0) break;
        const task: Promise<void> = parsers.ask("parse", lines)
          .then((summary) => aggregator.tell("add", summary))
          .catch((error) => void (failure ??= { error }))
          .finally(() => inflight.delete(task));
        inflight.add(task);
        sent += lines.length;
        if (inflight.size >= PARSERS * 2) await Promise.race(inflight);
        // With --duration, hand out the lines at the pace that ends on time.
        if (durationMs > 0) await until(began + (durationMs * sent) / total, signal);
      }
      await Promise.all(inflight);
      if (failure) throw failure.error;
      signal.throwIfAborted();
    } finally {
      clearInterval(ticker);
    }
    const report = await aggregator.ask("report");
    tick();
    const written = (await Deno.readTextFile(output)).split("\n").filter(Boolean).length;
    if (written !== report.written || written !== (report.statuses["5xx"] ?? 0)) {
      throw new Error(
        `the output file has ${written} lines, but the parsers wrote ${report.written}`,
      );
    }
    const list = (entries: [string, number][]) =>
      entries.map(([key, n]) => `${key} ${n.toLocaleString("en-US")}`).join(", ");
    return {
      items: report.lines,
      unit: "lines",
      details: {
        "parsers": `${PARSERS} workers on the ${PARSER_TRANSPORT} transport`,
        "statuses": list(Object.entries(report.statuses).sort()),
        "top paths": list(report.topPaths),
        "server errors written": `${written.toLocaleString("en-US")} lines, one writer at a time`,
        "malformed lines": report.malformed,
        "slowest request": `${report.slowestMs} ms`,
      },
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** `--duration SECONDS` from the demo's arguments, in ms (0 without it: as fast as it goes). */
function demoDuration(args: readonly string[]): number {
  const { values } = parseArgs({
    args: [...args],
    options: { duration: { type: "string" } },
    strict: true,
  });
  if (values.duration === undefined) return 0;
  const seconds = Number(values.duration);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new TypeError(`--duration takes a number of seconds, not "${values.duration}"`);
  }
  return seconds * 1000;
}

/** Waits until the time `at` (epoch ms), or until the stop is asked for. */
function until(at: number, signal: AbortSignal): Promise<void> {
  const ms = at - Date.now();
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
