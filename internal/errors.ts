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

export type { RemoteErrorInfo } from "./error_wire.ts";

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

/** The cause's name and message, as `: Name: message`, when the cause is an `Error`; else empty. */
function causeDetail(options: ErrorOptions | undefined): string {
  const cause = options?.cause;
  return cause instanceof Error ? `: ${cause.name}: ${cause.message}` : "";
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

/** How a process actor's child process ended. */
export interface ProcessExitInfo {
  /** The exit code (128 + signal number when killed by a signal). */
  code: number;
  /** The signal that ended it, such as `"SIGKILL"`, or `null`. */
  signal: string | null;
  /** The last lines the child wrote to stderr (at most 20). */
  stderrTail: string[];
}

/**
 * A process actor's child process exited without being asked to stop: a
 * crash, a heap limit, a kill from outside. Carries the exit code or
 * signal and the last lines of stderr. Pending asks reject with it.
 *
 * @example
 * ```ts
 * import { ActorExitedError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const error = new ActorExitedError("worker-1", { code: 137, signal: "SIGKILL", stderrTail: [] });
 * assert.match(error.message, /SIGKILL/);
 * ```
 */
export class ActorExitedError extends Error {
  /** The actor's id. */
  readonly actorId: string;
  /** The exit code. */
  readonly code: number;
  /** The signal, or `null`. */
  readonly signal: string | null;
  /** The last lines of the child's stderr. */
  readonly stderrTail: readonly string[];

  /**
   * Creates the error.
   *
   * @param actorId The actor's id.
   * @param exit How the child ended.
   * @param options Standard error options.
   */
  constructor(actorId: string, exit: ProcessExitInfo, options?: ErrorOptions) {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    const why = outOfMemory(exit.stderrTail) ? " (out of memory: heap limit reached)" : "";
    const tail = exit.stderrTail.length
      ? `; last stderr lines:\n  ${exit.stderrTail.join("\n  ")}`
      : "";
    super(`Process actor "${actorId}" ${how}${why}${tail}`, options);
    this.name = "ActorExitedError";
    this.actorId = actorId;
    this.code = exit.code;
    this.signal = exit.signal;
    this.stderrTail = exit.stderrTail;
  }

  /** Tells whether the child died from reaching its heap limit. */
  get outOfMemory(): boolean {
    return outOfMemory(this.stderrTail);
  }
}

/**
 * A thread actor (`host: "thread"`) reached its heap limit (`maxHeapMiB`,
 * V8's old space) and its thread was ended; the process and every other
 * actor live on. It is the `cause` of the `ActorCrashedError` (reason
 * `"error"`) that pending asks reject with, and the error of the `crashed`
 * event, so a supervisor restarts the actor.
 *
 * @example
 * ```ts
 * import { ActorOutOfMemoryError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const error = new ActorOutOfMemoryError("hungry-1", 32);
 * assert.equal(error.heapLimitMiB, 32);
 * assert.match(error.message, /heap limit of 32 MiB/);
 * ```
 */
export class ActorOutOfMemoryError extends Error {
  /** The actor's id. */
  readonly actorId: string;
  /** The heap limit it reached, in MiB. */
  readonly heapLimitMiB: number;

  /**
   * Creates the error.
   *
   * @param actorId The actor's id.
   * @param heapLimitMiB The heap limit it reached, in MiB.
   * @param options Standard error options; `cause` is the platform's error.
   */
  constructor(actorId: string, heapLimitMiB: number, options?: ErrorOptions) {
    super(
      `Thread actor "${actorId}" ran out of memory: it reached its heap limit of ${heapLimitMiB} MiB`,
      options,
    );
    this.name = "ActorOutOfMemoryError";
    this.actorId = actorId;
    this.heapLimitMiB = heapLimitMiB;
  }
}

function outOfMemory(lines: readonly string[]): boolean {
  return lines.some((line) => /out of memory|heap limit/i.test(line));
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
