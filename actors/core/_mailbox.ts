// The actor's mailbox and the pump that empties it: messages wait in arrival
// order and run one at a time (or up to `concurrency` at once when handlers
// are async) until the stop sentinel, which nothing after it passes.

import type { ActorContext, Handlers } from "./define_actor.ts";
import type { Message, Outgoing } from "./_outgoing.ts";
import {
  ABORTABLE_ASK,
  expectsReply,
  type Handling,
  LOCAL,
  STOP,
  STREAM,
  TELLS,
} from "./protocol.ts";
import type { HandleHook, ServeHooks } from "./hooks.ts";
import type { ServedCalls } from "./_served_calls.ts";
import { lendingHere, privatize } from "../../internal/lent.ts";

/** A message's name, and whether it is an ask. */
function nameOf(message: Message): [name: string, ask: boolean] {
  return expectsReply(message[0]) ? [message[2] as string, true] : [message[1] as string, false];
}

/**
 * A handler whose last `SHORT_RUNS` runs each held the thread under
 * `SHORT_MS` is known to be short: answers of the handlers before it may
 * wait for it, for up to `HOLD_MS` in all, and leave in one batch. Before
 * any other handler, they leave first. A run over `SHORT_MS` starts the
 * count again; one of it that held the thread for `MISS_MS` or more after
 * it was known short (a miss: the replies waiting for it were held that
 * long) also makes the short runs it takes to be known short again four
 * times as many, up to `MAX_SHORT_RUNS`: a handler often long stops holding
 * replies after a few misses, and one rarely long holds them at most once
 * per `MAX_SHORT_RUNS` runs. A pause shorter than `MISS_MS` (a scavenge, a
 * busy core) costs no more than a new count.
 */
const SHORT_RUNS = 4;
const MAX_SHORT_RUNS = 1024;
const SHORT_MS = 0.05;
const MISS_MS = 1;
const HOLD_MS = 0.5;

/** A handler's recent runs: `runs` in a row under `SHORT_MS`, `needed` to be known short. */
interface RunRecord {
  runs: number;
  needed: number;
}

/** What a mailbox needs from the actor it serves. */
export interface MailboxOptions {
  /** The actor's handlers, by message name. */
  handlers: Handlers<unknown>;
  /** The actor's state, as its `init` made it. */
  state: unknown;
  /** The context handed to every handler. */
  ctx: ActorContext;
  /** How many handlers may run at once. */
  concurrency: number;
  /** Where answers and credits go. */
  out: Outgoing;
  /** `[busy]` in shared memory, read by the parent's watchdog, when the parent gave one. */
  liveness: Int32Array | undefined;
  /** Called once the sentinel was reached and every handler has settled. */
  stopped: () => void;
  /** Called around each handler, when a layer above watches (telemetry). */
  hooks?: ServeHooks | undefined;
  /** The signals of the calls their callers may cancel, and the stream pumps. */
  calls: ServedCalls;
}

/** The messages waiting for the actor, and the handlers running for it. */
export class Mailbox {
  #handlers: Handlers<unknown>;
  #state: unknown;
  #ctx: ActorContext;
  #concurrency: number;
  #out: Outgoing;
  #liveness: Int32Array | undefined;
  #stopped: () => void;
  #hooks: ServeHooks | undefined;
  #calls: ServedCalls;
  /** The trace context each traced message came with (only while tracing is on). */
  #traces: Map<Message, string> | undefined;

  #queue: Message[] = [];
  #head = 0;
  /** Payloads of the `TELLS` run at `#queue[#head]` already handled. */
  #runAt = 0;
  /** Handlers whose promise has not settled yet. */
  #running = 0;
  /** The envelope whose handler is running synchronously now. */
  #current: Message | undefined;
  /** The envelopes whose handler's promise has not settled yet. */
  #pending = new Set<Message>();
  #stopping = false;
  /** Waiting for the channel to write what earlier handlers gave before the next one starts. */
  #releasing = false;
  /** Runs in a row under `SHORT_MS` of each handler, by name, and how many make it known short. */
  #short = new Map<string, RunRecord>();
  /** When answers began to wait for known-short handlers (`Infinity`: none wait). */
  #heldSince = Infinity;
  #released = (): void => {
    this.#releasing = false;
    if (!this.#stopping) this.pump();
  };

