/**
 * Worker for the spawn baseline: answers the first message it gets with that message, the job a
 * spawned actor does before its first reply (it gets a message, it answers it), then idles until
 * it is terminated.
 *
 * @module
 */

import type { WorkerScope } from "./_util.ts";

const scope = self as unknown as WorkerScope;
scope.onmessage = (event: MessageEvent) => {
  scope.onmessage = null;
  scope.postMessage(event.data);
};
