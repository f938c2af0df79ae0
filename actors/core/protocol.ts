// The wire protocol between an actor's parent and the actor, on any transport.
// Every message is a small array whose first item is a tag. Kept as arrays of
// primitives so every codec (structured clone, v8, JSON) carries them cheaply.

// Parent -> actor.
/** `[TELL, name, payload]` */
export const TELL = 0;
/** `[ASK, id, name, payload]` */
export const ASK = 1;
/** `[STOP]`: the shutdown sentinel; the actor drains up to it. */
export const STOP = 2;
/** `[RESULT, id, ok, valueOrError]`: the answer to an actor's CALL. */
export const RESULT = 3;
/**
 * `[TELLS, name, payloads]`: consecutive tells to one handler, in order
 * (see {@linkcode compactTells}).
 */
export const TELLS = 4;
/**
 * `[TRACED, traceparent, message]`: a `TELL` or `ASK` with the sender's W3C
 * trace context; sent only while tracing is on (see `hooks.ts`).
 */
export const TRACED = 5;
/**
 * `[ABORTABLE_ASK, id, name, payload]`: an `ASK` whose caller may give up (it
 * gave a signal or a timeout), so a `CANCEL` may follow. A plain `ASK` never
 * has one: the actor tracks no cancel state for it.
 */
export const ABORTABLE_ASK = 6;
/**
 * `[STREAM, id, name, payload]`: calls a streaming handler. Its items come
 * back as `ITEM`s, at most {@linkcode STREAM_WINDOW} ahead of the `PULL`s,
 * and its end as a `REPLY` (done) or a `FAIL`, exactly as an ask's answer.
 */
export const STREAM = 7;
/**
 * `[CANCEL, id, reason]`: the caller gave up on the `ABORTABLE_ASK` or
 * `STREAM` `id` (`reason` is `"TimeoutError"` or `"AbortError"`). One for a
 * call that already ended is ignored.
 */
export const CANCEL = 8;
/** `[PULL, id, n]`: the caller took `n` more items of the `STREAM` `id`. */
export const PULL = 9;

/**
 * How many items a streaming handler may produce ahead of its consumer: the
 * actor stops pulling from the handler's iterator once this many were sent
 * and not taken, and the caller gives credit back each half window.
 */
export const STREAM_WINDOW = 16;

/**
 * `[EXTEND, id, module, data]`: the actor's thread imports `module` and starts
 * its extension `id` with `data` (see `extension.ts`); `[EXTEND, id,
 * undefined, data]` hands the running extension `id` more `data`. Sent as a
 * control message: it takes no mailbox room and is never handled.
 */
export const EXTEND = 22;

/**
 * `[LOCAL, settle, name, payload]`: a message an extension queued from inside
 * the actor's thread. Answered by calling `settle`, never sent on a channel,
 * and not credited (the parent never sent it).
 */
export const LOCAL = 24;

/** Tells whether a message tag is answered (`REPLY` or `FAIL`, or its `LOCAL` settle). */
export function expectsReply(tag: unknown): boolean {
  return tag === ASK || tag === ABORTABLE_ASK || tag === STREAM || tag === LOCAL;
}

// Actor -> parent.
/** `[READY, handlerNames]` */
export const READY = 10;
/** `[INIT_FAILED, error]` */
export const INIT_FAILED = 11;
/** `[REPLY, id, value]` */
export const REPLY = 12;
/** `[FAIL, id, error, unknownName]`: the handler threw, or the name was unknown. */
export const FAIL = 13;
/** `[CREDIT, n]`: n messages left the mailbox (handled or dropped). */
export const CREDIT = 14;
/** `[DEAD_LETTER, name, reason]`: a tell the actor could not handle. */
export const DEAD_LETTER = 15;
/** `[BYE]`: the stop hook ran; the actor is gone. */
export const BYE = 16;
/**
 * `[CRASH, error, handling]`: an uncaught error; the actor is dying while
 * handling the messages in `handling` ({@linkcode Handling}).
 */
export const CRASH = 17;
/** `[EXIT, code, handling]`: the actor's code called `self.close()` or `Deno.exit()`. */
export const EXIT = 18;

/**
 * The messages an actor was handling when it died, by name (never their
 * payload), and whether each was an ask, in the order they arrived.
 */
export type Handling = [name: string, ask: boolean][];
/** `[HEARTBEAT]` */
export const HEARTBEAT = 19;
/**
 * `[CALL, id, service, op, args]`: the actor asks its system for something (a
 * queue, a semaphore); `[service, op, args]` is a {@linkcode SystemCall}.
 */
