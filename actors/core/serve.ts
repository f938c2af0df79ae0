// The actor's side of the runtime, independent of where it runs (worker or
// process): loads the actor module, runs init, handles messages one at a time
// (or up to `concurrency`), returns credits, replies, and stops at the sentinel.

import type { Transport } from "../../transports/transport.ts";
import { Coalescer, hintsFor } from "./_coalesce.ts";
import { type BatchKind, PLAIN_KIND, UNKNOWN_KIND } from "../../internal/batch.ts";
import { every } from "../../internal/ticker.ts";
import { QueueClosedError, type RemoteErrorInfo, reviveError } from "../../internal/errors.ts";
// Types only: the shared-memory semaphore is loaded when the actor is given one,
// and the work queue lives in the parent.
import type { SemaphoreHandle, SemaphorePermit } from "../sync/semaphore.ts";
import type { QueueHandle, QueueWaitOptions } from "../sync/work_queue.ts";
import {
  type ActorContext,
  type ActorDefinition,
  type Handlers,
  isActorDefinition,
} from "./define_actor.ts";
import {
  ASK,
  type BootMessage,
  BYE,
  CALL,
  CRASH,
  CREDIT,
  DEAD_LETTER,
  EXIT,
  FAIL,
  HEARTBEAT,
  INIT_FAILED,
  READY,
  REPLY,
  RESULT,
  serializeError,
  STOP,
  type SystemCall,
  TELL,
  TELLS,
} from "./protocol.ts";
import { PayloadInspector } from "../../internal/payload.ts";

/** Lets the host report exits and crashes that happen outside the message loop. */
export interface ServeControl {
  /** The actor's code is exiting on its own (`self.close()`, `Deno.exit()`). */
  exit(code: number): void;
  /** An uncaught error or unhandled rejection: the actor is dying. */
  crash(error: unknown): void;
}

type Message = unknown[];

type LoadedDefinition = ActorDefinition<unknown, unknown, Handlers<unknown>>;

function findDefinition(
  mod: Record<string, unknown>,
  exportName: string | undefined,
): LoadedDefinition {
  if (exportName !== undefined) {
    const value = mod[exportName];
    if (!isActorDefinition(value)) {
      throw new TypeError(`Export "${exportName}" is not an actor made with defineActor()`);
    }
    return value;
  }
  const found = Object.entries(mod).filter(([, value]) => isActorDefinition(value));
  if (found.length === 1) return found[0]![1] as LoadedDefinition;
  if (found.length === 0) {
    throw new TypeError("The module exports no actor made with defineActor()");
  }
  throw new TypeError(
    `The module exports several actors (${
      found.map(([n]) => n).join(", ")
    }): pick one with the spawn option "export"`,
  );
}

/** The shared-memory semaphore module, which a worker actor given semaphores needs. */
export type SemaphoreModule = typeof import("../sync/semaphore.ts");

/**
 * Serves one actor over `transport` until its stop sentinel, its parent
 * closing the channel, or a crash. `onEnd` runs once, last. The host loads
 * the actor module (`actor`; a failed load is reported as the actor's init
 * failure) and, for an actor given shared semaphores, `semaphoreModule`:
 * the actor's side imports nothing itself, which a worker with restricted
 * permissions might not be allowed to.
 */
