/**
 * The demo pipeline's reader: hands out the lines of a web server's access
 * log in batches. The log is synthetic (the same every run), with a few
 * malformed lines and one poisoned line that makes a parser crash once.
 *
 * @module
 */
import { defineActor } from "../../actor.ts";

/** The line that makes a parser crash on purpose (once). */
export const POISON_LINE = "#! poisoned line: the parser that reads it crashes (once)";

const PATHS = ["/", "/login", "/api/items", "/api/items/42", "/api/orders", "/static/app.js"];
const METHODS = ["GET", "GET", "GET", "POST", "PUT", "DELETE"];
const STATUSES = [200, 200, 200, 200, 200, 200, 201, 204, 301, 304, 400, 404, 404, 500, 503];

/** Serves `next(max)` batches of log lines until there are none (an empty batch). */
export const logReader = defineActor({
  init: (args: { lines: number }) => ({ total: args.lines, sent: 0, seed: 0x2545f491 }),
  handlers: {
    total: (state) => state.total,
    next(state, max: number): string[] {
      const batch: string[] = [];
      const poisonAt = Math.floor(state.total * 0.4);
      while (batch.length < max && state.sent < state.total) {
        const n = state.sent++;
        if (n === poisonAt) {
          batch.push(POISON_LINE);
          continue;
        }
        // xorshift32: the same log every run.
        let x = state.seed;
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        state.seed = x >>> 0;
        if (state.seed % 997 === 0) {
          batch.push(`garbage ${state.seed.toString(36)}`);
          continue;
        }
        const pick = <T>(list: readonly T[], shift: number) =>
          list[(state.seed >>> shift) % list.length]!;
        const ip = `10.${(state.seed >>> 8) & 255}.${(state.seed >>> 16) & 255}.${
          state.seed & 255
        }`;
        const time = new Date(Date.UTC(2026, 0, 1) + n * 37).toISOString();
        const status = pick(STATUSES, 3);
        const bytes = (state.seed >>> 7) % 20_000;
        const ms = ((state.seed >>> 11) % 900) + (status >= 500 ? 900 : 1);
        batch.push(
          `${ip} - - [${time}] "${pick(METHODS, 5)} ${
            pick(PATHS, 9)
          } HTTP/1.1" ${status} ${bytes} ${ms}ms`,
        );
      }
      return batch;
    },
  },
});
