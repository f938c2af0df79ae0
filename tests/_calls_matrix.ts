// The hosts and transports the handler-abort and streaming tests run on:
// every pair the actor conformance suite runs (tests/_routes.ts).
import type { ActorHostKind } from "../mod.ts";
import { ROUTES } from "./_routes.ts";

/** One transport on one host. */
export interface CallsTarget {
  transport: string;
  host: ActorHostKind;
}

/** Every transport on every host it reaches. */
export const CALLS_TARGETS: CallsTarget[] = ROUTES.map(({ transport, host }) => ({
  transport,
  host,
}));

/** The fixture every case spawns. */
export const CALLS_ACTOR: URL = new URL("./fixtures/calls_actor.ts", import.meta.url);
