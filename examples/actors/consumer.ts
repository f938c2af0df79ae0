/**
 * The child of example 04: consumes a queue until its sentinel.
 *
 * @module
 */
import { defineActor } from "../../actor.ts";

/** Takes items from a system queue, marks each done, and stops at the sentinel. */
export const consumer = defineActor({
  handlers: {
    async consume(_state, queue: string, ctx) {
      const jobs = ctx.queue<number>(queue);
      const handled: number[] = [];
      for await (const item of jobs) { // ends when the parent closes the queue
        handled.push(item);
        await jobs.taskDone();
      }
      return handled;
    },
  },
});
