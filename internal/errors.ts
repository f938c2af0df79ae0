/**
 * The error classes Troupe rejects and throws with. Every class sets `name`
 * and accepts `ErrorOptions`, so the original error flows through as `cause`.
 *
 * @module
 */

import {
  displayName,
  type ErrorClass,
  type RemoteErrorInfo,
  reviveRemote,
  toRemoteErrorInfo,
} from "./error_wire.ts";
import { causeDetail } from "./_error_text.ts";
import {
  AuthenticationError,
  ConnectionClosedError,
  FrameTooLargeError,
  ProtocolError,
} from "./channel_errors.ts";
import {
  BrokerUnavailableError,
  ConnectionLostError,
  NoRespondersError,
  PublishOutcomeUnknownError,
} from "./cluster_errors.ts";
import { ActorExitedError, ActorOutOfMemoryError } from "./exit_errors.ts";
import { QueueClosedError } from "./queue_errors.ts";
import { MessageNotCloneableError } from "./payload_errors.ts";

export type { RemoteErrorInfo } from "./error_wire.ts";
export {
  AuthenticationError,
  BrokerUnavailableError,
  ConnectionClosedError,
  ConnectionLostError,
  FrameTooLargeError,
  NoRespondersError,
  ProtocolError,
  PublishOutcomeUnknownError,
};
export { ActorExitedError, ActorOutOfMemoryError };
export { MessageNotCloneableError, QueueClosedError };
export type { ProcessExitInfo } from "./exit_errors.ts";

/**
 * Rebuilds a remote error as a local one of the same class where it can:
 * Troupe's own errors and the built-in ones (`TypeError`, `AggregateError`
 * with its `errors`, a `DOMException` of its name, `Deno.errors` classes) as
 * themselves, any other class as an `Error` with the remote name; with the
 * remote message, stack, own primitive properties (`code`...) and cause
 * chain. A thrown value that was not an `Error` comes back as an `Error`
 * whose message describes it (see {@linkcode reviveThrown} for the value).
 *
 * @param info What the remote side reported (checked first: it may come from anywhere).
 * @returns The revived error.
 */
export function reviveError(info: RemoteErrorInfo): Error {
  const checked = toRemoteErrorInfo(info);
  const revived = reviveRemote(checked, troupeClass);
  if (revived instanceof Error) return revived;
  const error = new Error(checked.message);
  if (checked.name !== "Error") error.name = checked.name;
  return error;
}

/**
 * Rebuilds what a remote handler threw: an error as {@linkcode reviveError}
 * does, and a thrown value that was not an `Error` (a string, a plain object)
 * as a plain copy of that value.
 *
 * @param info What the remote side reported.
 * @returns The revived error, or the thrown value.
 */
export function reviveThrown(info: RemoteErrorInfo): unknown {
  return reviveRemote(toRemoteErrorInfo(info), troupeClass);
}

/**
 * A handler threw (or rejected). The actor keeps running; the caller's `ask`
 * rejects with this error, whose `cause` is the remote error rebuilt locally
 * (see {@linkcode reviveError}): a `TypeError` is a `TypeError`, an
 * `AggregateError` has its `errors`, a `Deno.errors.NotFound` its `code`,
 * Troupe's own errors are their own classes, and a user's class is an `Error`
 * with the class's name and the error's own primitive properties. A thrown
 * value that was not an `Error` (a string, a plain object) is the `cause` as
 * it was thrown, copied. `remote` is the same error as plain data.
 *
 * @example Catch a handler's error
 * ```ts
 * import { ActorError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const error = new ActorError("counter", "inc", { name: "RangeError", message: "too big" });
 * assert.equal(error.remote.name, "RangeError");
 * assert.match(error.message, /too big/);
 * assert.ok(error.cause instanceof RangeError);
 * ```
 */
export class ActorError extends Error {
  /** The actor's id. */
  readonly actorId: string;
  /** The message (handler) name that failed. */
  readonly messageName: string;
  /** The remote error as plain data: name, message, stack, class, properties, cause, errors. */
  readonly remote: RemoteErrorInfo;

  /**
   * Creates the error.
   *
   * @param actorId The actor's id.
   * @param messageName The handler that threw.
   * @param remote What the actor reported.
   * @param options Standard error options.
   */
  constructor(
    actorId: string,
    messageName: string,
    remote: RemoteErrorInfo,
    options?: ErrorOptions,
  ) {
    const info = toRemoteErrorInfo(remote);
    super(
      `Actor "${actorId}" failed to handle "${messageName}": ${displayName(info)}: ${info.message}`,
      { cause: reviveRemote(info, troupeClass), ...options },
    );
    this.name = "ActorError";
    this.actorId = actorId;
    this.messageName = messageName;
    this.remote = info;
  }
}

