/**
 * The parser of the NATS demo: adds up the numbers of an expression such as
 * `"3 + 4 + 5"`, taking a few milliseconds per job as real work would.
 *
 * @module
 */
import { defineActor } from "../../actor.ts";

/** One job: an id and the text to parse. */
export interface Job {
  id: number;
  text: string;
}

/** What a parsed job comes to. */
export interface Parsed {
  id: number;
  terms: number;
  sum: number;
}

/** Parses expressions; `parse` is idempotent, as durable handlers should be. */
export const parser = defineActor({
  init: () => ({ parsed: 0 }),
  handlers: {
    async parse(state, job: Job): Promise<Parsed> {
      await new Promise((resolve) => setTimeout(resolve, 8)); // the work takes a while
      const terms = job.text.split("+").map((term) => Number(term.trim()));
      if (terms.some((n) => !Number.isFinite(n))) throw new SyntaxError(`cannot parse ${job.text}`);
      state.parsed++;
      return { id: job.id, terms: terms.length, sum: terms.reduce((a, b) => a + b, 0) };
    },
  },
});
