// The hosts and transports the handler-abort and streaming tests run on:
// every pair the actor conformance suite runs (tests/actor_conformance_test.ts).
import type { ActorHostKind } from "../mod.ts";

/** One transport on one host. */
export interface CallsTarget {
  transport: string;
  host: ActorHostKind;
}

/** Every transport on every host it reaches. */
export const CALLS_TARGETS: CallsTarget[] = [
  { transport: "queue", host: "worker" },
  { transport: "pipe", host: "worker" },
  { transport: "pipe", host: "process" },
  { transport: "ring", host: "worker" },
  { transport: "socket", host: "worker" },
  { transport: "socket", host: "process" },
  { transport: "queue", host: "thread" },
  { transport: "pipe", host: "thread" },
  { transport: "ring", host: "thread" },
  { transport: "socket", host: "thread" },
];

/** The fixture every case spawns. */
export const CALLS_ACTOR: URL = new URL("./fixtures/calls_actor.ts", import.meta.url);
