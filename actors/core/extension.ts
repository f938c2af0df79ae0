// An extension: code a layer above the core runs inside an actor's thread,
// next to its handlers, and talks to from the parent's side. The NATS layer
// uses one to serve an exposed actor's subscription in the actor's own
// thread (`../cluster/_in_actor.ts`): requests then reach the handlers
// without crossing to the parent's thread and back.
//
// The parent's end starts one with `ActorCell.extend(module, data, listener)`,
// which sends `[EXTEND, id, module, data]`; the actor's side imports `module`
// and calls its `extendActor(data, api)`. Either end may then send the other
// plain data (`[EXTEND, id, undefined, data]`, `[EXTENDED, id, data]`), in
// order with everything else on the channel. The module is loaded by URL:
// nothing below the layer that names it imports it.

/**
 * How a message an extension queued ended: `ok` with the handler's value, or
 * not, with the handler's error (`unknown` when the actor has no handler by
 * that name, `stopped` when it arrived once the actor was stopping).
 */
export type LocalSettle = (
  ok: boolean,
  value: unknown,
  why?: "unknown" | "stopped",
) => void;

/** Why the actor is ending, as its extensions are told. */
export type EndReason = "stop" | "crash" | "exit";

/** What the actor's side gives an extension. */
export interface ActorExtensionApi {
  /** The actor's id. */
  readonly actorId: string;
  /** The actor's mailbox capacity. */
  readonly capacity: number;
  /** The actor's handler names. */
  readonly handlers: readonly string[];
  /** Whether the actor still takes messages: false once it is stopping or has ended. */
  readonly taking: boolean;
  /**
   * Queues a message for the actor's handlers, behind those waiting, and runs
   * what may run now. `settle` is called once, with the outcome: the value
   * or the error of the handler, or `stopped` for a message that came too
   * late. The message takes no room the parent counts.
   */
  request(name: string, payload: unknown, settle: LocalSettle): void;
  /** Sends `data` to the extension's end in the parent (in order with the channel). */
  send(data: unknown): void;
  /** Reports a dead letter to the parent's system, as the actor's own are. */
  deadLetter(name: string, reason: string): void;
}

/** What an extension's module returns: called as the actor receives and ends. */
export interface ActorExtension {
  /** Data its parent's end sent. */
  receive?(data: unknown): void;
  /**
   * The actor is ending. Called synchronously, before the actor's last
   * report leaves (what the extension `send`s now arrives before it). For a
   * stop, the promise it returns is awaited, for at most
   * {@linkcode EXTENSION_END_MS}, before the stop hook runs. For a crash,
   * the thread runs on until the parent's end of each extension is closed,
   * for at most {@linkcode EXTENSION_CRASH_MS}: time to finish what must
   * leave the thread (its channel is closed by then; shared memory is not).
   */
  end?(why: EndReason): void | Promise<void>;
}

/** The module an `EXTEND` names. */
export interface ExtensionModule {
  extendActor(data: unknown, api: ActorExtensionApi): ActorExtension | Promise<ActorExtension>;
}

/** How long a stopping actor waits for its extensions' `end`. */
export const EXTENSION_END_MS = 1000;

/**
 * How long a worker that crashed runs on, at most, for its extensions to
 * finish (until the parent's end of each is closed) before it is terminated.
 */
export const EXTENSION_CRASH_MS = 500;
