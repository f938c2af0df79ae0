/**
 * The error of a payload that cannot travel, in a file of its own: payload
 * inspection (`payload.ts`) throws it on every actor's side, which then loads
 * this rather than every error class of the package. `errors.ts` re-exports
 * it.
 *
 * @module
 */

/**
 * A message (or a value inside it) cannot be sent: it is a function, a
 * symbol, a class instance that would lose its methods, or a live resource
 * such as a socket. Thrown at the sender; nothing of the message was sent.
 *
 * @example
 * ```ts
 * import { MessageNotCloneableError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const error = new MessageNotCloneableError("payload.callback", "a function");
 * assert.equal(error.path, "payload.callback");
 * ```
 */
export class MessageNotCloneableError extends TypeError {
  /** Where in the payload the offending value sits, such as `payload.user.save`. */
  readonly path: string;

  /**
   * Creates the error.
   *
   * @param path Where the value sits.
   * @param what What the value is, such as `"a function"`.
   * @param options Standard error options.
   */
  constructor(path: string, what: string, options?: ErrorOptions) {
    super(
      `Cannot send message: ${path} is ${what}, which cannot be cloned; send plain data instead`,
      options,
    );
    this.name = "MessageNotCloneableError";
    this.path = path;
  }
}
