/**
 * Bench actor of `seed.pipe.msgs`: holds one end of a duplex `Pipe()`, like example 01's child,
 * and sends back every message it receives until the pipe closes.
 *
 * @module
 */
import { type Connection, defineActor } from "../../actor.ts";

/** Echoes every value that arrives on the pipe end it is spawned with. */
export const seedEcho = defineActor({
  init: (pipe: Connection<unknown>) => {
    const echoing = (async () => {
      for await (const message of pipe) await pipe.send(message);
    })();
    echoing.catch(() => {}); // a failed send ends the echo; stop() still sees it
    return { pipe, echoing };
  },
  handlers: {},
  async stop(state) {
    await state.pipe.close();
    await state.echoing;
  },
});
