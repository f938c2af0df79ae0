/**
 * The entry for actor modules: {@linkcode defineActor} and the types an
 * actor's handlers see, without the parent's side of the runtime (the actor
 * system, supervisors, pools, transports). An actor module that imports only
 * this entry loads a few kilobytes in its worker or process instead of the
 * whole package, so it starts faster and uses less memory.
 *
 * Import everything else (the `ActorSystem`, `SharedValue`, pipe ends...)
 * from `@troupe/troupe` itself; an actor module may do so too, at the cost
 * of loading it.
 *
 * @example An actor module (`counter.ts`)
 * ```ts
 * import { type ActorContext, defineActor } from "@troupe/troupe/actor";
 * import assert from "node:assert/strict";
 *
 * export const counter = defineActor({
 *   init: (args: { start: number }, ctx: ActorContext) => ({ count: args.start, id: ctx.id }),
 *   handlers: {
 *     inc(state, n: number) {
 *       state.count += n;
 *     },
 *     get: (state) => state.count,
 *   },
 * });
 * assert.equal(counter.kind, "troupe.actor");
 * ```
 *
 * @module
 */

export {
  type ActorContext,
  type ActorDefinition,
  type ActorSpec,
  defineActor,
  type Handler,
  type Handlers,
} from "./actors/core/define_actor.ts";
export { QueueClosedError } from "./internal/queue_errors.ts";
export type { QueueHandle, QueueWaitOptions } from "./actors/sync/work_queue.ts";
export type { SemaphoreHandle, SemaphorePermit } from "./actors/sync/semaphore.ts";
export type {
  Connection,
  ReadConnection,
  RecvOptions,
  WriteConnection,
} from "./transports/pipe/channel.ts";
