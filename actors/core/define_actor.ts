/**
 * `defineActor`: an actor's handlers, private state and lifecycle hooks, in
 * the module that runs inside the actor's worker or process.
 *
 * @module
 */

import type { QueueHandle } from "../sync/work_queue.ts";
import type { SemaphoreHandle } from "../sync/semaphore.ts";

/** What a handler and the lifecycle hooks learn about the actor they run in. */
export interface ActorContext {
  /** The actor's id, unique within its system. */
  readonly id: string;
  /**
   * Aborted when the actor starts stopping (its stop sentinel arrived or it
   * is being killed) and, in a handler, when its caller gives up on the call:
   * an `ask` with a `signal` or `timeout` that aborts or times out, or a
   * `stream` the caller ends early (`break`, its signal, its timeout). The
   * reason is then a `DOMException` named `"TimeoutError"` or `"AbortError"`.
   * Each such call gets its own context; a call nobody can cancel (a tell,
   * an ask without signal or timeout) shares the actor's, which only the
   * stop aborts. JavaScript cannot pre-empt a running handler: long work
   * checks the signal (or passes it on) to stop early.
   */
  readonly signal: AbortSignal;
  /**
   * The system's work queue of that name (made with `system.queue(name)`),
   * from worker and process actors alike.
   */
  queue<T>(name: string): QueueHandle<T>;
  /**
   * The system's semaphore of that name (made with `system.semaphore`).
   * Permits this actor still holds when it ends are given back by the system.
   */
  semaphore(name: string): SemaphoreHandle;
}

/**
 * A message handler: gets the actor's state, the message's payload and the
 * context; its return value (or the value its promise resolves to) is the
 * reply to an `ask`.
 */
// deno-lint-ignore no-explicit-any
export type Handler<S> = (state: S, payload: any, ctx: ActorContext) => unknown;

/** The handlers of an actor, by message name. */
export type Handlers<S> = Record<string, Handler<S>>;

/** The parts of an actor definition, as passed to {@linkcode defineActor}. */
export interface ActorSpec<S, A, H extends Handlers<S>> {
  /**
   * Builds the actor's private state from the spawn arguments. Runs once,
   * before the first message; `spawn` rejects if it throws. If it uses its
   * second parameter, annotate it (`ctx: ActorContext`) so TypeScript can
   * infer the state type from the return value.
   */
  init?: (args: A, ctx: ActorContext) => S | Promise<S>;
  /** The message handlers, by name. */
  handlers: H;
  /** Runs once after the last message, when the actor stops cleanly. */
  stop?: (state: S, ctx: ActorContext) => void | Promise<void>;
  /**
   * How many messages may be handled at once. Defaults to 1: one at a time,
   * in arrival order. Raise it only for handlers that are safe to interleave.
   */
  concurrency?: number;
  /**
   * Lend received byte arrays instead of copying them (default `false`). On
   * the `ring` transport, a `Uint8Array` of 4 KiB or more in a message then
   * arrives as a view of the ring's shared memory: its bytes are neither
   * copied nor given a buffer of their own, so large byte payloads move at
   * memory speed. The view is valid only while the handler runs
   * synchronously, until it returns or first awaits; the ring then reuses
   * that memory. To keep the bytes, or to pass them somewhere that outlives
   * the handler, copy them (`bytes.slice()`). The runtime copies them itself
   * where it holds on to them: in a message that still waits in the mailbox
   * when the batch it came in was handled, in a reply or stream item, in the
   * payload of a streaming handler (an async generator's body runs only when
   * pulled), and in a call to the parent. Other transports copy as always,
   * so a handler written for lent bytes runs unchanged on them. Lent views
   * are backed by a `SharedArrayBuffer`.
   */
  lendBytes?: boolean;
}

/**
 * An actor definition: what `defineActor` returns and an actor module exports.
 * The type parameters carry the protocol to the parent's `ActorRef`.
 */
export interface ActorDefinition<S, A, H extends Handlers<S>> {
  /** Marks the value as an actor definition. */
  readonly kind: "troupe.actor";
  /** The parts as given. */
  readonly spec: ActorSpec<S, A, H>;
}

/**
 * Defines an actor: its state, handlers and hooks. Export the result from
 * the actor's module; the parent spawns that module by URL and gets a typed
 * `ActorRef` by naming the definition's type.
 *
 * Guarantees:
 * - Messages are handled one at a time, in arrival order, unless
 *   `concurrency` is raised.
 * - A handler that throws fails only that message: the caller's `ask`
 *   rejects with `ActorError`, and the actor keeps running.
 * - `stop` runs once after every message sent before the stop sentinel.
 *
 * @example A counter actor (in its own module, say `counter.ts`)
 * ```ts
 * import { defineActor } from "@troupe/troupe/actor";
 * import assert from "node:assert/strict";
 *
 * export const counter = defineActor({
 *   init: (args: { start: number }) => ({ count: args.start }),
 *   handlers: {
 *     inc(state, n: number) {
 *       state.count += n;
 *     },
 *     get: (state) => state.count,
 *   },
 * });
 * assert.equal(typeof counter.spec.handlers.inc, "function");
 * ```
 *
 * @param spec The actor's init, handlers, stop hook and concurrency.
 * @returns The definition, to be exported from the actor module.
 */
