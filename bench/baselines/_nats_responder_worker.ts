/**
 * Worker for `baseline.nats.worker.rtt`: a raw nats.js responder in a thread of its own. Told a
 * server and a subject, it connects, echoes every request's bytes, and says `{ ready: true }`
 * once its subscription is registered; told `{ close: true }`, it closes and says
 * `{ closed: true }`. The floor of serving a name from a worker actor's own thread (`inActor`):
 * the same placement, none of the actor.
 *
 * @module
 */

import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { WorkerScope } from "./_util.ts";

const scope = self as unknown as WorkerScope;
let nc: NatsConnection | undefined;

scope.onmessage = async (event: MessageEvent) => {
  const given = event.data as { url?: string; subject?: string; close?: boolean };
  if (given.close) {
    await nc?.close();
    scope.postMessage({ closed: true });
    return;
  }
  nc = await connect({ servers: given.url!, noAsyncTraces: true });
  nc.subscribe(given.subject!, {
    callback: (_error, msg) => {
      msg.respond(msg.data);
    },
  });
  await nc.flush();
  scope.postMessage({ ready: true });
};
