/**
 * The actor of the `pipe.peerclosed.*` cases: it holds one end of a `Pipe()`, says its pid (so
 * its parent can SIGKILL it), and `crash` throws outside any handler, so that the actor crashes
 * and its parent sees the end close.
 *
 * @module
 */

import { type Connection, defineActor } from "../../actor.ts";

/** An actor that holds a pipe end until it dies. */
export const pipeHolder = defineActor({
  init: (end: Connection<number>) => ({ end }),
  handlers: {
    pid: () => Deno.pid,
    // An error no handler catches crashes the actor (a handler's own error is an `ActorError`
    // reply, and the actor runs on).
    crash: (): void => {
      queueMicrotask(() => {
        throw new Error("crashed on purpose: its pipe end must close");
      });
    },
  },
});
