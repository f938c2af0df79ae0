/**
 * A counter actor: the smallest useful actor, used by the docs and the demo.
 * Published with the package, so that the doc examples that spawn it run
 * from the published files alone.
 *
 * @module
 */
import { defineActor } from "../../actor.ts";

/** Counts what it is told to add; `get` returns the count, `upTo` streams numbers. */
export const counter = defineActor({
  init: (args: { start?: number } | undefined) => ({ count: args?.start ?? 0 }),
  handlers: {
    inc(state, n: number) {
      state.count += n;
    },
    get: (state) => state.count,
    /** Streams 0, 1, ... up to (not including) `n`. */
    async *upTo(_state, n: number) {
      for (let i = 0; i < n; i++) yield i;
    },
  },
});
