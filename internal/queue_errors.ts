/**
 * The error of a closed work queue, in a file of its own: the actor entry
 * (`actor.ts`) exports it, and an actor module that imports only that entry
 * loads this, not every error class of the package. `errors.ts` re-exports it.
 *
 * @module
 */

/**
 * The queue was closed and is empty: nothing more will come.
 *
 * @example
 * ```ts
 * import { QueueClosedError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new QueueClosedError("jobs").name, "QueueClosedError");
 * ```
 */
export class QueueClosedError extends Error {
  /**
   * Creates the error.
   *
   * @param queue The queue's name.
   * @param options Standard error options.
   */
  constructor(queue: string, options?: ErrorOptions) {
    super(`Queue "${queue}" is closed`, options);
    this.name = "QueueClosedError";
  }
}
