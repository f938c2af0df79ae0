/**
 * A word-counting actor for the demo: counts the words of each text it gets
 * and keeps a running total of what it has seen. Published with the package
 * for the doc examples that spawn it.
 *
 * @module
 */
import { defineActor } from "../../actor.ts";

/** Counts words; `count` replies with this text's counts, `totals` with everything so far. */
export const wordCount = defineActor({
  init: (args: { minLength: number }) => ({ minLength: args.minLength, texts: 0, words: 0 }),
  handlers: {
    count(state, text: string): Map<string, number> {
      if (text.length === 0) throw new RangeError("refusing an empty text");
      const counts = new Map<string, number>();
      for (const word of text.toLowerCase().match(/[a-z']+/g) ?? []) {
        if (word.length < state.minLength) continue;
        counts.set(word, (counts.get(word) ?? 0) + 1);
        state.words++;
      }
      state.texts++;
      return counts;
    },
    totals: (state) => ({ texts: state.texts, words: state.words }),
  },
});