/**
 * The actor has no handler of that name.
 *
 * @example
 * ```ts
 * import { UnknownMessageError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const error = new UnknownMessageError("counter", "nope", ["inc", "get"]);
 * assert.match(error.message, /nope/);
 * ```
 */
export class UnknownMessageError extends Error {
  /** The actor's id. */
  readonly actorId: string;
  /** The name that was asked for. */
  readonly messageName: string;
  /** The names the actor does handle. */
  readonly known: readonly string[];

  /**
   * Creates the error.
   *
   * @param actorId The actor's id.
   * @param messageName The unknown name.
   * @param known The handler names the actor has.
   * @param options Standard error options.
   */
  constructor(
    actorId: string,
    messageName: string,
    known: readonly string[],
    options?: ErrorOptions,
  ) {
    super(
      `Cannot send "${messageName}" to actor "${actorId}": no such handler, the actor handles ${
        known.length ? known.map((n) => `"${n}"`).join(", ") : "nothing"
      }`,
      options,
    );
    this.name = "UnknownMessageError";
    this.actorId = actorId;
    this.messageName = messageName;
    this.known = known;
  }
}

/**
 * The actor has stopped (or is stopping) and takes no more messages.
 *
 * @example
 * ```ts
 * import { ActorStoppedError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new ActorStoppedError("counter").actorId, "counter");
 * ```
 */
export class ActorStoppedError extends Error {
  /** The actor's id. */
  readonly actorId: string;

  /**
   * Creates the error.
   *
   * @param actorId The actor's id.
   * @param options Standard error options.
   */
  constructor(actorId: string, options?: ErrorOptions) {
    super(`Actor "${actorId}" has stopped`, options);
    this.name = "ActorStoppedError";
    this.actorId = actorId;
  }
}

/** Why an actor ended abnormally. */
export type CrashReason = "error" | "exited" | "lost-heartbeat" | "killed";

/**
 * The actor died: an uncaught error, a worker that exited by itself, or a
 * lost heartbeat. Pending asks reject with it; `cause` holds the error when
 * there was one.
 *
 * @example
 * ```ts
 * import { ActorCrashedError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const error = new ActorCrashedError("w1", "lost-heartbeat");
 * assert.equal(error.reason, "lost-heartbeat");
 * ```
 */
export class ActorCrashedError extends Error {
  /** The actor's id. */
  readonly actorId: string;
  /** What ended it. */
  readonly reason: CrashReason;

  /**
   * Creates the error.
   *
   * @param actorId The actor's id.
   * @param reason What ended it.
   * @param options Standard error options; `cause` is the crash's error.
   */
  constructor(actorId: string, reason: CrashReason, options?: ErrorOptions) {
    super(`Actor "${actorId}" crashed (${reason})${causeDetail(options)}`, options);
    this.name = "ActorCrashedError";
    this.actorId = actorId;
    this.reason = reason;
  }
}

/**
 * Spawning failed: the actor module did not load, exported no actor, or its
 * `init` threw. `cause` is the original error.
 *
 * @example
 * ```ts
 * import { SpawnError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const error = new SpawnError("a1", "file:///missing.ts", { cause: new Error("not found") });
 * assert.match(error.message, /not found/);
 * ```
 */
export class SpawnError extends Error {
  /** The id the actor would have had. */
  readonly actorId: string;
  /** The actor module's URL. */
  readonly module: string;

  /**
   * Creates the error.
   *
   * @param actorId The actor's id.
   * @param module The module URL.
   * @param options Standard error options; `cause` is the load or init error.
   */
  constructor(actorId: string, module: string, options?: ErrorOptions) {
    super(`Cannot spawn actor "${actorId}" from ${module}${causeDetail(options)}`, options);
    this.name = "SpawnError";
    this.actorId = actorId;
    this.module = module;
  }
}

/**
 * The actor's mailbox is full and its overflow policy is `"fail"` (or a
 * message was dropped by `"drop-oldest"` / `"drop-newest"` while an `ask`
 * waited on it).
 *
 * @example
 * ```ts
 * import { MailboxFullError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new MailboxFullError("a1", 8).capacity, 8);
 * ```
 */
export class MailboxFullError extends Error {
  /** The actor's id. */
  readonly actorId: string;
  /** The mailbox capacity. */
  readonly capacity: number;

