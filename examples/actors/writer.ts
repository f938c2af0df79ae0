/**
 * The child of example 02: holds the sending end of a one-way pipe.
 *
 * @module
 */
import { defineActor, type WriteConnection } from "../../actor.ts";

/** Writes lines to its one-way pipe end, then closes it. */
export const writer = defineActor({
  // The sending end of a one-way Pipe(): it has send() and no recv().
  init: (pipe: WriteConnection<string>) => ({ pipe }),
  handlers: {
    async write(state, count: number) {
      for (let i = 0; i < count; i++) await state.pipe.send(`line ${i}`);
      await state.pipe.close(); // the reader's iteration ends here
    },
  },
});
