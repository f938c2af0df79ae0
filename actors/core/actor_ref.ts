/**
 * `ActorRef`: the typed handle a parent holds on a running actor.
 *
 * @module
 */

import type { CrashReason } from "../../internal/errors.ts";
import type {
  AnyActorDefinition,
  HandlersOf,
  ItemOf,
  MessageName,
  PayloadArgs,
  ReplyOf,
  StreamName,
} from "./define_actor.ts";

/** How an actor ended. */
export type ExitReason = "normal" | "timeout" | CrashReason;

/**
 * The one report every actor gives when it ends.
 */
export interface ActorExit {
  /** The actor's id. */
  id: string;
  /**
   * Why it ended: `"normal"` (stopped through its sentinel), `"timeout"`
   * (missed its stop deadline and was terminated: what OTP reports as
   * `killed` after a child's shutdown timeout), `"killed"` (terminated
   * without waiting for a stop: `kill`, an aborted `stop` or shutdown, or a
   * forced one), `"error"` (an uncaught error), `"exited"` (its code closed
   * the worker) or `"lost-heartbeat"` (it stopped answering). A supervisor
   * restarts a transient child after any of them but `"normal"`.
   */
  reason: ExitReason;
  /** The error behind a crash, when there was one. */
  error?: Error;
  /**
   * The names of the messages the actor was handling when it crashed or
   * exited, when it could say (a process killed from outside cannot).
   */
  handling?: string[];
  /** Messages the actor handled. */
  handled: number;
  /**
   * `true` for a worker actor whose thread still ran after it was terminated:
   * a handler stuck in synchronous code, which JavaScript cannot pre-empt.
   * (Where the parent cannot read `/proc/self/task`, any worker terminated
   * inside a handler is counted.) The system names it on stderr, and by
   * default the process exits once the system has shut down and the main
   * module has finished (`SystemOptions.exitOnLeak`). Run such code in a
   * process actor.
   */
  leaked?: boolean;
}

/** A message the runtime could not deliver. */
export interface DeadLetter {
  /** The actor it was for. */
  actorId: string;
  /** The message name, when known. */
  messageName: string | undefined;
  /** Why it was not delivered, such as `"mailbox full"` or `"actor crashed"`. */
  reason: string;
  /** How many messages this report stands for. */
  count: number;
}

/**
 * Options of {@linkcode ActorRef.tell}. They matter only while the tell
 * waits for room in a full mailbox (`overflow: "backpressure"`, or a
 * supervised child restarting under `whileRestarting: "wait"`): a tell that
 * gives up was never sent, and its promise rejects with the reason. A tell
 * that found room at once is in the mailbox and cannot be taken back.
 *
 * @example Give up on a full mailbox after 100 ms
 * ```ts
 * import type { TellOptions } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const options: TellOptions = { timeout: 100, signal: AbortSignal.timeout(1000) };
 * assert.equal(options.timeout, 100);
 * ```
 */
export interface TellOptions {
  /** Rejects with a `TimeoutError` `DOMException` when there is no room within this many milliseconds. */
  timeout?: number;
  /** Rejects with the signal's reason when it aborts before there is room. */
  signal?: AbortSignal;
  /**
   * `ArrayBuffer`s in the payload to move to the actor rather than copy: on
   * the `queue` transport (worker and thread actors) they are transferred,
   * zero-copy, and detached here once the tell is sent; the other transports
   * encode bytes and copy them. Either way they belong to the actor from the
   * call on: do not read or write them afterwards.
   */
  transfer?: readonly ArrayBuffer[];
}

/** Options of {@linkcode ActorRef.ask}. */
export interface AskOptions {
  /** Rejects with a `TimeoutError` `DOMException` after this many milliseconds. */
  timeout?: number;
  /** Rejects with the signal's reason when it aborts. */
  signal?: AbortSignal;
}

/**
 * Options of {@linkcode ActorRef.stream}.
 *
 * @example End a stream after 5 seconds, or when a signal aborts
 * ```ts
 * import type { StreamOptions } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const options: StreamOptions = { timeout: 5000, signal: new AbortController().signal };
 * assert.equal(options.timeout, 5000);
 * ```
 */
