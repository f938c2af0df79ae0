/**
 * Bench actor for `tell` throughput: counts what it is told, and answers how many so far.
 *
 * @module
 */
import { defineActor } from "../../actor.ts";

/** Counts every `take`; `count` returns how many it took. */
export const sink = defineActor({
  init: () => ({ count: 0 }),
  handlers: {
    take(state, _msg: unknown) {
      state.count++;
    },
    count: (state) => state.count,
  },
});