  constructor(options: MailboxOptions) {
    this.#handlers = options.handlers;
    this.#state = options.state;
    this.#ctx = options.ctx;
    this.#concurrency = options.concurrency;
    this.#out = options.out;
    this.#liveness = options.liveness;
    this.#stopped = options.stopped;
    this.#hooks = options.hooks;
    this.#calls = options.calls;
  }

  /** `true` once the stop sentinel was taken: nothing more is handled. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /**
   * Adds a message from the parent (`TELL`, `ASK`, `TELLS` or `STOP`), or an
   * extension's (`LOCAL`); `pump()` handles it.
   */
  push(message: Message, traceparent?: string): void {
    this.#queue.push(message);
    if (message[0] === ABORTABLE_ASK || message[0] === STREAM) {
      this.#calls.open(message[1] as number);
    }
    if (traceparent !== undefined) (this.#traces ??= new Map()).set(message, traceparent);
  }

  /** Where the next pushed message goes: pass it to {@linkcode privatize} later. */
  get waiting(): number {
    return this.#queue.length;
  }

  /**
   * Copies the lent byte arrays (see `internal/lent.ts`) of the messages
   * pushed at `from` or later that no handler has taken yet: their memory is
   * reused once the channel moves on. In place, so that each envelope keeps
   * its identity (traces and the running set are keyed by it).
   *
   * @param from What {@linkcode waiting} said before those messages were pushed.
   */
  privatize(from: number): void {
    const queue = this.#queue;
    for (let i = Math.max(from, this.#head); i < queue.length; i++) {
      const message = queue[i]!;
      if (message[0] === TELLS && i === this.#head) {
        // A run partly handled: only the payloads still to come.
        const payloads = message[2] as unknown[];
        for (let k = this.#runAt; k < payloads.length; k++) payloads[k] = privatize(payloads[k]);
        continue;
      }
      for (let k = 1; k < message.length; k++) message[k] = privatize(message[k]);
    }
  }

  /** Handles waiting messages while a handler may start, then credits and sends what they gave. */
  pump(): void {
    this.#setBusy(true);
    const queue = this.#queue;
    while (
      this.#running < this.#concurrency && this.#head < queue.length && !this.#stopping &&
      !this.#releasing
    ) {
      const message = queue[this.#head]!;
      if (message[0] === TELLS && !this.#out.due && this.#hooks === undefined) {
        // A run of tells while no answer waits: the short loop, until one does.
        if (this.#runTells(message)) continue;
      }
      // When answers wait, this handler is timed: it may hold the thread.
      let started = -1;
      if (message[0] !== STOP && this.#out.due) {
        started = performance.now();
        const name = (expectsReply(message[0]) ? message[2] : message[1]) as string;
        const record = this.#short.get(name);
        if (
          record !== undefined && record.runs >= record.needed &&
          started - this.#heldSince < HOLD_MS
        ) {
          // Known to be short: the answers wait for it, to leave in one batch.
          if (this.#heldSince === Infinity) this.#heldSince = started;
        } else {
          // What earlier handlers gave leaves before this one runs: it may hold the thread
          // for long, and a reply must not wait for it.
          this.#heldSince = Infinity;
          const released = this.#out.release();
          if (released !== undefined) {
            this.#releasing = true;
            released.then(this.#released);
            break;
          }
        }
      }
      if (message[0] === TELLS) {
        // A run of tells: one payload per turn, the run leaves the queue after its last.
        const payloads = message[2] as unknown[];
        const payload = payloads[this.#runAt++];
        if (this.#runAt === payloads.length) {
          queue[this.#head++] = undefined as unknown as Message;
          this.#runAt = 0;
        }
        this.#handle(message, payload);
        if (started >= 0) this.#timed(message[1] as string, started);
      } else {
        queue[this.#head++] = undefined as unknown as Message;
        if (message[0] === STOP) {
          this.#stopping = true;
          break;
        }
        const isAsk = expectsReply(message[0]);
        this.#handle(message, isAsk ? message[3] : message[2]);
        if (started >= 0) this.#timed((isAsk ? message[2] : message[1]) as string, started);
      }
      // Mid-batch: the sender may refill the mailbox while this batch is handled.
      this.#out.creditIfDue();
    }
    if (this.#head === queue.length) {
      queue.length = 0;
      this.#head = 0;
    }
    this.#out.credit(this.#head === queue.length);
    if (this.#stopping && this.#running === 0) this.#stopped();
    this.#setBusy(this.#running > 0);
    // Every handler has settled: nothing else will join these replies, so they
    // leave now rather than a few microtask turns later (~3 us of an ask).
    if (this.#running === 0) this.#out.flush();
    this.#heldSince = Infinity;
  }

  /**
   * Counts a handler's run toward its being known short, or forgets that it
   * was; a long run after it was known short raises the count it needs.
   */
  #timed(name: string, started: number): void {
    const ms = performance.now() - started;
    let record = this.#short.get(name);
    if (record === undefined) {
      record = { runs: 0, needed: SHORT_RUNS };
      this.#short.set(name, record);
    }
    if (ms < SHORT_MS) {
      if (record.runs < record.needed) record.runs++;
      return;
    }
    // Long after it was known short: a miss, so it takes more short runs to be trusted again.
    if (ms >= MISS_MS && record.runs >= record.needed) {
      record.needed = Math.min(record.needed * 4, MAX_SHORT_RUNS);
    }
    record.runs = 0;
  }

  /**
   * Handles one message: `message` is its envelope (`[TELL, name, payload]`,
   * `[ASK, id, name, payload]`, or the `[TELLS, name, payloads]` run it came
   * in, which settles like a tell) and `payload` its payload.
   */
  #handle(message: Message, payload: unknown): void {
    const tag = message[0];
    const isAsk = expectsReply(tag);
    const name = (isAsk ? message[2] : message[1]) as string;
    const handlers = this.#handlers;
    const handler = Object.hasOwn(handlers, name) ? handlers[name] : undefined;
    const out = this.#out;
    // An extension's message was never sent by the parent: it owes no credit.
    if (tag !== LOCAL) out.left();
    // A call its caller may cancel gets its own context (its signal); others share one.
    const tracked = tag === ABORTABLE_ASK || tag === STREAM;
    let ctx = this.#ctx;
    if (tracked) {
      ctx = this.#calls.ctx(message[1] as number);
      if (!handler || ctx.signal.aborted) {
        // Unknown, or given up before it started: it is answered, and never runs.
        if (handler) out.settle(message, false, ctx.signal.reason);
        else out.unknown(message, name);
        this.#calls.close(message[1] as number);
        return;
      }
    }
    if (!handler) {
      out.unknown(message, name);
      return;
    }
    let result: unknown;
    let hook: HandleHook | undefined;
    if (this.#hooks !== undefined) {
      const traceparent = this.#traces?.get(message);
      if (traceparent !== undefined) this.#traces!.delete(message);
      hook = this.#hooks.handle(name, isAsk, traceparent);
    }
    // A stream's handler (an async generator) runs its body only when pulled,
    // after the ring has moved on: a lent payload is copied for it.
    if (tag === STREAM && lendingHere.active) payload = privatize(payload);
    this.#current = message;
    try {
      if (hook === undefined) result = handler(this.#state, payload, ctx);
      else result = hook.run(() => handler(this.#state, payload, ctx));
      // A stream holds its slot until its last item: its items are the reply.
      if (tag === STREAM) result = this.#stream(message, name, result);
    } catch (error) {
      this.#settle(message, false, error, hook, tracked);
      return;
    } finally {
      this.#current = undefined;
    }
    if (result instanceof Promise) {
      this.#await(message, result, hook, tracked);
      return;
    }
    this.#settle(message, true, result, hook, tracked);
  }

  /** Holds a slot until an async handler's promise settles, then answers and pumps on. */
  #await(
    message: Message,
    result: Promise<unknown>,
    hook: HandleHook | undefined,
    tracked: boolean,
  ): void {
    this.#running++;
    this.#pending.add(message);
    result.then(
      (value) => this.#settle(message, true, value, hook, tracked),
      (error) => this.#settle(message, false, error, hook, tracked),
    ).finally(() => {
      this.#pending.delete(message);
      this.#running--;
      this.pump();
    });
  }

  /**
   * Handles the payloads of the `TELLS` run at the queue's head one after
   * another, as `#handle` would, without what only asks and watched handlers
   * need: the handler is looked up once, and a tell that returns is answered
   * by nothing. Stops at the end of the run, once answers wait (a handler
   * threw, or posted a call), or once no slot is free (an async handler).
   * Returns `false`, handling nothing, when the run needs the general path
   * (no such handler).
   */
  #runTells(message: Message): boolean {
    const name = message[1] as string;
    const handlers = this.#handlers;
    const handler = Object.hasOwn(handlers, name) ? handlers[name] : undefined;
    if (!handler) return false;
    const payloads = message[2] as unknown[];
    const out = this.#out;
    const state = this.#state;
    const ctx = this.#ctx;
    while (true) {
      const payload = payloads[this.#runAt++];
      const last = this.#runAt === payloads.length;
      if (last) {
        this.#queue[this.#head++] = undefined as unknown as Message;
        this.#runAt = 0;
      }
      out.left();
      this.#current = message;
      let result: unknown;
      try {
        result = handler(state, payload, ctx);
      } catch (error) {
        this.#current = undefined;
        out.settle(message, false, error);
        out.creditIfDue();
        return true;
      }
      this.#current = undefined;
      if (result instanceof Promise) this.#await(message, result, undefined, false);
      // Mid-batch: the sender may refill the mailbox while this run is handled.
      out.creditIfDue();
      if (last || out.due || this.#running >= this.#concurrency) return true;
    }
  }

  /** Streams what a `STREAM`'s handler returned (or its promise resolves to). */
  async #stream(message: Message, name: string, result: unknown): Promise<void> {
    const id = message[1] as number;
    const value = result instanceof Promise ? await result : result;
    await this.#calls.stream(id, name, value, (item) => this.#out.item(id, item));
  }

  #settle(
    message: Message,
    ok: boolean,
    value: unknown,
    hook: HandleHook | undefined,
    tracked: boolean,
  ): void {
    hook?.end(ok, value);
    this.#out.settle(message, ok, value);
    if (tracked) this.#calls.close(message[1] as number);
  }

  /**
   * The messages being handled now, by name (the actor is dying: its report
   * names them): the one whose synchronous handler is running, and those
   * whose handler's promise has not settled.
   */
  handling(): Handling {
    const handling: Handling = [];
    for (const message of this.#pending) handling.push(nameOf(message));
    if (this.#current !== undefined && !this.#pending.has(this.#current)) {
      handling.push(nameOf(this.#current));
    }
    return handling;
  }

  /**
   * Empties the mailbox after the stop sentinel: every message behind it is
   * answered as refused (see `Outgoing.refuse`).
   */
  refuseRest(): void {
    const queue = this.#queue;
    for (let i = this.#head; i < queue.length; i++) this.#out.refuse(queue[i]!);
    queue.length = this.#head = 0;
  }

  /** Tells the parent's watchdog whether a handler is running (it may not answer heartbeats). */
  #setBusy(busy: boolean): void {
    if (this.#liveness) Atomics.store(this.#liveness, 0, busy ? 1 : 0);
  }

  /** Marks the actor idle for good: it has ended. */
  idle(): void {
    this.#setBusy(false);
  }
}