  /**
   * Creates the error.
   *
   * @param actorId The actor's id.
   * @param capacity The mailbox capacity.
   * @param options Standard error options.
   */
  constructor(actorId: string, capacity: number, options?: ErrorOptions) {
    super(`Actor "${actorId}" mailbox is full: capacity is ${capacity} messages`, options);
    this.name = "MailboxFullError";
    this.actorId = actorId;
    this.capacity = capacity;
  }
}

/**
 * The supervised actor is being restarted and its spec says messages sent
 * meanwhile fail instead of waiting (`whileRestarting: "fail"`).
 *
 * @example
 * ```ts
 * import { ActorRestartingError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * assert.match(new ActorRestartingError("db").message, /restarting/);
 * ```
 */
export class ActorRestartingError extends Error {
  /** The actor's id. */
  readonly actorId: string;

  /**
   * Creates the error.
   *
   * @param actorId The actor's id.
   * @param options Standard error options.
   */
  constructor(actorId: string, options?: ErrorOptions) {
    super(`Actor "${actorId}" is restarting and takes no messages until it is up`, options);
    this.name = "ActorRestartingError";
    this.actorId = actorId;
  }
}

/** A crash as a supervisor counted it, for {@linkcode SupervisorGaveUpError}. */
export interface CrashSummary {
  /** The child that crashed. */
  id: string;
  /** Why it ended. */
  reason: string;
  /** The error's message, when there was one. */
  message?: string;
  /** When, in milliseconds since the epoch. */
  time: number;
}

/**
 * A supervisor's children crashed more often than its restart intensity
 * allows (`maxRestarts` within `periodMs`): it stopped them all and failed.
 * The message lists the last crashes and their causes.
 *
 * @example
 * ```ts
 * import { SupervisorGaveUpError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const error = new SupervisorGaveUpError("root", 3, 5000, [
 *   { id: "db", reason: "error", message: "connection refused", time: 0 },
 * ]);
 * assert.match(error.message, /connection refused/);
 * ```
 */
export class SupervisorGaveUpError extends Error {
  /** The supervisor's id. */
  readonly supervisorId: string;
  /** The crashes that exceeded the intensity, oldest first. */
  readonly crashes: readonly CrashSummary[];

  /**
   * Creates the error.
   *
   * @param supervisorId The supervisor's id.
   * @param maxRestarts The intensity's restart count.
   * @param periodMs The intensity's period.
   * @param crashes The crashes, oldest first.
   * @param options Standard error options.
   */
  constructor(
    supervisorId: string,
    maxRestarts: number,
    periodMs: number,
    crashes: readonly CrashSummary[],
    options?: ErrorOptions,
  ) {
    const list = crashes.map((c) =>
      `  ${new Date(c.time).toISOString()} ${c.id}: ${c.reason}${
        c.message ? ` (${c.message})` : ""
      }`
    ).join("\n");
    super(
      `Supervisor "${supervisorId}" gave up: more than ${maxRestarts} restarts within ${periodMs} ms; last crashes:\n${list}`,
      options,
    );
    this.name = "SupervisorGaveUpError";
    this.supervisorId = supervisorId;
    this.crashes = crashes;
  }
}

/** Troupe's own error classes, revived as themselves by {@linkcode reviveError}. */
function troupeClass(name: string): ErrorClass | undefined {
  switch (name) {
    case "ActorError":
      return ActorError;
    case "UnknownMessageError":
      return UnknownMessageError;
    case "MessageNotCloneableError":
      return MessageNotCloneableError;
    case "ActorStoppedError":
      return ActorStoppedError;
    case "ActorCrashedError":
      return ActorCrashedError;
    case "SpawnError":
      return SpawnError;
    case "MailboxFullError":
      return MailboxFullError;
    case "FrameTooLargeError":
      return FrameTooLargeError;
    case "ProtocolError":
      return ProtocolError;
    case "ConnectionClosedError":
      return ConnectionClosedError;
    case "ActorExitedError":
      return ActorExitedError;
    case "AuthenticationError":
      return AuthenticationError;
    case "ActorRestartingError":
      return ActorRestartingError;
    case "SupervisorGaveUpError":
      return SupervisorGaveUpError;
    case "QueueClosedError":
      return QueueClosedError;
    case "NoRespondersError":
      return NoRespondersError;
    case "ConnectionLostError":
      return ConnectionLostError;
    case "BrokerUnavailableError":
      return BrokerUnavailableError;
    case "PublishOutcomeUnknownError":
      return PublishOutcomeUnknownError;
    default:
      return undefined;
  }
}
