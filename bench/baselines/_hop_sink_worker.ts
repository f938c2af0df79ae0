/**
 * Worker of the NATS hop baselines: takes arrays of small messages, counts the one-way ones, and
 * sends back each `OP_ECHO` message (after everything before it was counted); says "ready" when
 * it starts.
 *
 * @module
 */

import { OP_ECHO, type SmallMessage, type WorkerScope } from "./_util.ts";

const scope = self as unknown as WorkerScope;
let count = 0;

scope.onmessage = (event: MessageEvent) => {
  for (const message of event.data as SmallMessage[]) {
    if (message.op === OP_ECHO) scope.postMessage({ echo: message, count });
    else count++;
  }
};
scope.postMessage({ ready: true });
