/**
 * The workers of example 05: each task produces a large result, put into a
 * system queue.
 *
 * @module
 */
import { defineActor } from "../../actor.ts";

/** Makes a 1 MiB result for item `n` (every byte is `n`) and puts it in the "results" queue. */
export const poolWorker = defineActor({
  handlers: {
    async handle(_state, n: number, ctx) {
      await ctx.queue<Uint8Array>("results").put(new Uint8Array(1 << 20).fill(n));
    },
  },
});
