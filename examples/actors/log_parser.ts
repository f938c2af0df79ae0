/**
 * The demo pipeline's parser, run as a pool of workers: parses a batch of
 * access-log lines into a summary, and appends the server errors (5xx) to an
 * output file, which a system semaphore lets one parser write at a time.
 *
 * @module
 */
import {
  type ActorContext,
  defineActor,
  SharedValue,
  type SharedValueDescriptor,
} from "../../mod.ts";
import { POISON_LINE } from "./log_reader.ts";

const LINE = /^(\S+) \S+ \S+ \[([^\]]+)\] "(\S+) (\S+) [^"]*" (\d{3}) (\d+) (\d+)ms$/;

/** What a parser makes of one batch; the aggregator adds them up. */
export interface BatchSummary {
  lines: number;
  malformed: number;
  bytes: number;
  slowestMs: number;
  /** Lines by status class: `"2xx"`, `"4xx"`, ... */
  statuses: Record<string, number>;
  /** Lines by path. */
  paths: Record<string, number>;
  /** Server errors written to the output file. */
  written: number;
}

/** Parses batches; `crashedOnce` makes sure the poisoned line crashes only one parser, once. */
export const logParser = defineActor({
  init: (args: { output: string; crashedOnce: SharedValueDescriptor<"i32"> }) => ({
    output: args.output,
    crashedOnce: SharedValue.from(args.crashedOnce),
  }),
  handlers: {
    async parse(state, lines: string[], ctx: ActorContext): Promise<BatchSummary> {
      const summary: BatchSummary = {
        lines: lines.length,
        malformed: 0,
        bytes: 0,
        slowestMs: 0,
        statuses: {},
        paths: {},
        written: 0,
      };
      const errors: string[] = [];
      for (const line of lines) {
        if (line === POISON_LINE) {
          if (state.crashedOnce.compareExchange(0, 1) === 0) {
            // An uncaught error kills this worker; its supervisor starts a new one and
            // the pool retries the batch elsewhere, where the line is just skipped.
            setTimeout(() => {
              throw new Error("a poisoned log line (the demo's crash on purpose)");
            }, 0);
            return new Promise<never>(() => {});
          }
          summary.malformed++;
          continue;
        }
        const match = LINE.exec(line);
        if (!match) {
          summary.malformed++;
          continue;
        }
        const [, ip, time, method, path, status, bytes, ms] = match;
        const statusClass = `${status![0]}xx`;
        summary.statuses[statusClass] = (summary.statuses[statusClass] ?? 0) + 1;
        summary.paths[path!] = (summary.paths[path!] ?? 0) + 1;
        summary.bytes += Number(bytes);
        summary.slowestMs = Math.max(summary.slowestMs, Number(ms));
        if (statusClass === "5xx") {
          errors.push(JSON.stringify({ time, ip, method, path, status: Number(status) }));
        }
      }
      if (errors.length > 0) {
        // One writer at a time: the semaphore "output" has a single permit.
        await using _permit = await ctx.semaphore("output").acquire({ timeout: 10_000 });
        await Deno.writeTextFile(state.output, errors.join("\n") + "\n", { append: true });
        summary.written = errors.length;
      }
      return summary;
    },
  },
});
