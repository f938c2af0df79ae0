/**
 * The demo pipeline's aggregator: adds up the parsers' batch summaries, and
 * counts the lines done in a `SharedValue` that the service reads, without
 * asking, to draw its progress bar.
 *
 * @module
 */
import { defineActor, SharedValue, type SharedValueDescriptor } from "../../mod.ts";
import type { BatchSummary } from "./log_parser.ts";

/** The totals the aggregator reports. */
export interface LogReport {
  lines: number;
  malformed: number;
  bytes: number;
  slowestMs: number;
  statuses: Record<string, number>;
  topPaths: [string, number][];
  written: number;
}

/** Adds up batch summaries (`add`) and reports the totals (`report`). */
export const logAggregator = defineActor({
  init: (args: { done: SharedValueDescriptor<"i32"> }) => ({
    done: SharedValue.from(args.done),
    lines: 0,
    malformed: 0,
    bytes: 0,
    slowestMs: 0,
    written: 0,
    statuses: {} as Record<string, number>,
    paths: {} as Record<string, number>,
  }),
  handlers: {
    add(state, batch: BatchSummary) {
      state.lines += batch.lines;
      state.malformed += batch.malformed;
      state.bytes += batch.bytes;
      state.written += batch.written;
      state.slowestMs = Math.max(state.slowestMs, batch.slowestMs);
      for (const [key, n] of Object.entries(batch.statuses)) {
        state.statuses[key] = (state.statuses[key] ?? 0) + n;
      }
      for (const [key, n] of Object.entries(batch.paths)) {
        state.paths[key] = (state.paths[key] ?? 0) + n;
      }
      state.done.add(batch.lines);
    },
    report(state): LogReport {
      const topPaths = Object.entries(state.paths).sort((a, b) => b[1] - a[1]).slice(0, 3);
      const { lines, malformed, bytes, slowestMs, statuses, written } = state;
      return { lines, malformed, bytes, slowestMs, statuses, topPaths, written };
    },
  },
});
