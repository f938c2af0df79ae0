/**
 * Bench actor of `seed.queue.items`: the consumer of example 04, four of them on one queue.
 *
 * @module
 */
import { defineActor } from "../../actor.ts";

/** How many items one consumer took, and their sum. */
export interface Handled {
  count: number;
  sum: number;
}

/** Takes numbers from a system queue until its sentinel (the queue's close) and sums them. */
export const seedConsumer = defineActor({
  handlers: {
    async consume(_state, queue: string, ctx): Promise<Handled> {
      let count = 0;
      let sum = 0;
      for await (const item of ctx.queue<number>(queue)) { // ends when the parent closes it
        count++;
        sum += item;
      }
      return { count, sum };
    },
  },
});