export interface StreamOptions {
  /**
   * Milliseconds the whole stream may take: past them the iteration rejects
   * with a `TimeoutError` `DOMException` and the handler is ended.
   */
  timeout?: number;
  /** Ends the stream when it aborts: the iteration rejects with its reason, the handler ends. */
  signal?: AbortSignal;
}

/** Options of {@linkcode ActorRef.stop}. */
export interface StopOptions {
  /**
   * Milliseconds the whole stop may take: the actor drains and runs its stop
   * hook, and past the deadline it is terminated. For a process actor the
   * last tenth (at most 1 s) is the grace between SIGTERM and SIGKILL, so the
   * kill lands by the deadline. Default 5000; for a supervised child, its
   * `shutdown`, and a timeout given caps it.
   */
  timeout?: number;
  /**
   * Ends the wait early: on abort the actor is terminated at once (its exit
   * reason is `"killed"`, with the abort reason as its error when that is an
   * `Error`). A supervised child's incarnation is terminated the same way.
   */
  signal?: AbortSignal;
}

/** A snapshot of one actor's counters. */
export interface ActorStats {
  /** The actor's id. */
  id: string;
  /** `"starting"`, `"running"`, `"restarting"` (supervised), `"stopping"` or `"stopped"`. */
  state: "starting" | "running" | "restarting" | "stopping" | "stopped";
  /** `"worker"`, `"process"` or `"thread"`. */
  host: "worker" | "process" | "thread";
  /** The child process id of a process actor. */
  pid?: number;
  /** Times a supervisor restarted it. */
  restarts: number;
  /** The transport's name. */
  transport: string;
  /** Messages the actor has handled. */
  handled: number;
  /** Messages sent and not yet handled (at most the mailbox capacity). */
  inflight: number;
  /** Messages waiting in the sender for room in the mailbox. */
  waiting: number;
  /** Asks waiting for their reply. */
  pendingAsks: number;
  /** The mailbox capacity. */
  capacity: number;
  /** A process actor's resident memory in bytes (VmRSS), when `/proc` tells. */
  rss?: number;
  /** A worker actor's V8 heap in use in bytes, when it reported it. */
  heapUsed?: number;
  /** CPU time (user and system) the actor's process or thread used, in ms, when `/proc` tells. */
  cpuMs?: number;
  /** Since when (epoch ms) the actor has been in its current handler, while it is in one. */
  busySince?: number;
  /** The last crash of an actor of this id: its exit reason, error message and time (epoch ms). */
  lastCrash?: { reason: string; message?: string; time: number };
}

/** What an `ActorRef` talks to: a running actor, or a supervisor's slot for one. */
export interface RefTarget {
  readonly id: string;
  readonly exited: Promise<ActorExit>;
  tell(name: string, payload: unknown, options?: TellOptions): Promise<void>;
  ask(name: string, payload: unknown, options: AskOptions | undefined): Promise<unknown>;
  stream(
    name: string,
    payload: unknown,
    options: StreamOptions | undefined,
  ): AsyncIterableIterator<unknown>;
  /** `timeout` undefined: the target's own default (5000 ms, or a supervised child's `shutdown`). */
  stop(timeout: number | undefined, signal?: AbortSignal): Promise<ActorExit>;
  stats(): ActorStats;
  /**
   * A supervised child's slot: calls `listener` with each incarnation once it
   * runs (the current one at once, when one does), until the returned
   * function is called.
   */
  incarnations?(listener: (incarnation: RefTarget) => void): () => void;
}

/** What each ref talks to, for the layers above the core (see {@linkcode targetOf}). */
const TARGETS = new WeakMap<object, RefTarget>();

/**
 * What `ref` talks to, when it is an `ActorRef` (internal: the layers above
 * the core reach the actor's cell through it).
 */
export function targetOf(ref: object): RefTarget | undefined {
  return TARGETS.get(ref);
}

