/**
 * The errors of a channel end and its wire: a frame over the limit, bytes
 * that break the protocol, a closed connection, a failed handshake.
 * `errors.ts` re-exports them with every other class.
 *
 * @module
 */

/**
 * An encoded message is larger than the frame limit. Thrown at the sender;
 * nothing was sent.
 *
 * @example
 * ```ts
 * import { FrameTooLargeError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const error = new FrameTooLargeError(100, 64);
 * assert.match(error.message, /100 bytes/);
 * ```
 */
export class FrameTooLargeError extends RangeError {
  /** The frame's size in bytes. */
  readonly size: number;
  /** The limit in bytes. */
  readonly limit: number;

  /**
   * Creates the error.
   *
   * @param size The frame's size in bytes.
   * @param limit The limit in bytes.
   * @param options Standard error options.
   */
  constructor(size: number, limit: number, options?: ErrorOptions) {
    super(`Cannot send frame: it is ${size} bytes, the limit is ${limit} bytes`, options);
    this.name = "FrameTooLargeError";
    this.size = size;
    this.limit = limit;
  }
}

/**
 * The peer broke the wire protocol: an oversized length prefix, a truncated
 * frame, bytes that do not decode. The connection is closed.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new ProtocolError("truncated frame").name, "ProtocolError");
 * assert.equal(new ProtocolError("cut", { truncated: true }).truncated, true);
 * ```
 */
export class ProtocolError extends Error {
  /**
   * `true` when the stream ended or failed inside a frame, which is also what
   * a killed peer looks like; `false` for bytes that break the protocol (an
   * oversized length prefix, a body that does not decode).
   */
  readonly truncated: boolean;

  /**
   * Creates the error.
   *
   * @param message What was wrong.
   * @param options Standard error options, and whether the stream was cut short.
   */
  constructor(message: string, options?: ErrorOptions & { truncated?: boolean }) {
    super(message, options);
    this.name = "ProtocolError";
    this.truncated = options?.truncated ?? false;
  }
}

/**
 * A channel end was used after it closed: the peer closed it or went away,
 * or this end was closed. `closedBy` says which; `cause` holds the stream's
 * error when there was one.
 *
 * @example Tell a closed peer from a closed end
 * ```ts
 * import { ConnectionClosedError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const error = new ConnectionClosedError("receive", "peer");
 * assert.equal(error.closedBy, "peer");
 * assert.match(error.message, /peer closed/);
 * ```
 */
export class ConnectionClosedError extends Error {
  /** What was attempted: `"send"` or `"receive"`. */
  readonly operation: "send" | "receive";
  /** Who closed the channel: the other end (`"peer"`) or this one (`"local"`). */
  readonly closedBy: "peer" | "local";

  /**
   * Creates the error.
   *
   * @param operation What was attempted.
   * @param closedBy Who closed the channel.
   * @param options Standard error options; `cause` is the stream's error, if any.
   */
  constructor(
    operation: "send" | "receive",
    closedBy: "peer" | "local",
    options?: ErrorOptions,
  ) {
    super(
      closedBy === "peer"
        ? `Cannot ${operation}: the peer closed the connection`
        : `Cannot ${operation}: this end of the connection is closed`,
      options,
    );
    this.name = "ConnectionClosedError";
    this.operation = operation;
    this.closedBy = closedBy;
  }
}

/**
 * A socket peer failed the handshake: it did not know the shared secret, it
 * could not prove that it knew it, or one side asked for a secret the other
 * did not have. Nothing the peer sent was delivered.
 *
 * @example
 * ```ts
 * import { AuthenticationError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const error = new AuthenticationError("Cannot connect: the server rejected the secret");
 * assert.equal(error.name, "AuthenticationError");
 * ```
 */
export class AuthenticationError extends Error {
  /**
   * Creates the error.
   *
   * @param message What failed.
   * @param options Standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AuthenticationError";
  }
}
