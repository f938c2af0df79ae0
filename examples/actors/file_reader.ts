/**
 * The children of example 11: read the file their parent wrote.
 *
 * @module
 */
import { defineActor } from "../../actor.ts";

/** Reads a text file and summarizes it. */
export const fileReader = defineActor({
  handlers: {
    async summarize(_state, path: string) {
      const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
      return { lines: lines.length, first: lines[0], last: lines.at(-1) };
    },
  },
});