export function serve(
  boot: BootMessage,
  transport: Transport,
  onEnd: () => void,
  actor: Record<string, unknown> | Promise<Record<string, unknown>>,
  semaphoreModule?: SemaphoreModule,
): ServeControl {
  const stopController = new AbortController();
  const calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let nextCall = 1;
  /** Asks the parent's system for a service; the answer comes back as a RESULT. */
  function call(...[service, op, args]: SystemCall): Promise<unknown> {
    if (ended) return Promise.reject(new Error("The actor has ended"));
    const id = nextCall++;
    return new Promise((resolve, reject) => {
      calls.set(id, { resolve, reject });
      post([CALL, id, service, op, args]);
    });
  }
  function settleCall(message: Message): void {
    const pending = calls.get(message[1] as number);
    if (!pending) return;
    calls.delete(message[1] as number);
    if (message[2] === true) pending.resolve(message[3]);
    else {
      const info = message[3] as RemoteErrorInfo;
      pending.reject(
        info.name === "QueueClosedError" ? new QueueClosedError(info.message) : reviveError(info),
      );
    }
  }
  const queues = new Map<string, QueueHandle<unknown>>();
  const semaphores = new Map<string, SemaphoreHandle>();
  const ctx: ActorContext = {
    id: boot.actorId,
    signal: stopController.signal,
    queue<T>(name: string): QueueHandle<T> {
      let handle = queues.get(name);
      if (!handle) {
        handle = remoteQueue(name, call);
        queues.set(name, handle);
      }
      return handle as QueueHandle<T>;
    },
    semaphore(name: string): SemaphoreHandle {
      let handle = semaphores.get(name);
      if (!handle) {
        const shared = boot.semaphores[name];
        handle = shared && semaphoreModule
          ? semaphoreModule.Semaphore.from(shared, { owner: boot.owner })
          : remoteSemaphore(name, boot.owner, call);
        semaphores.set(name, handle);
      }
      return handle;
    },
  };
  const liveness = boot.liveness ? new Int32Array(boot.liveness) : undefined;
  const creditEvery = Math.max(1, Math.floor(boot.capacity / 8));

  const out = new Coalescer<unknown[]>(deliver);
  if (transport.batchBytes !== undefined) out.maxBytes = transport.batchBytes;
  const inspector = new PayloadInspector();
  let sending: Promise<void> | undefined;
  let ended = false;
  let stopHeartbeat: (() => void) | undefined;

  let state: unknown;
  let handlers: Handlers<unknown> = {};
  let stopHook: ((state: unknown, ctx: ActorContext) => unknown) | undefined;
  let concurrency = 1;

  const queue: Message[] = [];
  let head = 0;
  /** Payloads of the `TELLS` run at `queue[head]` already handled. */
  let runAt = 0;
  let running = 0;
  let uncredited = 0;
  let stopping = false;

  /** Queues a message; `kind` says what travels in it, when known (see `PayloadInspector`). */
  function post(message: unknown[], kind: BatchKind = UNKNOWN_KIND, bytes = 0): void {
    out.push(message, kind, bytes);
  }

  function deliver(batch: unknown[][], kind: BatchKind | undefined): void {
    if (ended) return;
    let pending: void | Promise<void>;
    try {
      pending = transport.send(batch, hintsFor(kind, false));
    } catch {
      pending = sendOneByOne(batch);
    }
    if (pending) {
      out.pause();
      sending = pending.then(() => {
        sending = undefined;
        out.resume();
      }, (error) => die(error));
    }
  }

  // A batch failed to encode (a reply over the frame limit, say): send it
  // message by message, in order, turning a reply that cannot go into a
  // failure of that ask. Anything else failing means the channel is broken,
  // and the rejection ends the actor through deliver().
  async function sendOneByOne(batch: unknown[][]): Promise<void> {
    for (const message of batch) {
      try {
        await transport.send([message]);
      } catch (error) {
        if ((message as Message)[0] !== REPLY) throw error;
        await transport.send([[FAIL, (message as Message)[1], serializeError(error), false]]);
      }
    }
  }

  function flushNow(): void {
    const batch = out.take();
    if (batch.length === 0 || ended) return;
    try {
      void transport.send(batch);
    } catch {
      // Best effort: the actor is going away.
    }
  }

  function setBusy(busy: boolean): void {
    if (liveness) Atomics.store(liveness, 0, busy ? 1 : 0);
  }

  function credit(force: boolean): void {
    if (uncredited > 0 && (force || uncredited >= creditEvery)) {
      post([CREDIT, uncredited], PLAIN_KIND);
      uncredited = 0;
    }
  }

  function settle(message: Message, ok: boolean, value: unknown): void {
    if (message[0] === ASK) {
      if (ok) {
        try {
          if (value === undefined) {
            // Read back as undefined, and keeps the batch plain data (see ActorCell.tell).
            post([REPLY, message[1]], PLAIN_KIND);
          } else {
            const bytes = inspector.inspect(value, "reply");
            post([REPLY, message[1], value], inspector.kind, bytes);
          }
        } catch (error) {
          post([FAIL, message[1], serializeError(error), false], PLAIN_KIND);
        }
      } else post([FAIL, message[1], serializeError(value), false], PLAIN_KIND);
    } else if (!ok) {
      // A tell has nobody to answer; the error is reported as a dead letter.
      post(
        [DEAD_LETTER, message[1], `handler threw ${serializeError(value).message}`],
        PLAIN_KIND,
      );
    }
  }

  /**
   * Handles one message: `message` is its envelope (`[TELL, name, payload]`,
   * `[ASK, id, name, payload]`, or the `[TELLS, name, payloads]` run it came
   * in, which settles like a tell) and `payload` its payload.
   */
  function handle(message: Message, payload: unknown): void {
    const isAsk = message[0] === ASK;
    const name = (isAsk ? message[2] : message[1]) as string;
    const handler = Object.hasOwn(handlers, name) ? handlers[name] : undefined;
    uncredited++;
    if (!handler) {
      if (isAsk) post([FAIL, message[1], serializeError(new Error("unknown")), true], PLAIN_KIND);
      else post([DEAD_LETTER, name, "unknown message"], PLAIN_KIND);
      return;
    }
    let result: unknown;
    try {
      result = handler(state, payload, ctx);
    } catch (error) {
      settle(message, false, error);
      return;
    }
    if (result instanceof Promise) {
      running++;
      result.then(
        (value) => settle(message, true, value),
        (error) => settle(message, false, error),
      ).finally(() => {
        running--;
        pump();
      });
      return;
    }
    settle(message, true, result);
  }

  function pump(): void {
    setBusy(true);
    while (running < concurrency && head < queue.length && !stopping) {
      const message = queue[head]!;
      if (message[0] === TELLS) {
        // A run of tells: one payload per turn, the run leaves the queue after its last.
        const payloads = message[2] as unknown[];
        const payload = payloads[runAt++];
        if (runAt === payloads.length) {
          queue[head++] = undefined as unknown as Message;
          runAt = 0;
        }
        handle(message, payload);
      } else {
        queue[head++] = undefined as unknown as Message;
        if (message[0] === STOP) {
          stopping = true;
          break;
        }
        handle(message, message[0] === ASK ? message[3] : message[2]);
      }
      if (uncredited >= creditEvery) {
        // Mid-batch: the sender may refill the mailbox while this batch is handled.
        credit(false);
        out.flush();
      }
    }
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
    }
    credit(head === queue.length);
    if (stopping && running === 0) void finish();
    setBusy(running > 0);
    // Every handler has settled: nothing else will join these replies, so they
    // leave now rather than a few microtask turns later (~3 us of an ask).
    if (running === 0) out.flush();
  }

  async function finish(): Promise<void> {
    if (ended) return;
    stopController.abort(new Error("actor stopping"));
    // Messages after the sentinel cannot be handled: report them.
    for (let i = head; i < queue.length; i++) {
      const message = queue[i]!;
      if (message[0] === ASK) post([FAIL, message[1], serializeError(new Error("stopped")), false]);
      else if (message[0] === TELL) post([DEAD_LETTER, message[1], "sent after stop"]);
      else if (message[0] === TELLS) {
        // Untouched: the sentinel before it was taken only after the run ahead of it ended.
        for (const _ of message[2] as unknown[]) post([DEAD_LETTER, message[1], "sent after stop"]);
      }
    }
    queue.length = head = 0;
    try {
      await stopHook?.(state, ctx);
    } catch (error) {
      post([CRASH, serializeError(error)]);
    }
    post([BYE]);
    await drainOut();
    end();
  }

  async function drainOut(): Promise<void> {
    while (sending || out.size > 0) {
      if (sending) await sending.catch(() => {});
      else out.flush();
      if (ended) return;
    }
  }

  function end(): void {
    if (ended) return;
    ended = true;
    for (const pending of calls.values()) pending.reject(new Error("The actor has ended"));
    calls.clear();
    stopHeartbeat?.();
    setBusy(false);
    void transport.close().finally(onEnd);
  }

  function die(error: unknown): void {
    if (ended) return;
    stopController.abort(error);
    flushNow();
    try {
      void transport.send([[CRASH, serializeError(error)]]);
    } catch {
      // The channel itself is broken; the host's error path reports it.
    }
    end();
  }

  async function start(): Promise<void> {
    try {
      const mod = await actor;
      const spec = findDefinition(mod, boot.exportName).spec;
      handlers = spec.handlers;
      stopHook = spec.stop;
      concurrency = spec.concurrency ?? 1;
      if (spec.init) state = await spec.init(boot.args, ctx);
    } catch (error) {
      post([INIT_FAILED, serializeError(error)]);
      await drainOut();
      end();
      return;
    }
    post([READY, Object.keys(handlers)]);
    if (boot.heartbeatMs > 0) {
      stopHeartbeat = every(boot.heartbeatMs, () => post([HEARTBEAT], PLAIN_KIND));
    }
    try {
      for await (const batch of transport.receive()) {
        for (const message of batch) {
          if ((message as Message)[0] === RESULT) settleCall(message as Message);
          else queue.push(message as Message);
        }
        if (!stopping) pump();
      }
    } catch (error) {
      die(error);
      return;
    }
    // The parent closed the channel without a sentinel: it is gone or killing us.
    if (!stopping) end();
  }

  void start();

  return {
    exit(code: number): void {
      if (ended) return;
      post([EXIT, code]);
      flushNow();
      ended = true;
      stopHeartbeat?.();
    },
    crash(error: unknown): void {
      die(error);
    },
  };
}

