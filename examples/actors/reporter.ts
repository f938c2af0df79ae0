/**
 * The child of example 06: returns one result by three routes.
 *
 * @module
 */
import {
  defineActor,
  SharedValue,
  type SharedValueDescriptor,
  type WriteConnection,
} from "../../mod.ts";

/** Where the results go: a pipe end, and a shared value (worker actors only). */
export interface ReporterArgs {
  pipe: WriteConnection<number>;
  value?: SharedValueDescriptor<"i32">;
}

/** Computes `n * 7` and reports it through a pipe, a queue (as 1 MiB) and a shared value. */
export const reporter = defineActor({
  init: (args: ReporterArgs) => ({
    pipe: args.pipe,
    value: args.value && SharedValue.from(args.value),
  }),
  handlers: {
    async compute(state, n: number, ctx) {
      const result = n * 7;
      await state.pipe.send(result);
      await ctx.queue<Uint8Array>("results").put(new Uint8Array(1 << 20).fill(result));
      state.value?.store(result);
    },
  },
  stop: (state) => state.pipe.close(),
});
