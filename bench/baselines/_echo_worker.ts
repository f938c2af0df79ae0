/**
 * Worker for the `postMessage` baselines: counts one-way messages and acks every
 * `ACK_EVERY`, sends round-trip messages straight back, and says "ready" when it starts.
 *
 * @module
 */

import { ACK_EVERY, OP_ECHO, type SmallMessage, type WorkerScope } from "./_util.ts";

const scope = self as unknown as WorkerScope;
let count = 0;

scope.onmessage = (event: MessageEvent) => {
  const message = event.data as SmallMessage;
  if (message.op === OP_ECHO) {
    scope.postMessage(message);
    return;
  }
  count++;
  if (count % ACK_EVERY === 0) scope.postMessage({ ack: count });
};
scope.postMessage({ ready: true });
