/**
 * Bench actor for `ask` round trips, spawn-to-first-reply and idle memory: sends back what it
 * gets, and reports its process id (for reading a process actor's resident memory).
 *
 * @module
 */
import { defineActor } from "../../actor.ts";

/** `echo` returns its payload, `ping` returns `"pong"`, `pid` the process id it runs in. */
export const echo = defineActor({
  handlers: {
    echo: (_state, msg: unknown) => msg,
    ping: () => "pong",
    pid: () => Deno.pid,
  },
});
