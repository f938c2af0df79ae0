// The actor's side of the runtime, independent of where it runs (worker or
// process): loads the actor module, runs init, handles messages one at a time
// (or up to `concurrency`), returns credits, replies, and stops at the sentinel.
// This file holds the actor's life (`ServedActor`) and its calls to the parent
// (`ParentCalls`, the remote queue and semaphore handles); the mailbox pump is
// in `_mailbox.ts`, everything sent to the parent in `_outgoing.ts`.

import type { Transport } from "../../transports/transport.ts";
import { PLAIN_KIND } from "../../internal/batch.ts";
import { every } from "../../internal/ticker.ts";
import { noop, settleWithin } from "../../internal/abort.ts";
import { queueItems } from "./_queue_reader.ts";
import { QueueClosedError } from "../../internal/queue_errors.ts";
// Types only: every error class of the package (what revives a failed call's
// error) loads on the first such failure, not before the first reply.
import type { RemoteErrorInfo } from "../../internal/error_wire.ts";
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
  type BootMessage,
  BYE,
  CALL,
  CANCEL,
  CRASH,
  DEAD_LETTER,
  EXIT,
  EXTEND,
  EXTENDED,
  HEARTBEAT,
  INIT_FAILED,
  LOCAL,
  PULL,
  READY,
  RESULT,
  serializeError,
  type SystemCall,
  TRACED,
} from "./protocol.ts";
import type { ServeHooks, ServeHooksModule } from "./hooks.ts";
import { Mailbox } from "./_mailbox.ts";
import { lendingHere, privatize } from "../../internal/lent.ts";
import { type Message, Outgoing } from "./_outgoing.ts";
import { ServedCalls } from "./_served_calls.ts";
import {
  type ActorExtension,
  type ActorExtensionApi,
  type EndReason,
  EXTENSION_END_MS,
  type ExtensionModule,
  type LocalSettle,
} from "./extension.ts";

/** Lets the host report exits and crashes that happen outside the message loop. */
export interface ServeControl {
  /** The actor's code is exiting on its own (`self.close()`, `Deno.exit()`). */
  exit(code: number): void;
  /** An uncaught error or unhandled rejection: the actor is dying. */
  crash(error: unknown): void;
}

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
 * permissions might not be allowed to. `hooksModule`, loaded by the host
 * when the boot message names one (tracing is on), makes the hooks called
 * around each handler.
 */
export function serve(
  boot: BootMessage,
  transport: Transport,
  onEnd: () => void,
  actor: Record<string, unknown> | Promise<Record<string, unknown>>,
  semaphoreModule?: SemaphoreModule,
  hooksModule?: ServeHooksModule,
): ServeControl {
  return new ServedActor(boot, transport, onEnd, actor, semaphoreModule, hooksModule);
}

/**
 * One actor's life on its side of the channel: start (load, init, READY),
 * the receive loop that feeds the mailbox, and the three ways to end:
 * stopping at the sentinel, the parent closing the channel, dying.
 * The units it wires: `Outgoing` (all that goes to the parent), `Mailbox`
 * (what waits and runs), `ParentCalls` (the actor's calls to its system).
 * The actor has ended once `Outgoing` is closed.
 */
class ServedActor implements ServeControl {
  #boot: BootMessage;
  #transport: Transport;
  #onEnd: () => void;
  #stopController = new AbortController();
  #out: Outgoing;
  #calls: ParentCalls;
  #ctx: ActorContext;
  /** The calls in flight that their callers may cancel (see `ActorContext.signal`). */
  #served: ServedCalls;
  /** There once `init` has run. */
  #mailbox: Mailbox | undefined;
  #state: unknown;
  #stopHook: ((state: unknown, ctx: ActorContext) => unknown) | undefined;
  #stopHeartbeat: (() => void) | undefined;
  #hooks: ServeHooks | undefined;
  /** The extensions started in this thread, by id, once their module has loaded. */
  #extensions = new Map<number, Promise<ActorExtension | undefined>>();
  /** Those loaded, for the synchronous calls of an end. */
  #loaded = new Map<number, ActorExtension>();
  #handlerNames: readonly string[] = [];

  constructor(
    boot: BootMessage,
    transport: Transport,
    onEnd: () => void,
    actor: Record<string, unknown> | Promise<Record<string, unknown>>,
    semaphoreModule: SemaphoreModule | undefined,
    hooksModule: ServeHooksModule | undefined,
  ) {
    this.#boot = boot;
    this.#hooks = hooksModule?.serveHooks(boot);
    this.#transport = transport;
    this.#onEnd = onEnd;
    this.#out = new Outgoing(transport, boot.capacity, (error) => this.#die(error));
    this.#calls = new ParentCalls(this.#out);
    this.#ctx = actorContext(boot, this.#stopController.signal, this.#calls, semaphoreModule);
    this.#served = new ServedCalls(this.#ctx);
    void this.#start(actor);
  }

