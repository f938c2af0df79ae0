/**
 * Bench actor for the `scale.*` curves: counts what it is told, answers how many so far, and
 * sends back what it is asked, so one actor serves both the tell and the ask figure of a point.
 *
 * @module
 */
import { defineActor } from "../../actor.ts";

/** `take` counts, `count` returns the count, `echo` returns its payload, `pid` the process id. */
export const scaleActor = defineActor({
  init: () => ({ count: 0 }),
  handlers: {
    take(state, _msg: unknown) {
      state.count++;
    },
    count: (state) => state.count,
    echo: (_state, msg: unknown) => msg,
    pid: () => Deno.pid,
  },
});
