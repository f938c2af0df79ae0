/**
 * The child of examples 01 and 06: holds one end of a duplex pipe, says
 * "hello" on it, and answers every value it receives until the pipe closes.
 *
 * @module
 */
import { connectionFromStreams, defineActor, type PipeEnd } from "../../mod.ts";

/** Greets its parent through the pipe end it is spawned with. */
export const greeter = defineActor({
  init: (end: PipeEnd) => {
    const pipe = connectionFromStreams<string>(end);
    pipe.send("hello");
    const answering = (async () => {
      for await (const text of pipe) await pipe.send(`you said "${text}"`);
    })();
    return { pipe, answering };
  },
  handlers: {},
  async stop(state) {
    await state.pipe.close();
    await state.answering;
  },
});
