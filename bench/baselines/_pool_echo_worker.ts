/**
 * Worker of the batched pool echo baseline: answers each array of task numbers with one array
 * of their results (n + 1), and says "ready" when it starts.
 *
 * @module
 */

import type { WorkerScope } from "./_util.ts";

const scope = self as unknown as WorkerScope;
scope.onmessage = (event: MessageEvent) => {
  const tasks = event.data as number[];
  const results = new Array<number>(tasks.length);
  for (let i = 0; i < tasks.length; i++) results[i] = tasks[i]! + 1;
  scope.postMessage(results);
};
scope.postMessage({ ready: true });
