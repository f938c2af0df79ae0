/**
 * The children of example 03: each puts one large greeting into the
 * parent's queue.
 *
 * @module
 */
import { defineActor } from "../../actor.ts";

/** Bytes of padding after "hello N": far more than a pipe writes atomically (4 KiB). */
export const PADDING = 64 * 1024;

/** Says "hello N", padded with dots, into the queue it is told. */
export const sender = defineActor({
  init: (n: number) => ({ n }),
  handlers: {
    async send(state, queue: string, ctx) {
      await ctx.queue<string>(queue).put(`hello ${state.n} ${".".repeat(PADDING)}`);
    },
  },
});
