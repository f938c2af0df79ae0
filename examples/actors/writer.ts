/**
 * The child of example 02: holds the sending end of a one-way pipe.
 *
 * @module
 */
import { connectionFromStreams, defineActor, type WritePipeEnd } from "../../mod.ts";

/** Writes lines to its one-way pipe end, then closes it. */
export const writer = defineActor({
  // A WritePipeEnd opens as a WriteConnection: it has send() and no recv().
  init: (end: WritePipeEnd) => ({ pipe: connectionFromStreams<string>(end) }),
  handlers: {
    async write(state, count: number) {
      for (let i = 0; i < count; i++) await state.pipe.send(`line ${i}`);
      await state.pipe.close(); // the reader's iteration ends here
    },
  },
});
