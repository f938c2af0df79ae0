/**
 * Posting on a `MessagePort` through the web platform's own `postMessage`,
 * for the `queue` transport and the port streams.
 *
 * Once `node:worker_threads` is loaded in a thread (the thread host loads it
 * on the parent's), Deno's `MessageChannel` makes Node-style ports: web
 * `MessagePort`s with their own `postMessage`, which checks a Node transfer
 * list and passes it on even when there is none. The web method then sees a
 * second argument and takes its general path, a serialization and an op
 * call that converts the message through serde, where a call with the
 * message alone takes the raw one. Profiled over 32,000 round trips to a
 * worker, the parent's general op took 340 ms, where the raw op of a plain
 * port round trip took 206 ms. Posting through the prototype's method skips
 * the wrapper; what arrives, and the errors thrown, are the same.
 *
 * @module
 */

/** The web `MessagePort.prototype.postMessage`, whatever the port's own one is. */
const webPostMessage = MessagePort.prototype.postMessage as (
  this: MessagePort,
  message: unknown,
  transfer?: Transferable[],
) => void;

/**
 * Posts `message` on `port`, moving the objects in `transfer` when given.
 *
 * @param port A `MessagePort` (a Node-style one too).
 * @param message What to post, by structured clone.
 * @param transfer Objects to move rather than copy.
 * @throws {DOMException} `DataCloneError` when the message cannot be cloned or transferred.
 */
export function postToPort(port: MessagePort, message: unknown, transfer?: Transferable[]): void {
  if (transfer === undefined) webPostMessage.call(port, message);
  else webPostMessage.call(port, message, transfer);
}
