// The parent's side of one running actor: its outbox, its pending asks,
// what its messages say, and the one place its exit is decided. Its host and
// channel are its link's (`_cell_link.ts`); a message that cannot go is
// `_cell_undelivered.ts`'s; what an exit sets off is worked out in
// `_cell_exit.ts`.

import type { Transport, TransportStats } from "../../transports/transport.ts";
import type { ActorHostKind, Launcher } from "./host.ts";
import type { CellHooks } from "./hooks.ts";
import type { ActorExit, ActorStats, DeadLetter, RefTarget, TellOptions } from "./actor_ref.ts";
import {
  ActorError,
  ActorStoppedError,
  type CrashReason,
  FrameTooLargeError,
  type RemoteErrorInfo,
  reviveError,
  SpawnError,
  UnknownMessageError,
} from "../../internal/errors.ts";
import { Outbox, type OverflowPolicy, SENT } from "./outbox.ts";
import { hintsFor } from "./_coalesce.ts";
import { PLAIN_KIND } from "../../internal/batch.ts";
import {
  ABORTABLE_ASK,
  ASK,
  type BootMessage,
  BYE,
  CALL,
  compactTells,
  CRASH,
  CREDIT,
  DEAD_LETTER,
  EXIT,
  EXTEND,
  EXTENDED,
  FAIL,
  type Handling,
  INIT_FAILED,
  ITEM,
  LIVENESS_HEAP_KIB,
  LIVENESS_TAKEN,
  READY,
  REPLY,
  RESULT,
  serializeError,
  STOP,
  STREAM,
  type SystemCall,
  TELL,
  TRACED,
} from "./protocol.ts";
import { PayloadInspector } from "../../internal/payload.ts";
import { noop, settleWithin, watchDeadline } from "../../internal/abort.ts";
import { reportRuntimeRejection } from "../../internal/runtime_rejection.ts";
import { type StreamChannel, StreamReader, type StreamReaderOptions } from "./_stream_reader.ts";
import { type PendingCall, PendingCalls } from "./_pending_calls.ts";
import { CellLink } from "./_cell_link.ts";
import { Undelivered } from "./_cell_undelivered.ts";
import { countTells, exitError, exitLetters } from "./_cell_exit.ts";
import { EXTENSION_CRASH_MS } from "./extension.ts";

// The error an ended actor's callers get, for the layers above that answer for it.
export { exitError } from "./_cell_exit.ts";

/**
 * How long a cell whose send met the actor's closed channel waits for the
 * exit that closing brings (the read loop and the host take up to 1 s each)
 * before it ends the actor itself.
 */
const CHANNEL_GONE_EXIT_MS = 3000;

export interface CellOptions {
  id: string;
  module: string;
  exportName: string | undefined;
  args: unknown;
  capacity: number;
  overflow: OverflowPolicy;
  heartbeatMs: number;
  hostKind: ActorHostKind;
  transportName: string;
  /** This incarnation's semaphore owner id. */
  owner: number;
  /** Semaphores shared with a worker actor at start. */
  semaphores: Record<string, { name: string; buffer: SharedArrayBuffer }>;
  launch: Launcher;
  onDeadLetter: (letter: DeadLetter) => void;
  onExit: (exit: ActorExit) => void;
  /** Serves the actor's requests to its system (queues, semaphores). */
  onCall: (call: SystemCall, actorId: string) => Promise<unknown>;
  /** Called around asks and tells, when a layer above watches (telemetry). */
  hooks?: CellHooks;
  /** Tracing is on: what the actor's side loads for its hooks (see `BootMessage`). */
  telemetry?: BootMessage["telemetry"];
}

export type CellState = "starting" | "running" | "stopping" | "stopped";

/** The parent's end of an extension started with `ActorCell.extend`. */
export interface ExtensionEnd {
  /** Hands the extension `data`, in order with the messages sent to the actor. */
  send(data: unknown): void;
  /** Stops listening: what the extension sends later is dropped. */
  close(): void;
}

