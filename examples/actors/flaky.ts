/**
 * The child of example 12: a long-running service that can be made to crash.
 *
 * @module
 */
import { defineActor } from "../../actor.ts";

/** Answers pings; `crash` kills it with an uncaught error. */
export const flaky = defineActor({
  handlers: {
    ping: () => "pong",
    crash(): Promise<never> {
      setTimeout(() => {
        throw new Error("crashed on purpose");
      }, 0);
      return new Promise<never>(() => {});
    },
  },
});