export const CALL = 20;
/** `[ITEM, id, value]`: one item of the `STREAM` `id` (the value is absent for `undefined`). */
export const ITEM = 21;
/** `[EXTENDED, id, data]`: the extension `id` in the actor's thread sends its parent's end `data`. */
export const EXTENDED = 23;

/**
 * What an actor's CALL asks its system for, after the call's id: one kind per
 * operation on a system queue or semaphore, told apart by `service` and `op`.
 * A timeout is in milliseconds; `undefined` waits for as long as it takes.
 */
export type SystemCall =
  | [service: "queue", op: "put", args: [name: string, item: unknown, timeout: number | undefined]]
  | [service: "queue", op: "get", args: [name: string, timeout: number | undefined]]
  | [service: "queue", op: "getMany", args: [name: string, max: number]]
  | [service: "queue", op: "putBack", args: [name: string, count: number]]
  | [service: "queue", op: "taskDone", args: [name: string]]
  | [service: "queue", op: "join", args: [name: string, timeout: number | undefined]]
  | [service: "semaphore", op: "acquire", args: [name: string, timeout: number | undefined]]
  | [service: "semaphore", op: "release", args: [name: string]];

/** What the parent sends a fresh worker before anything else. */
export interface BootMessage {
  actorId: string;
  module: string;
  exportName: string | undefined;
  args: unknown;
  capacity: number;
  heartbeatMs: number;
  /** The channel's options, for worker actors (a process actor gets them on stdin). */
  transport?: { options: unknown };
  /** This incarnation's owner id for semaphores (never reused). */
  owner: number;
  /** The system's semaphores when the actor started (worker actors share their memory). */
  semaphores: Record<string, { name: string; buffer: SharedArrayBuffer }>;
  /**
   * Int32Array over shared memory, read by the parent's watchdog: [busy, taken,
   * heap KiB] (see {@linkcode LIVENESS_TAKEN}, {@linkcode LIVENESS_HEAP_KIB}).
   */
  liveness: SharedArrayBuffer | undefined;
  /**
   * Tracing is on: the module the host loads for the actor's `ServeHooks`
   * (see `hooks.ts`), and the attributes its spans carry.
   */
  telemetry?: { module: string; attributes: Record<string, string | number> };
}

/**
 * The liveness slot where a worker actor's bootstrap counts the messages its
 * thread took from the channel (modulo 2^32). The watchdog compares it with
 * the messages sent: while some were sent and not taken, the thread may be
 * decoding a large one, and answers no heartbeat meanwhile. Slot 0 is busy.
 */
export const LIVENESS_TAKEN = 1;

/** The liveness slot where a worker actor writes its V8 heap in use, in KiB (0: not yet). */
export const LIVENESS_HEAP_KIB = 2;

// Errors travel as plain data, bounded, the same on every channel and over NATS.
export { serializeError } from "../../internal/error_wire.ts";

/**
 * Returns `batch` with each run of two or more consecutive `[TELL, name,
 * payload]` to one handler folded into one `[TELLS, name, payloads]`, or
 * `batch` itself when it has no such run. The receiver handles the payloads
 * one by one, exactly as the tells they were. A batch of tells then costs
 * its decoder one array per run instead of one per message: `JSON.parse` and
 * dispatch of a batch of small tells measured ~40% faster. Folding keeps
 * the batch's kind: each payload is the same value, in a different array.
 */
export function compactTells(messages: readonly unknown[]): readonly unknown[] {
  const batch = messages as readonly unknown[][];
  // Built only once a run is found: a batch without one (asks, replies,
  // single tells) is sent as it is.
  let out: unknown[][] | undefined;
  let run: unknown[] | undefined;
  for (let i = 0; i < batch.length; i++) {
    const message = batch[i]!;
    // Inside a run, the previous message was a tell to the run's handler.
    if (run !== undefined && foldable(message) && message[1] === batch[i - 1]![1]) {
      run.push(message[2]);
      continue;
    }
    run = undefined;
    const next = batch[i + 1];
    if (foldable(message) && next !== undefined && foldable(next) && next[1] === message[1]) {
      out ??= batch.slice(0, i);
      run = [message[2]];
      out.push([TELLS, message[1], run]);
    } else out?.push(message);
  }
  return out ?? messages;
}

/** A tell with a payload: one a run may take (JSON cannot hold a missing one in an array). */
function foldable(message: readonly unknown[]): boolean {
  return message[0] === TELL && message.length === 3;
}