export class ActorCell implements RefTarget {
  readonly id: string;
  readonly module: string;
  readonly transportName: string;
  state: CellState = "starting";
  handled = 0;
  lastSeen = Date.now();
  readonly exited: Promise<ActorExit>;
  #options: CellOptions;
  #link: CellLink;
  #outbox: Outbox;
  #undelivered: Undelivered;
  /** The batch being dispatched is the actor's last: it ends with its CRASH or EXIT. */
  #dying = false;
  #liveness = new Int32Array(new SharedArrayBuffer(12));
  #pending = new PendingCalls((message) => this.#outbox.pushControl(message));
  #names: Set<string> = new Set();
  #inspector = new PayloadInspector();
  #ready: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  #resolveExit!: (exit: ActorExit) => void;
  /** Cancels the stop deadline (see `stop()`). */
  #cancelStopDeadline: () => void = noop;
  /** The SIGTERM-to-SIGKILL grace a stop past its deadline leaves (undefined: the host's). */
  #killGraceMs: number | undefined;
  #exit: ActorExit | undefined;
  /** What the actor said it was handling as it died (its CRASH or EXIT). */
  #handling: Handling | undefined;
  #hooks: CellHooks | undefined;
  /** A send met the closed channel, and the exit it brings is awaited (see `#channelGone`). */
  #channelGoneWatched = false;
  /** The parent's ends of the extensions started in the actor's thread, by id (see `extend`). */
  #extensions = new Map<number, (data: unknown) => void>();
  /** Called once the last extension's end closed (a crashed worker waits for it). */
  #extensionsClosed: (() => void) | undefined;
  #nextExtension = 1;