/**
 * A typed reference to a running actor. `D` is the type of the actor
 * module's definition, so message names, payloads and replies are checked
 * at compile time.
 *
 * Guarantees:
 * - Messages from one sender are handled in the order sent, each at most once.
 * - The mailbox is bounded; a full one applies the actor's overflow policy.
 * - Every `ask` settles exactly once: the reply, the handler's error as
 *   `ActorError`, or a typed error (timeout, abort, stopped, crashed).
 * - `stop()` handles everything sent before it, runs the stop hook, then ends the actor.
 *
 * @example Talk to a counter actor
 * ```ts
 * import { ActorSystem } from "@troupe/troupe";
 * import type { counter } from "../../examples/actors/counter.ts";
 * import assert from "node:assert/strict";
 *
 * await using system = await ActorSystem.start();
 * const ref = await system.spawn<typeof counter>(
 *   new URL("../../examples/actors/counter.ts", import.meta.url),
 *   { args: { start: 1 } },
 * );
 * ref.tell("inc", 41);
 * assert.equal(await ref.ask("get"), 42);
 * ```
 */
export class ActorRef<D extends AnyActorDefinition> implements AsyncDisposable {
  #cell: RefTarget;

  /**
   * Made by `ActorSystem.spawn`; not constructed directly.
   *
   * @param cell The runtime's record of the actor (internal).
   */
  constructor(cell: never) {
    this.#cell = cell as RefTarget;
    TARGETS.set(this, this.#cell);
  }

  /** The actor's id, unique within its system. */
  get id(): string {
    return this.#cell.id;
  }

  /** Resolves once with how the actor ended, whatever ended it. */
  get exited(): Promise<ActorExit> {
    return this.#cell.exited;
  }

  /**
   * Sends a message without waiting for a reply.
   *
   * Resolves at once when the mailbox has room. When it is full, the actor's
   * overflow policy decides: under `"backpressure"` the promise resolves once
   * there is room (await it before sending more), `"drop-newest"` and
   * `"drop-oldest"` drop a message as a dead letter, and `"fail"` throws.
   *
   * A ref from a supervisor never throws here: while its child restarts the
   * message waits for the next incarnation (or the promise rejects with
   * `ActorRestartingError` under `whileRestarting: "fail"`), and a tell it
   * cannot deliver is a dead letter whose promise rejects (already handled).
   *
   * @example
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import type { counter } from "../../examples/actors/counter.ts";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const ref = await system.spawn<typeof counter>(
   *   new URL("../../examples/actors/counter.ts", import.meta.url),
   * );
   * for (let i = 0; i < 10; i++) await ref.tell("inc", 1);
   * assert.equal(await ref.ask("get"), 10);
   * ```
   *
   * @example Wait for room in a full mailbox for at most a second
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import type { counter } from "../../examples/actors/counter.ts";
   *
   * await using system = await ActorSystem.start();
   * const ref = await system.spawn<typeof counter>(
   *   new URL("../../examples/actors/counter.ts", import.meta.url),
   *   { capacity: 8, overflow: "backpressure" },
   * );
   * await ref.tell("inc", 1, { timeout: 1000 });
   * ```
   *
   * @param name The handler's name.
   * @param args The payload (pass `undefined` for none), then optional {@linkcode TellOptions}.
   * @returns A promise that resolves once the message is in the mailbox.
   * @throws {MessageNotCloneableError} When the payload holds a function, symbol or class instance.
   * @throws {UnknownMessageError} When the actor has no such handler.
   * @throws {ActorStoppedError} When the actor has stopped (a supervised ref rejects instead).
   * @throws {MailboxFullError} When the mailbox is full and the policy is `"fail"`.
   * @throws {DOMException} `TimeoutError` when no room came within `timeout`, or the signal's
   * reason when it aborted first: the message was not sent.
   */
  tell<K extends MessageName<D>>(
    name: K,
    ...args: [...PayloadArgs<HandlersOf<D>[K]>, options?: TellOptions]
  ): Promise<void> {
    return this.#cell.tell(name, args[0], args[1] as TellOptions | undefined);
  }

  /**
   * Sends a message and waits for the handler's return value.
   *
   * @example
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import type { counter } from "../../examples/actors/counter.ts";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const ref = await system.spawn<typeof counter>(
   *   new URL("../../examples/actors/counter.ts", import.meta.url),
   * );
   * assert.equal(await ref.ask("get", undefined, { timeout: 1000 }), 0);
   * ```
   *
   * @param name The handler's name.
   * @param args The payload (pass `undefined` for none), then optional {@linkcode AskOptions}.
   * @returns The handler's return value.
   * @throws {ActorError} When the handler throws.
   * @throws {DOMException} `TimeoutError` after `timeout`, or the signal's reason when aborted.
   * @throws {ActorStoppedError} When the actor stopped before replying.
   * @throws {ActorCrashedError} When the actor died before replying.
   * @throws {ActorRestartingError} When a supervised child restarts under `whileRestarting: "fail"`.
   */
  ask<K extends MessageName<D>>(
    name: K,
    ...args: [...PayloadArgs<HandlersOf<D>[K]>, options?: AskOptions]
  ): Promise<ReplyOf<HandlersOf<D>[K]>> {
    return this.#cell.ask(name, args[0], args[1] as AskOptions | undefined) as Promise<
      ReplyOf<HandlersOf<D>[K]>
    >;
  }

  /**
   * Calls a streaming handler (an async generator, or one returning an async
   * iterable) and iterates the items it yields.
   *
   * Guarantees:
   * - Items arrive in the order the handler yields them, each once.
   * - Backpressure: the actor pulls from the handler at most 16 items
   *   (`STREAM_WINDOW`) ahead of the caller; a slow consumer pauses the
   *   handler at its `yield`.
   * - The call is sent on the first `next()`. It holds one of the actor's
   *   `concurrency` slots until its last item.
   * - Ending early (`break`, `return()`, the signal, the timeout) ends the
   *   handler: its generator's `return()` runs (its `finally` blocks) and its
   *   `ctx.signal` aborts.
   * - A handler error rejects the iteration with `ActorError` after the items
   *   before it; the actor stopping or dying rejects it with
   *   `ActorStoppedError` or `ActorCrashedError`, as an `ask` would.
   * - `stop()` drains a stream sent before it like any message: a consumer
   *   that stops reading holds the stop until the stream ends or the stop's
   *   deadline terminates the actor.
   *
   * @example Stream rows from an actor
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import type { counter } from "../../examples/actors/counter.ts";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const ref = await system.spawn<typeof counter>(
   *   new URL("../../examples/actors/counter.ts", import.meta.url),
   * );
   * const seen: number[] = [];
   * for await (const n of ref.stream("upTo", 3)) seen.push(n);
   * assert.deepEqual(seen, [0, 1, 2]);
   * ```
   *
   * @param name The streaming handler's name.
   * @param args The payload (pass `undefined` for none), then optional {@linkcode StreamOptions}.
   * @returns An async iterator over the handler's items.
   * @throws {ActorError} From the iteration, when the handler throws.
   * @throws {DOMException} From the iteration: `TimeoutError` after `timeout`, or the signal's reason.
   * @throws {ActorStoppedError} From the iteration, when the actor stopped before the end.
   * @throws {ActorCrashedError} From the iteration, when the actor died before the end.
   */
  stream<K extends StreamName<D>>(
    name: K,
    ...args: [...PayloadArgs<HandlersOf<D>[K]>, options?: StreamOptions]
  ): AsyncIterableIterator<ItemOf<HandlersOf<D>[K]>> {
    return this.#cell.stream(
      name,
      args[0],
      args[1] as StreamOptions | undefined,
    ) as AsyncIterableIterator<ItemOf<HandlersOf<D>[K]>>;
  }

  /**
   * Stops the actor through its shutdown sentinel: it handles every message
   * sent before, runs its stop hook, and ends. Past `timeout` it is terminated.
   *
   * @example
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import type { counter } from "../../examples/actors/counter.ts";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const ref = await system.spawn<typeof counter>(
   *   new URL("../../examples/actors/counter.ts", import.meta.url),
   * );
   * const exit = await ref.stop();
   * assert.equal(exit.reason, "normal");
   * ```
   *
   * @param options The stop deadline, and a signal that terminates the actor at once.
   * @returns How the actor ended.
   */
  stop(options?: StopOptions): Promise<ActorExit> {
    return this.#cell.stop(options?.timeout, options?.signal);
  }

  /**
   * A snapshot of the actor's counters.
   *
   * @example
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import type { counter } from "../../examples/actors/counter.ts";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const ref = await system.spawn<typeof counter>(
   *   new URL("../../examples/actors/counter.ts", import.meta.url),
   * );
   * assert.equal(ref.stats().state, "running");
   * ```
   *
   * @returns The counters now.
   */
  stats(): ActorStats {
    return this.#cell.stats();
  }

  /** Stops the actor (see {@linkcode ActorRef.stop}). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
