/**
 * The process actor of the `exit.orphan.troupe` case: it says its pid, and `hang` starts a
 * handler that never settles, so that its parent dies while it is busy.
 *
 * @module
 */

import { defineActor } from "../../actor.ts";

/** An actor that tells its pid and can hang in a handler. */
export const orphanProbe = defineActor({
  init: () => ({}),
  handlers: {
    pid: () => Deno.pid,
    hang: () => new Promise<void>(() => {}),
  },
});
