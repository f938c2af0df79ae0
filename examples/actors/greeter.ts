/**
 * The child of examples 01 and 06: holds one end of a duplex pipe, says
 * "hello" on it, and answers every value it receives until the pipe closes.
 *
 * @module
 */
import { type Connection, defineActor } from "../../actor.ts";

/** Greets its parent through the pipe end it is spawned with. */
export const greeter = defineActor({
  // The parent passed one end of a Pipe(): it arrives as that connection.
  init: (pipe: Connection<string>) => {
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