  async #start(actor: Record<string, unknown> | Promise<Record<string, unknown>>): Promise<void> {
    const boot = this.#boot;
    const out = this.#out;
    let spec: LoadedDefinition["spec"];
    try {
      const mod = await actor;
      spec = findDefinition(mod, boot.exportName).spec;
      this.#stopHook = spec.stop;
      if (spec.init) this.#state = await spec.init(boot.args, this.#ctx);
    } catch (error) {
      out.post([INIT_FAILED, serializeError(error)]);
      await out.drain();
      this.#end();
      return;
    }
    this.#handlerNames = Object.keys(spec.handlers);
    const mailbox = this.#mailbox = new Mailbox({
      handlers: spec.handlers,
      state: this.#state,
      ctx: this.#ctx,
      concurrency: spec.concurrency ?? 1,
      out,
      liveness: boot.liveness ? new Int32Array(boot.liveness) : undefined,
      stopped: () => void this.#finish(),
      hooks: this.#hooks,
      calls: this.#served,
    });
    // Lent byte arrays (`lendBytes`): what outlives the handler is copied (see internal/lent.ts).
    const lending = spec.lendBytes === true && this.#transport.lendBytes?.() === true;
    if (lending) {
      out.lend();
      lendingHere.active = true;
    }
    out.post([READY, Object.keys(spec.handlers)]);
    if (boot.heartbeatMs > 0) {
      this.#stopHeartbeat = every(boot.heartbeatMs, () => out.post([HEARTBEAT], PLAIN_KIND));
    }
    try {
      for await (const batch of this.#transport.receive()) {
        const fresh = mailbox.waiting;
        for (const message of batch) {
          const tag = (message as Message)[0];
          if (tag === RESULT) {
            this.#calls.settle(lending ? privatize(message) as Message : message as Message);
          } else if (tag === CANCEL) {
            this.#served.cancel(
              (message as Message)[1] as number,
              (message as Message)[2] as string,
            );
          } else if (tag === PULL) {
            this.#served.pull((message as Message)[1] as number, (message as Message)[2] as number);
          } else if (tag === EXTEND) {
            this.#extend(message as Message);
          } else if (tag === TRACED) {
            mailbox.push((message as Message)[2] as Message, (message as Message)[1] as string);
          } else mailbox.push(message as Message);
        }
        if (!mailbox.stopping) mailbox.pump();
        // The batch's memory is reused once the next one is asked for.
        if (lending) mailbox.privatize(fresh);
      }
    } catch (error) {
      this.#die(error);
      return;
    }
    // The parent closed the channel without a sentinel: it is gone or killing us.
    if (!mailbox.stopping) this.#end();
  }

  /** The sentinel was reached and every handler has settled: stop cleanly. */
  async #finish(): Promise<void> {
    const out = this.#out;
    if (out.closed) return;
    this.#stopController.abort(new Error("actor stopping"));
    // Messages after the sentinel cannot be handled: report them.
    this.#mailbox!.refuseRest();
    await this.#endExtensions("stop");
    try {
      await this.#stopHook?.(this.#state, this.#ctx);
    } catch (error) {
      out.post([CRASH, serializeError(error)]);
    }
    out.post([BYE]);
    await out.drain();
    this.#end();
  }

  #end(): void {
    if (this.#out.closed) return;
    this.#out.close();
    this.#calls.rejectAll();
    this.#stopHeartbeat?.();
    this.#mailbox?.idle();
    void this.#transport.close().finally(this.#onEnd);
  }

  #die(error: unknown): void {
    if (this.#out.closed) return;
    this.#stopController.abort(error);
    // Credit what left the mailbox: the parent then counts as lost exactly the
    // messages never taken, and the report names the ones being handled.
    this.#out.credit(true);
    // What the extensions send as they end arrives before the crash report.
    void this.#endExtensions("crash");
    this.#out.flushNow([CRASH, serializeError(error), this.#mailbox?.handling() ?? []]);
    this.#end();
  }

  exit(code: number): void {
    const out = this.#out;
    if (out.closed) return;
    out.credit(true);
    void this.#endExtensions("exit");
    out.post([EXIT, code, this.#mailbox?.handling() ?? []]);
    out.flushNow();
    out.close();
    this.#stopHeartbeat?.();
  }

  crash(error: unknown): void {
    this.#die(error);
  }

  /**
   * `[EXTEND, id, module, data]` starts the extension `id` (see
   * `extension.ts`); without a module it hands the running one `data`. An
   * extension that cannot start says so to its parent's end as
   * `{ declined: reason }`.
   */
  #extend(message: Message): void {
    const id = message[1] as number;
    const module = message[2] as string | undefined;
    const data = message[3];
    if (module === undefined) {
      void this.#extensions.get(id)?.then((extension) => {
        try {
          extension?.receive?.(data);
        } catch (error) {
          this.#die(error);
        }
      });
      return;
    }
    // The channel is read once the mailbox exists: an EXTEND finds it.
    const api = this.#extensionApi(id, this.#mailbox!);
    const started = (async () => {
      try {
        const loaded = await import(module) as ExtensionModule;
        if (this.#out.closed) throw new Error("the actor has ended");
        const extension = await loaded.extendActor(data, api);
        if (this.#out.closed) {
          void extension.end?.("stop");
          return undefined;
        }
        this.#loaded.set(id, extension);
        return extension;
      } catch (error) {
        this.#extensions.delete(id);
        const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        if (!this.#out.closed) this.#out.post([EXTENDED, id, { declined: reason }]);
        return undefined;
      }
    })();
    this.#extensions.set(id, started);
  }

  /** What the extension `id` is given: the mailbox, reached from this thread, and the channel. */
  #extensionApi(id: number, mailbox: Mailbox): ActorExtensionApi {
    const out = this.#out;
    const taking = () => !mailbox.stopping && !out.closed;
    return {
      actorId: this.#boot.actorId,
      capacity: this.#boot.capacity,
      handlers: this.#handlerNames,
      get taking() {
        return taking();
      },
      request(name: string, payload: unknown, settle: LocalSettle): void {
        if (!taking()) {
          settle(false, undefined, "stopped");
          return;
        }
        mailbox.push([LOCAL, settle, name, payload]);
        mailbox.pump();
      },
      send(data: unknown): void {
        if (!out.closed) out.post([EXTENDED, id, data]);
      },
      deadLetter(name: string, reason: string): void {
        if (!out.closed) out.post([DEAD_LETTER, name, reason], PLAIN_KIND);
      },
    };
  }

  /**
   * Tells every extension that the actor is ending, synchronously (what they
   * send now goes before the last report); resolves once they are done, or
   * after `EXTENSION_END_MS`.
   */
  #endExtensions(why: EndReason): Promise<void> {
    if (this.#loaded.size === 0) return Promise.resolve();
    const ends: Promise<unknown>[] = [];
    for (const extension of this.#loaded.values()) {
      try {
        const ended = extension.end?.(why);
        if (ended instanceof Promise) ends.push(ended.catch(noop));
      } catch {
        // An extension that fails as the actor ends changes nothing about the end.
      }
    }
    this.#loaded.clear();
    if (ends.length === 0) return Promise.resolve();
    return settleWithin(Promise.all(ends), EXTENSION_END_MS).then(noop);
  }
}