  constructor(options: CellOptions) {
    this.id = options.id;
    this.module = options.module;
    this.#options = options;
    this.#hooks = options.hooks;
    // Tracing is on: this cell's tells take the traced path. The others keep
    // the prototype's `tell`, which has no check for it: measured, that one
    // check cost the queue transport's tell throughput 2% (see #tellTraced).
    if (options.hooks !== undefined) this.tell = this.#tellTraced;
    this.transportName = options.transportName;
    this.exited = new Promise((resolve) => this.#resolveExit = resolve);
    this.#link = new CellLink(options.hostKind, {
      ended: () => this.#exit !== undefined,
      connected: (transport) => this.#connected(transport),
      received: (batch) => this.#received(batch),
      crash: (reason, error) => this.#crash(reason, error),
    });
    this.#outbox = new Outbox(
      options.id,
      options.capacity,
      options.overflow,
      (batch, kind, transfer) => {
        // Quiet when nothing waits: the transport should not hold this thread for a reply.
        const hints = hintsFor(kind, this.#pending.size === 0 && this.#outbox.waiting === 0);
        return this.#link.transport!.send(
          compactTells(batch),
          transfer === undefined ? hints : { ...hints, transfer },
        );
      },
      (message) => this.#undelivered.dropped(message, "mailbox full"),
      (error, batch, written) => this.#undelivered.sendFailed(error, batch, written),
    );
    this.#undelivered = new Undelivered({
      id: options.id,
      pending: this.#pending,
      outbox: this.#outbox,
      send: (batch) => this.#link.transport!.send(batch),
      ended: () => this.#exit !== undefined,
      deadLetter: (letter) => this.#options.onDeadLetter(letter),
      crash: (reason, error) => this.#crash(reason, error),
      channelGone: (error) => this.#channelGone(error),
    });
  }

  /** What a full mailbox does (`SpawnOptions.overflow`). */
  get overflow(): OverflowPolicy {
    return this.#options.overflow;
  }

  /** Messages sent and not yet handled. */
  get inflight(): number {
    return this.#outbox.inflight;
  }

  /** Messages waiting in the sender for room. */
  get waiting(): number {
    return this.#outbox.waiting;
  }

  /** Asks waiting for replies. */
  get pendingAsks(): number {
    return this.#pending.size;
  }

  /** The mailbox settings. */
  get capacity(): number {
    return this.#outbox.capacity;
  }

  /** Tells whether the actor looks busy in a handler (its thread may not answer heartbeats). */
  get busy(): boolean {
    return Atomics.load(this.#liveness, 0) === 1;
  }

  /**
   * Tells whether messages handed to the actor's channel wait for its thread
   * to take them (it may be decoding a large one: it answers no heartbeat
   * meanwhile). Counts the transport's `messagesSent` against what the
   * worker's bootstrap counts in the liveness memory.
   */
  get untaken(): boolean {
    const sent = this.#link.transport?.stats().messagesSent ?? 0;
    return ((sent - Atomics.load(this.#liveness, LIVENESS_TAKEN)) | 0) > 0;
  }

  /** The counters of the parent's end of the actor's transport, once it is connected. */
  transportStats(): TransportStats | undefined {
    return this.#link.transport?.stats();
  }

  /** A worker actor's V8 heap in use in bytes, as it last reported it (`undefined` before). */
  get heapUsed(): number | undefined {
    const kib = Atomics.load(this.#liveness, LIVENESS_HEAP_KIB);
    return kib > 0 ? kib * 1024 : undefined;
  }

  /** The CPU time the actor's thread has used, when the host can tell (see `Host.cpu`). */
  threadCpu(): number | undefined {
    return this.#link.host?.cpu?.();
  }

  /** A snapshot of the actor's counters. */
  stats(): ActorStats {
    const stats: ActorStats = {
      id: this.id,
      state: this.state,
      host: this.#options.hostKind,
      transport: this.transportName,
      handled: this.handled,
      inflight: this.inflight,
      waiting: this.waiting,
      pendingAsks: this.pendingAsks,
      capacity: this.capacity,
      restarts: 0,
    };
    if (this.pid !== undefined) stats.pid = this.pid;
    const heapUsed = this.heapUsed;
    if (heapUsed !== undefined) stats.heapUsed = heapUsed;
    return stats;
  }

  /** This incarnation's semaphore owner id. */
  get owner(): number {
    return this.#options.owner;
  }

  /** The process id of a process actor. */
  get pid(): number | undefined {
    return this.#link.host?.pid;
  }

  /** Whether the actor sends heartbeats the watchdog should expect. */
  get heartbeats(): boolean {
    return this.#options.heartbeatMs > 0;
  }

  /** Where the actor runs. */
  get hostKind(): ActorHostKind {
    return this.#options.hostKind;
  }

  /** After a kill: whether a worker's thread still runs (see `Host.thread`). */
  thread(): Promise<"running" | "ended" | undefined> {
    return this.#link.host?.thread?.() ?? Promise.resolve(undefined);
  }

  /** Starts the actor's host and resolves once the actor's `init` has run. */
  start(signal: AbortSignal | undefined): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => this.#ready = { resolve, reject });
    const o = this.#options;
    const boot: BootMessage = {
      actorId: o.id,
      module: o.module,
      exportName: o.exportName,
      args: o.args,
      capacity: o.capacity,
      heartbeatMs: o.heartbeatMs,
      owner: o.owner,
      // Threads of this process (worker or thread actors) share memory with it.
      semaphores: o.hostKind !== "process" ? o.semaphores : {},
      liveness: o.hostKind !== "process" ? this.#liveness.buffer as SharedArrayBuffer : undefined,
    };
    if (o.telemetry !== undefined) boot.telemetry = o.telemetry;
    this.#link.launch(o.launch, boot);
    const cancel = watchDeadline(signal, undefined, (reason) => this.kill(reason));
    return ready.finally(cancel);
  }

  /** The channel is up: the sends take its limits; `false` when the actor ended meanwhile. */
  #connected(transport: Transport): boolean {
    if (transport.batchBytes !== undefined) this.#outbox.batchBytes = transport.batchBytes;
    this.#inspector.refuseShared = transport.sharesMemory !== true;
    if (transport.maxFrameBytes !== undefined) {
      this.#outbox.maxFrameBytes = transport.maxFrameBytes;
    }
    if (this.#exit) return false;
    this.lastSeen = Date.now();
    return true;
  }

  #received(batch: unknown[]): void {
    this.lastSeen = Date.now();
    // A dying actor's last batch ends with its CRASH or EXIT, after a final
    // credit: that credit counts what it handled but frees no room, or a
    // tell waiting for room would be sent to an actor already gone.
    const last = batch[batch.length - 1] as unknown[] | undefined;
    this.#dying = last !== undefined && (last[0] === CRASH || last[0] === EXIT);
    for (const message of batch) this.#dispatch(message as unknown[]);
  }

  #dispatch(message: unknown[]): void {
    switch (message[0]) {
      case REPLY:
        this.#pending.take(message[1] as number)?.resolve(message[2]);
        return;
      case ITEM:
        this.#pending.item(message[1] as number, message[2]);
        return;
      case FAIL: {
        const pending = this.#pending.take(message[1] as number);
        if (!pending) return;
        const info = message[2] as RemoteErrorInfo;
        if (message[3] === true) {
          pending.reject(new UnknownMessageError(this.id, pending.name, [...this.#names]));
        } else if (this.state === "stopping" && info.message === "stopped") {
          pending.reject(new ActorStoppedError(this.id));
        } else pending.reject(new ActorError(this.id, pending.name, info));
        return;
      }
      case CALL: {
        const id = message[1] as number;
        this.#options.onCall(message.slice(2) as SystemCall, this.id)
          .then(
            (value) => this.#outbox.pushControl([RESULT, id, true, value]),
            (error) => this.#outbox.pushControl([RESULT, id, false, serializeError(error)]),
          );
        return;
      }
      case CREDIT:
        this.handled += message[1] as number;
        this.#outbox.credit(message[1] as number, !this.#dying);
        return;
      case DEAD_LETTER:
        this.#options.onDeadLetter({
          actorId: this.id,
          messageName: message[1] as string,
          reason: message[2] as string,
          count: 1,
        });
        return;
      case READY:
        this.#names = new Set(message[1] as string[]);
        if (this.state === "starting") this.state = "running";
        this.#ready?.resolve();
        this.#ready = undefined;
        return;
      case INIT_FAILED: {
        const error = new SpawnError(this.id, this.module, {
          cause: reviveError(message[1] as RemoteErrorInfo),
        });
        this.#ready?.reject(error);
        this.#ready = undefined;
        this.#finish({ id: this.id, reason: "error", error, handled: this.handled });
        return;
      }
      case BYE:
        this.#finish({ id: this.id, reason: "normal", handled: this.handled });
        return;
      case EXTENDED:
        this.#extensions.get(message[1] as number)?.(message[2]);
        return;
      case CRASH: {
        this.#handling = message[2] as Handling | undefined;
        const error = reviveError(message[1] as RemoteErrorInfo);
        // A thread that reported its crash runs on, so it is terminated; a process ends itself
        // once its pipe ends have written what they hold (its host kills it past a bound), and
        // killing it now would cut that off.
        const exit: ActorExit = { id: this.id, reason: "error", error, handled: this.handled };
        this.#finish(exit, this.#options.hostKind !== "process", true);
        reportRuntimeRejection(this.id, error);
        return;
      }
      case EXIT:
        this.#handling = message[2] as Handling | undefined;
        // A process's exit status (code, signal, stderr) arrives from its host.
        if (this.#options.hostKind === "process") return;
        this.#crash("exited", new Error(`The actor's code exited with code ${message[1]}`));
        return;
    }
  }

  /**
   * Checks a message before it is queued; returns the payload's estimated
   * size, and leaves its batch kind in `#inspector.kind`.
   */
  #checkSendable(name: string, payload: unknown): number {
    if (this.state !== "running") throw new ActorStoppedError(this.id);
    if (!this.#names.has(name)) throw new UnknownMessageError(this.id, name, [...this.#names]);
    const size = this.#inspector.inspect(payload, "payload");
    const limit = this.#link.transport?.maxFrameBytes;
    if (limit !== undefined && size > limit) throw new FrameTooLargeError(size, limit);
    return size;
  }

  /**
   * The checks of a tell before it is queued: its payload's estimated size,
   * or the promise the tell returns when its signal aborted already.
   */
  #admitTell(
    name: string,
    payload: unknown,
    options: TellOptions | undefined,
  ): number | Promise<void> {
    let size: number;
    try {
      size = this.#checkSendable(name, payload);
    } catch (error) {
      if (error instanceof ActorStoppedError) {
        this.#undelivered.dropped([TELL, name], "actor stopped");
      }
      throw error;
    }
    // Given up before it was sent: nothing of it goes anywhere.
    if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
    if (options?.transfer !== undefined) checkTransfer(name, options.transfer);
    return size;
  }

  tell(name: string, payload: unknown, options?: TellOptions): Promise<void> {
    const size = this.#admitTell(name, payload, options);
    if (typeof size !== "number") return size;
    // No payload: the envelope ends early (it reads back as undefined), so the
    // batch stays plain data for the JSON fast path.
    if (payload === undefined) {
      return this.#outbox.push([TELL, name], true, PLAIN_KIND, size, options);
    }
    return this.#outbox.push([TELL, name, payload], true, this.#inspector.kind, size, options);
  }

  /** `tell` of a cell whose system traces (set as its `tell` by the constructor). */
  #tellTraced(name: string, payload: unknown, options?: TellOptions): Promise<void> {
    const size = this.#admitTell(name, payload, options);
    if (typeof size !== "number") return size;
    const hooks = this.#hooks!;
    const kind = payload === undefined ? PLAIN_KIND : this.#inspector.kind;
    const tell = payload === undefined ? [TELL, name] : [TELL, name, payload];
    const traceparent = hooks.tell(name);
    const message = traceparent === undefined ? tell : [TRACED, traceparent, tell];
    return this.#outbox.push(message, true, kind, size, options);
  }

  ask(
    name: string,
    payload: unknown,
    options: { timeout?: number; signal?: AbortSignal } | undefined,
  ): Promise<unknown> {
    let size: number;
    try {
      size = this.#checkSendable(name, payload);
      options?.signal?.throwIfAborted();
    } catch (error) {
      return Promise.reject(error);
    }
    const kind = payload === undefined ? PLAIN_KIND : this.#inspector.kind;
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const pending: PendingCall = { name, resolve, reject, cleanup: undefined };
    const hook = this.#hooks?.ask(name);
    if (hook !== undefined) {
      pending.resolve = (value) => {
        hook.end();
        resolve(value);
      };
      pending.reject = (error) => {
        hook.end(error);
        reject(error);
      };
    }
    const id = this.#pending.add(pending);
    // Timers and listeners only for the asks that asked for them: this is per message.
    // Only those can be cancelled, so only those tell the actor to track a signal.
    const tag = options?.timeout !== undefined || options?.signal ? ABORTABLE_ASK : ASK;
    if (tag === ABORTABLE_ASK) this.#pending.arm(id, options!.signal, options!.timeout);
    this.#pending.send(id, () => {
      let message: unknown[] = payload === undefined ? [tag, id, name] : [tag, id, name, payload];
      if (hook?.traceparent !== undefined) message = [TRACED, hook.traceparent, message];
      return this.#outbox.push(message, true, kind, size);
    }, SENT);
    return promise;
  }

  /**
   * Calls a streaming handler: its items as an async iterator, sent on the
   * first `next()`, under the credit window (see `STREAM_WINDOW`).
   */
  stream(
    name: string,
    payload: unknown,
    options: StreamReaderOptions | undefined,
  ): AsyncIterableIterator<unknown> {
    return new StreamReader(this.#streams, name, payload, options);
  }

  #streams: StreamChannel = {
    open: (name, payload, sink) => {
      const size = this.#checkSendable(name, payload);
      const kind = payload === undefined ? PLAIN_KIND : this.#inspector.kind;
      const pending = { name, resolve: sink.end, reject: sink.fail, cleanup: undefined };
      const id = this.#pending.add({ ...pending, item: sink.item });
      const message = payload === undefined ? [STREAM, id, name] : [STREAM, id, name, payload];
      this.#pending.send(id, () => this.#outbox.push(message, true, kind, size), SENT, true);
      return id;
    },
    pull: (id, n) => this.#pending.pull(id, n),
    cancel: (id, reason) => this.#pending.cancel(id, reason),
  };

  /** Queues the stop sentinel; terminates the actor if it has not stopped within `timeout` ms. */
  /**
   * Starts an extension in the actor's thread (see `extension.ts`): the
   * actor imports `module` and calls its `extendActor(data, api)`. What the
   * extension sends comes to `listener`, in order with the actor's other
   * reports; `send` hands the extension more data. `undefined` when the
   * actor is not running. `data` must be something the channel carries.
   */
  extend(
    module: string,
    data: unknown,
    listener: (data: unknown) => void,
  ): ExtensionEnd | undefined {
    if (this.state !== "running") return undefined;
    const id = this.#nextExtension++;
    this.#extensions.set(id, listener);
    this.#outbox.pushControl([EXTEND, id, module, data]);
    return {
      send: (more) => {
        if (this.#extensions.has(id)) this.#outbox.pushControl([EXTEND, id, undefined, more]);
      },
      close: () => {
        if (this.#extensions.delete(id) && this.#extensions.size === 0) {
          this.#extensionsClosed?.();
        }
      },
    };
  }

  stop(timeout: number | undefined = 5000, signal?: AbortSignal): Promise<ActorExit> {
    if (signal !== undefined && this.state !== "stopped") {
      const cancel = watchDeadline(signal, undefined, (reason) => this.kill(reason));
      void this.exited.then(cancel);
    }
    if (this.state === "running") {
      this.state = "stopping";
      this.#outbox.push([STOP], false, PLAIN_KIND);
      // The kill fits in the timeout: a process gets SIGTERM in time for its
      // SIGKILL to land at the deadline (the last tenth, at most its grace).
      const grace = Math.min(this.#link.host?.killGraceMs ?? 0, timeout / 10);
      this.#killGraceMs = grace;
      this.#cancelStopDeadline = watchDeadline(undefined, timeout - grace, () => {
        const exit: ActorExit = { id: this.id, reason: "timeout", handled: this.handled };
        if (this.#options.hostKind !== "process" && this.busy) exit.leaked = true;
        this.#terminate(exit);
      });
    } else if (this.state === "starting") {
      this.kill(new ActorStoppedError(this.id));
    }
    return this.exited;
  }

  /** Terminates the actor at once. */
  kill(reason?: unknown): void {
    const error = reason instanceof Error ? reason : undefined;
    this.#terminate({
      id: this.id,
      reason: "killed",
      handled: this.handled,
      ...(error ? { error } : {}),
    });
  }

  /** The watchdog found no sign of life for too long. */
  lostHeartbeat(): void {
    this.#crash("lost-heartbeat", new Error("The actor stopped sending heartbeats"));
  }

  // A send found the channel closed by the actor's end. The channel's end
  // brings the exit (the read loop's, or the host's report); should neither
  // come, the actor is lost with the channel.
  #channelGone(error: Error): void {
    if (this.#exit || this.#channelGoneWatched) return;
    this.#channelGoneWatched = true;
    void settleWithin(this.exited, CHANNEL_GONE_EXIT_MS).then((settled) => {
      if (!settled) this.#crash("error", new Error("The actor's channel closed", { cause: error }));
    });
  }

  #crash(reason: CrashReason, error: Error): void {
    this.#terminate({ id: this.id, reason, error, handled: this.handled });
  }

  #terminate(exit: ActorExit): void {
    this.#finish(exit, true);
  }

  /**
   * Ends the cell. `kill`: the actor's thread or process is terminated.
   * `crashed`: it reported its crash and runs on, so a thread with
   * extensions is terminated once their ends closed (within
   * `EXTENSION_CRASH_MS`; see `extension.ts`).
   */
  #finish(exit: ActorExit, kill = false, crashed = false): void {
    if (this.#exit) return;
    this.#exit = exit;
    this.state = "stopped";
    this.#cancelStopDeadline();
    const error = exitError(this.id, exit);
    if (this.#ready) {
      this.#ready.reject(
        exit.error instanceof SpawnError
          ? exit.error
          : new SpawnError(this.id, this.module, { cause: exit.error ?? error }),
      );
      this.#ready = undefined;
    }
    const lingering = crashed && kill && this.#extensions.size > 0
      ? settleWithin(
        new Promise<void>((resolve) => this.#extensionsClosed = resolve),
        EXTENSION_CRASH_MS,
      )
      : undefined;
    const unsent = this.#outbox.close(error);
    const lost = this.#outbox.inflight + countTells(unsent);
    this.#pending.rejectAll(error);
    for (const letter of exitLetters(this.id, exit, this.#handling, lost)) {
      this.#options.onDeadLetter(letter);
    }
    const release = () => {
      this.#extensions.clear();
      return this.#link.release(kill, this.#killGraceMs);
    };
    const released = lingering === undefined ? release() : lingering.then(release);
    void released.then(async () => {
      // A worker that may be stuck in a handler: a leak is a thread that still
      // runs (when the host cannot tell, one terminated inside a handler).
      if (exit.leaked || exit.reason === "lost-heartbeat") {
        const thread = await this.thread();
        if (thread === "running") exit.leaked = true;
        else if (thread === "ended") delete exit.leaked;
      }
      this.#resolveExit(exit);
      this.#options.onExit(exit);
    });
  }
}

/** Refuses a transfer list that no channel could move: only whole, unshared `ArrayBuffer`s. */
function checkTransfer(name: string, transfer: unknown): void {
  if (!Array.isArray(transfer)) {
    throw new TypeError(`Cannot send "${name}": transfer must be an array of ArrayBuffers`);
  }
  const seen = new Set<unknown>();
  for (const item of transfer) {
    if (!(item instanceof ArrayBuffer)) {
      throw new TypeError(
        `Cannot send "${name}": transfer holds something other than an ArrayBuffer`,
      );
    }
    if ((item as ArrayBuffer & { detached?: boolean }).detached) {
      throw new TypeError(`Cannot send "${name}": an ArrayBuffer in transfer is detached`);
    }
    if (seen.has(item)) {
      throw new TypeError(`Cannot send "${name}": an ArrayBuffer appears twice in transfer`);
    }
    seen.add(item);
  }
}