/** An actor's handle on a system queue: every operation is a call to the parent. */
function remoteQueue(
  name: string,
  call: (...call: SystemCall) => Promise<unknown>,
): QueueHandle<unknown> {
  const timeoutOf = (options?: QueueWaitOptions) => {
    if (options?.signal) {
      throw new TypeError(
        `Cannot wait on queue "${name}" with a signal from inside an actor: pass a timeout`,
      );
    }
    return options?.timeout;
  };
  const handle: QueueHandle<unknown> = {
    put: async (item, options) => void await call("queue", "put", [name, item, timeoutOf(options)]),
    get: (options) => call("queue", "get", [name, timeoutOf(options)]),
    taskDone: async () => void await call("queue", "taskDone", [name]),
    join: async (options) => void await call("queue", "join", [name, timeoutOf(options)]),
    async *[Symbol.asyncIterator]() {
      while (true) {
        try {
          yield await handle.get();
        } catch (error) {
          if (error instanceof QueueClosedError) return;
          throw error;
        }
      }
    },
  };
  return handle;
}

/** A process actor's handle on a system semaphore: the parent holds the permits for it. */
function remoteSemaphore(
  name: string,
  owner: number,
  call: (...call: SystemCall) => Promise<unknown>,
): SemaphoreHandle {
  return {
    name,
    async acquire(options) {
      if (options?.signal) {
        throw new TypeError(
          `Cannot acquire "${name}" with a signal from a process actor: pass a timeout`,
        );
      }
      await call("semaphore", "acquire", [name, options?.timeout]);
      let released = false;
      const permit: SemaphorePermit = {
        owner,
        get released() {
          return released;
        },
        release() {
          if (released) return;
          released = true;
          void call("semaphore", "release", [name]).catch(() => {});
        },
        [Symbol.dispose]() {
          permit.release();
        },
        [Symbol.asyncDispose]() {
          permit.release();
          return Promise.resolve();
        },
      };
      return permit;
    },
    release() {
      void call("semaphore", "release", [name]).catch(() => {});
    },
  };
}