/**
 * The actor's calls to its parent's system (queues, semaphores): each goes
 * out as a CALL and is answered by a RESULT with the same id.
 */
class ParentCalls {
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  #nextCall = 1;
  #out: Outgoing;

  constructor(out: Outgoing) {
    this.#out = out;
  }

  /** Asks the parent's system for a service; the answer comes back as a RESULT. */
  call = (...[service, op, args]: SystemCall): Promise<unknown> => {
    if (this.#out.closed) return Promise.reject(new Error("The actor has ended"));
    const id = this.#nextCall++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#out.post([CALL, id, service, op, args]);
    });
  };

  /**
   * Settles the call a `[RESULT, id, ok, valueOrError]` answers. A closed
   * queue is the common failure (it ends an iteration); any other loads the
   * error classes first (a literal import: no read permission needed).
   */
  settle(message: Message): void {
    const pending = this.#pending.get(message[1] as number);
    if (!pending) return;
    this.#pending.delete(message[1] as number);
    if (message[2] === true) pending.resolve(message[3]);
    else {
      const info = message[3] as RemoteErrorInfo;
      if (info.name === "QueueClosedError") pending.reject(new QueueClosedError(info.message));
      else {
        import("../../internal/errors.ts").then(
          ({ reviveError }) => pending.reject(reviveError(info)),
          (error) => pending.reject(error),
        );
      }
    }
  }

  /** The actor has ended: no answer will come. */
  rejectAll(): void {
    for (const pending of this.#pending.values()) pending.reject(new Error("The actor has ended"));
    this.#pending.clear();
  }
}

/** The context handlers get: queues and semaphores are reached through the parent's system. */
function actorContext(
  boot: BootMessage,
  signal: AbortSignal,
  calls: ParentCalls,
  semaphoreModule: SemaphoreModule | undefined,
): ActorContext {
  const call = calls.call;
  const queues = new Map<string, QueueHandle<unknown>>();
  const semaphores = new Map<string, SemaphoreHandle>();
  return {
    id: boot.actorId,
    signal,
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
    [Symbol.asyncIterator]: () => queueItems(name, call),
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
      const previousHolderDied = await call("semaphore", "acquire", [name, options?.timeout]);
      let released = false;
      const permit: SemaphorePermit = {
        owner,
        get released() {
          return released;
        },
        previousHolderDied: previousHolderDied === true,
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
