/**
 * Worker for the spawn and idle-memory baselines: says "ready" and then idles until it is
 * terminated.
 *
 * @module
 */

import type { WorkerScope } from "./_util.ts";

(self as unknown as WorkerScope).postMessage("ready");
