/**
 * The errors of the broker layer (NATS): nobody serves a name, the
 * connection was lost or never came up, a durable publish's outcome is
 * unknown. `errors.ts` re-exports them.
 *
 * @module
 */

import { causeDetail } from "./_error_text.ts";

/**
 * Nobody serves the name an ask or tell went to: no process exposes it on
 * the broker now (NATS answered "no responders"). Told apart from a timeout,
 * so a caller can fail over or report a missing service at once.
 *
 * @example
 * ```ts
 * import { NoRespondersError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const error = new NoRespondersError("parser", "troupe.shop.parser");
 * assert.equal(error.target, "parser");
 * assert.match(error.message, /nobody serves/);
 * ```
 */
export class NoRespondersError extends Error {
  /** The name that was looked up. */
  readonly target: string;
  /** The subject the message was sent on. */
  readonly subject: string;

  /**
   * Creates the error.
   *
   * @param target The name that was looked up.
   * @param subject The subject the message was sent on.
   * @param options Standard error options.
   */
  constructor(target: string, subject: string, options?: ErrorOptions) {
    super(`Cannot reach actor "${target}": nobody serves ${subject}`, options);
    this.name = "NoRespondersError";
    this.target = target;
    this.subject = subject;
  }
}

/**
 * The connection to the broker is down: it dropped while an ask waited for
 * its reply (`inFlight`: the request may or may not have been handled, the
 * remote side may have run the handler and lost only the reply), or it was
 * down when the message was sent (nothing was sent). The client reconnects
 * by itself; send again once it is back.
 *
 * @example
 * ```ts
 * import { ConnectionLostError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const error = new ConnectionLostError("parser", "parse", true);
 * assert.equal(error.messageName, "parse");
 * assert.match(error.message, /may or may not/);
 * ```
 */
export class ConnectionLostError extends Error {
  /** The name that was looked up. */
  readonly target: string;
  /** The message (handler) name. */
  readonly messageName: string;
  /** `true` when the message was sent and its reply lost; `false` when nothing was sent. */
  readonly inFlight: boolean;

  /**
   * Creates the error.
   *
   * @param target The name that was looked up.
   * @param messageName The message name.
   * @param inFlight Whether the message was sent before the connection dropped.
   * @param options Standard error options.
   */
  constructor(target: string, messageName: string, inFlight: boolean, options?: ErrorOptions) {
    super(
      inFlight
        ? `Ask "${messageName}" of actor "${target}" lost its connection to the broker; it may or may not have been handled`
        : `Cannot send "${messageName}" to actor "${target}": the connection to the broker is down`,
      options,
    );
    this.name = "ConnectionLostError";
    this.target = target;
    this.messageName = messageName;
    this.inFlight = inFlight;
  }
}

/**
 * The broker could not be reached when connecting: no server answered, the
 * handshake or TLS failed, or the connection was refused. `cause` holds the
 * client's error; credentials never appear in the message.
 *
 * @example
 * ```ts
 * import { BrokerUnavailableError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const error = new BrokerUnavailableError(["nats://127.0.0.1:4222"]);
 * assert.match(error.message, /127\.0\.0\.1:4222/);
 * ```
 */
export class BrokerUnavailableError extends Error {
  /** The servers that were tried, with any credentials in them removed. */
  readonly servers: readonly string[];

  /**
   * Creates the error.
   *
   * @param servers The servers tried (pass them without credentials).
   * @param options Standard error options; `cause` is the client's error.
   */
  constructor(servers: readonly string[], options?: ErrorOptions) {
    super(`Cannot connect to the broker at ${servers.join(", ")}${causeDetail(options)}`, options);
    this.name = "BrokerUnavailableError";
    this.servers = servers;
  }
}

/**
 * A durable publish (to a JetStream-backed mailbox) whose outcome is unknown:
 * the broker did not confirm it in time, or the connection dropped while it
 * waited. The message may or may not be stored. Send it again with the same
 * `msgId` (it travels as the `Nats-Msg-Id` header): within the stream's
 * duplicate window the broker stores it once either way.
 *
 * @example
 * ```ts
 * import { PublishOutcomeUnknownError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const error = new PublishOutcomeUnknownError("parser", "parse", "order-17");
 * assert.equal(error.msgId, "order-17");
 * assert.match(error.message, /may or may not/);
 * ```
 */
export class PublishOutcomeUnknownError extends Error {
  /** The name the message was sent to. */
  readonly target: string;
  /** The message (handler) name. */
  readonly messageName: string;
  /** The message's id (`Nats-Msg-Id`): send again with it to store the message once. */
  readonly msgId: string;

  /**
   * Creates the error.
   *
   * @param target The name the message was sent to.
   * @param messageName The message name.
   * @param msgId The message's id.
   * @param options Standard error options; `cause` is the client's error.
   */
  constructor(target: string, messageName: string, msgId: string, options?: ErrorOptions) {
    super(
      `Durable message "${messageName}" to "${target}" (id ${msgId}) may or may not be stored: the broker did not confirm it${
        causeDetail(options)
      }; send it again with the same id to store it once`,
      options,
    );
    this.name = "PublishOutcomeUnknownError";
    this.target = target;
    this.messageName = messageName;
    this.msgId = msgId;
  }
}