export function defineActor<S = undefined, A = undefined, H extends Handlers<S> = Handlers<S>>(
  spec: ActorSpec<S, A, H>,
): ActorDefinition<S, A, H> {
  if (typeof spec !== "object" || spec === null || typeof spec.handlers !== "object") {
    throw new TypeError("Cannot define actor: handlers must be an object of functions");
  }
  for (const [name, handler] of Object.entries(spec.handlers)) {
    if (typeof handler !== "function") {
      throw new TypeError(
        `Cannot define actor: handler "${name}" must be a function, received ${typeof handler}`,
      );
    }
  }
  const concurrency = spec.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(
      `Cannot define actor: concurrency must be a positive integer, received ${concurrency}`,
    );
  }
  if (spec.lendBytes !== undefined && typeof spec.lendBytes !== "boolean") {
    throw new TypeError(
      `Cannot define actor: lendBytes must be a boolean, received ${typeof spec.lendBytes}`,
    );
  }
  return { kind: "troupe.actor", spec };
}

/** Tells whether a value is an actor definition (works across module copies). */
export function isActorDefinition(
  value: unknown,
): value is ActorDefinition<unknown, unknown, Handlers<unknown>> {
  return typeof value === "object" && value !== null &&
    (value as { kind?: unknown }).kind === "troupe.actor";
}

// deno-lint-ignore no-explicit-any
type AnyDefinition = ActorDefinition<any, any, any>;

/** The handlers of an actor definition type. */
export type HandlersOf<D> = D extends ActorDefinition<infer _S, infer _A, infer H> ? H : never;

/** The spawn arguments (`init`'s first parameter) of an actor definition type. */
export type ArgsOf<D> = D extends ActorDefinition<infer _S, infer A, infer _H> ? A : never;

/** The message names of an actor definition type. */
export type MessageName<D> = keyof HandlersOf<D> & string;

/**
 * The payload argument a message takes: none, optional or required, as the
 * handler declares its second parameter (one that accepts `undefined` is
 * optional, so a handler that only needs `ctx` can declare `_: undefined, ctx`).
 */
export type PayloadArgs<F> = F extends (state: never, ...rest: infer R) => unknown
  ? R extends [] ? [payload?: undefined]
  : R extends [infer P, ...unknown[]] ? (undefined extends P ? [payload?: P] : [payload: P])
  : R extends [(infer P)?, ...unknown[]] ? [payload?: P]
  : [payload?: undefined]
  : never;

/** What an `ask` of a handler resolves to: its return value, awaited. */
export type ReplyOf<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;

/**
 * The item type of a streaming handler (an async generator, or one that
 * returns an async iterable or an iterable): what `ActorRef.stream` yields.
 *
 * @example The item type of an async generator handler
 * ```ts
 * import { defineActor, type HandlersOf, type ItemOf } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const rows = defineActor({
 *   handlers: {
 *     async *query(_state, n: number) {
 *       for (let i = 0; i < n; i++) yield { id: i };
 *     },
 *   },
 * });
 * const row: ItemOf<HandlersOf<typeof rows>["query"]> = { id: 1 };
 * assert.equal(row.id, 1);
 * ```
 */
export type ItemOf<F> = ReplyOf<F> extends AsyncIterable<infer T> ? T
  : ReplyOf<F> extends string ? never
  : ReplyOf<F> extends Iterable<infer T> ? T
  : never;

/**
 * The names of an actor definition type's streaming handlers (see
 * {@linkcode ItemOf}): the names `ActorRef.stream` takes.
 *
 * @example Only streaming handlers are stream names
 * ```ts
 * import { defineActor, type StreamName } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const rows = defineActor({
 *   handlers: {
 *     async *query(_state, n: number) {
 *       for (let i = 0; i < n; i++) yield i;
 *     },
 *     count: () => 3,
 *   },
 * });
 * const name: StreamName<typeof rows> = "query"; // "count" would not compile
 * assert.equal(name, "query");
 * ```
 */
export type StreamName<D> = {
  [K in MessageName<D>]: [ItemOf<HandlersOf<D>[K]>] extends [never] ? never : K;
}[MessageName<D>];

/** Any actor definition; the constraint of `ActorRef`'s type parameter. */
export type AnyActorDefinition = AnyDefinition;
