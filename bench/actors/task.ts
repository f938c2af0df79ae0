/**
 * Bench actor for pool throughput: the same trivial task as the piscina baseline.
 *
 * @module
 */
import { defineActor } from "../../actor.ts";

/** `run` returns its argument plus one. */
export const task = defineActor({
  handlers: {
    run: (_state, n: number) => n + 1,
  },
});
