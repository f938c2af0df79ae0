// The children of a supervisor, as the supervisor holds them: a slot is a
// stable address over successive incarnations, and it outlives the runtime
// that owns it now. When a nested supervisor is restarted by its parent, the
// new runtime adopts the same slots, so refs taken before keep working.
//
// A slot's states, as its ref's `stats().state` shows them:
// - "starting": the first start;
// - "running": an incarnation is up, messages go straight to it;
// - "restarting": down for a restart in any phase (crashed, being stopped as
//   a sibling, in the backoff, starting again, or its nested supervisor gave
//   up and waits for its parent): messages wait or fail, per `whileRestarting`;
// - "stopping": stopped for good and draining: messages are refused;
// - "stopped": gone for good (retired): messages are refused.

import type { ActorCell } from "../core/cell.ts";
import type {
  ActorExit,
  ActorStats,
  AskOptions,
  RefTarget,
  StreamOptions,
  TellOptions,
} from "../core/actor_ref.ts";
import { ActorRef } from "../core/actor_ref.ts";
import type { AnyActorDefinition } from "../core/define_actor.ts";
import {
  ActorRestartingError,
  ActorStoppedError,
  MailboxFullError,
} from "../../internal/errors.ts";
import { noop, watchDeadline } from "../../internal/abort.ts";
import type { ChildSpec, RestartPolicy, SupervisorKit, SupervisorSpec } from "./spec.ts";

/** One child of a supervisor: an actor, or a nested supervisor. */
export interface Child {
  readonly id: string;
  readonly restart: RestartPolicy;
  /** Counts the incarnations started; an exit of an older one is stale. */
  readonly generation: number;
  /** Up now. */
  readonly running: boolean;
  /** Gone for good: never started again. */
  readonly retired: boolean;
  /** Passes to the runtime that owns it now (a restarted nested supervisor's). */
  adopt(owner: SlotOwner): void;
  /** Starts (or starts again) the child; does nothing once it is retired. */
  start(): Promise<void>;
  /**
   * Stops the current incarnation (the supervisor asked, so no restart is
   * triggered by its exit), within its `shutdown` timeout or `cap` ms. For a
   * restart (`forGood` false) messages meanwhile wait for the next one; for
   * good, they are refused. Resolves with how it ended.
   */
  halt(cap: number, forGood: boolean): Promise<ActorExit | undefined>;
  /** Terminates what runs now, without a stop. */
  kill(reason: unknown): void;
  /** Marks it gone for good: what waits for it fails. */
  retire(exit: ActorExit): Promise<void>;
}

/** A nested supervisor's running state, as its slot sees it. */
export interface NestedRuntime {
  readonly done: Promise<void>;
  readonly stopped: boolean;
  start(): Promise<void>;
  /** Stops its children for a restart of the whole nested supervisor. */
  halt(cap: number): Promise<void>;
  /** Stops its children for good. */
  stop(cap?: number): Promise<void>;
  kill(reason: unknown): void;
  find(id: string): ActorSlot | undefined;
  restartCounts(): Iterable<[string, number]>;
}

/** What a slot needs from the supervisor that owns it now. */
export interface SlotOwner {
  readonly id: string;
  readonly kit: SupervisorKit;
  readonly stopped: boolean;
  /** The child ended without being asked to (its `generation` then). */
  childExited(child: Child, exit: ActorExit, generation: number): void;
  /** Stops one child for good, within its `shutdown` or `cap` ms, whichever is shorter. */
  stopChild(child: Child, cap?: number): Promise<void>;
  /** A runtime for a nested supervisor, adopting `previous`'s children when it restarts. */
  nest(spec: SupervisorSpec, previous: NestedRuntime | undefined): NestedRuntime;
}

/** A message held while its child restarts. */
interface Held {
  send(target: RefTarget): void;
  fail(error: unknown): void;
}

/** The reason of a dead letter for a tell refused with `error`. */
function refusedBecause(error: unknown): string {
  if (error instanceof ActorRestartingError) return "actor restarting";
  if (error instanceof MailboxFullError) return "mailbox full";
  return "actor stopped";
}

/** A child actor: a stable address over successive incarnations. */
export class ActorSlot implements Child, RefTarget {
  readonly id: string;
  readonly restart: RestartPolicy;
  readonly ref: ActorRef<AnyActorDefinition>;
  readonly exited: Promise<ActorExit>;
  generation = 0;
  #spec: ChildSpec;
  #owner: SlotOwner;
  #cell: ActorCell | undefined;
  #state: ActorStats["state"] = "starting";
  #restarts = 0;
  #halting = false;
  #resolveExited!: (exit: ActorExit) => void;
  /** Messages held for the next incarnation, in the order sent. */
  #held = new Set<Held>();
  /** Told of each incarnation once it runs (see `incarnations`). */
  #followers = new Set<(incarnation: RefTarget) => void>();

  /** Where the slot is (see the states above). */
  get state(): ActorStats["state"] {
    return this.#state;
  }

  constructor(spec: ChildSpec, owner: SlotOwner) {
    this.id = spec.id;
    this.restart = spec.restart ?? "permanent";
    this.#spec = spec;
    this.#owner = owner;
    this.exited = new Promise((resolve) => this.#resolveExited = resolve);
    this.ref = new ActorRef(this as never);
  }

  get running(): boolean {
    return this.#cell !== undefined && this.#state === "running";
  }

  get retired(): boolean {
    return this.#state === "stopped";
  }

  adopt(owner: SlotOwner): void {
    this.#owner = owner;
  }

  async start(): Promise<void> {
    if (this.retired) return;
    if (this.#cell) this.#restarts++;
    this.#state = this.#cell ? "restarting" : "starting";
    const cell = await this.#owner.kit.spawn(this.#spec, this.#owner.id);
    if (this.retired) {
      // Its ref stopped it while it started: this incarnation is not wanted.
      await cell.stop(this.#spec.shutdown ?? 5000);
      return;
    }
    const generation = ++this.generation;
    this.#cell = cell;
    this.#state = "running";
    this.#halting = false;
    void cell.exited.then((exit) => {
      if (this.#cell !== cell || this.#halting) return;
      this.#state = "restarting";
      this.#owner.childExited(this, exit, generation);
    });
    const held = [...this.#held];
    this.#held.clear();
    for (const message of held) message.send(cell);
    for (const follower of [...this.#followers]) follower(cell);
  }

  /**
   * Calls `listener` with each incarnation once it runs, the current one at
   * once (a NATS exposure served in the actor's thread follows the child so).
   */
  incarnations(listener: (incarnation: RefTarget) => void): () => void {
    this.#followers.add(listener);
    if (this.running) listener(this.#cell!);
    return () => void this.#followers.delete(listener);
  }

  async halt(cap: number, forGood: boolean): Promise<ActorExit | undefined> {
    if (this.retired) return undefined;
    this.#state = forGood ? "stopping" : "restarting";
    const cell = this.#cell;
    if (!cell) return undefined;
    this.#halting = true;
    return await cell.stop(Math.min(this.#spec.shutdown ?? 5000, cap));
  }

  kill(reason: unknown): void {
    this.#cell?.kill(reason);
  }

  retire(exit: ActorExit): Promise<void> {
    if (!this.retired) {
      this.#state = "stopped";
      const held = [...this.#held];
      this.#held.clear();
      for (const message of held) message.fail(new ActorStoppedError(this.id));
    }
    this.#resolveExited(exit);
    return Promise.resolve();
  }

  /** The mailbox capacity: the incarnation's (the system resolved the default). */
  get #capacity(): number {
    return this.#cell?.capacity ?? this.#spec.capacity ?? 4096;
  }

  // The current incarnation, when messages may go straight to it. One that
  // is being stopped, or just died (its exit is still being handled), is not.
  #live(): ActorCell | undefined {
    const cell = this.#cell;
    return this.#state === "running" && cell?.state === "running" ? cell : undefined;
  }

  /** Why a message cannot be held for the next incarnation now, if it cannot. */
  #refusal(): Error | undefined {
    if (this.#state === "stopped" || this.#state === "stopping") {
      return new ActorStoppedError(this.id);
    }
    if (this.#spec.whileRestarting === "fail") return new ActorRestartingError(this.id);
    const capacity = this.#capacity;
    if (this.#held.size >= capacity) return new MailboxFullError(this.id, capacity);
    return undefined;
  }

  /**
   * Holds a message for the next incarnation, bounded by the ask's timeout
   * or signal while it waits. `tell` names a tell: it is a dead letter if it
   * never goes, and its promise's rejection is handled (a tell nobody awaits
   * must not end the program).
   */
  #hold<T>(
    tell: string | undefined,
    options: AskOptions | TellOptions | undefined,
    send: (target: RefTarget) => Promise<T>,
  ): Promise<T> {
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    if (tell !== undefined) promise.catch(noop);
    let cancel = noop;
    const held: Held = {
      send: (target) => {
        cancel();
        try {
          send(target).then(resolve, reject);
        } catch (error) {
          reject(error);
        }
      },
      fail: (error) => {
        cancel();
        if (tell !== undefined) this.#lost(tell, error);
        reject(error);
      },
    };
    this.#held.add(held);
    if (options) {
      cancel = watchDeadline(options.signal, options.timeout, (reason) => {
        this.#held.delete(held);
        reject(reason);
      });
    }
    return promise;
  }

  /** Reports a tell that was not delivered. */
  #lost(name: string, error: unknown): void {
    this.#owner.kit.deadLetter({
      actorId: this.id,
      messageName: name,
      reason: refusedBecause(error),
      count: 1,
    });
  }

  /**
   * Never throws: a refused tell is a dead letter, and rejects (handled). A
   * tell held for the next incarnation gives up on its options' signal or
   * timeout like one waiting for room (the time held counts against both).
   */
  tell(name: string, payload: unknown, options?: TellOptions): Promise<void> {
    const cell = this.#live();
    if (cell) {
      try {
        return cell.tell(name, payload, options);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const refusal = this.#refusal();
    if (refusal) {
      this.#lost(name, refusal);
      const refused = Promise.reject(refusal);
      refused.catch(noop);
      return refused;
    }
    if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
    const started = Date.now();
    return this.#hold(name, options, (target) => {
      const timeout = options?.timeout === undefined
        ? undefined
        : Math.max(0, options.timeout - (Date.now() - started));
      return target.tell(name, payload, options && { ...options, timeout });
    });
  }

  ask(name: string, payload: unknown, options: AskOptions | undefined): Promise<unknown> {
    const cell = this.#live();
    if (cell) return cell.ask(name, payload, options);
    const refusal = this.#refusal();
    if (refusal) return Promise.reject(refusal);
    const started = Date.now();
    return this.#hold(undefined, options, (target) => {
      const timeout = options?.timeout === undefined
        ? undefined
        : Math.max(0, options.timeout - (Date.now() - started));
      return target.ask(name, payload, { ...options, timeout });
    });
  }

  /** Streams from the incarnation live at the first `next()` (or the next one, as an ask waits). */
  async *stream(
    name: string,
    payload: unknown,
    options: StreamOptions | undefined,
  ): AsyncGenerator<unknown, void, undefined> {
    const cell = this.#live();
    if (cell) return yield* cell.stream(name, payload, options);
    const refusal = this.#refusal();
    if (refusal) throw refusal;
    yield* await this.#hold(
      undefined,
      options,
      (target) => Promise.resolve(target.stream(name, payload, options)),
    );
  }

  async stop(timeout: number | undefined, signal?: AbortSignal): Promise<ActorExit> {
    // The deadline is the child spec's shutdown, or the caller's timeout when
    // shorter; an abort ends the incarnation now.
    const cancel = watchDeadline(signal, undefined, (reason) => this.kill(reason));
    try {
      await this.#owner.stopChild(this, timeout ?? Infinity);
    } finally {
      cancel();
    }
    return this.exited;
  }

  stats(): ActorStats {
    const base = this.#cell?.stats();
    return {
      id: this.id,
      state: this.#state,
      host: base?.host ?? this.#spec.host ?? "worker",
      transport: base?.transport ?? String(this.#spec.transport ?? "queue"),
      handled: base?.handled ?? 0,
      inflight: base?.inflight ?? 0,
      waiting: (base?.waiting ?? 0) + this.#held.size,
      pendingAsks: base?.pendingAsks ?? 0,
      capacity: this.#capacity,
      restarts: this.#restarts,
      ...(base?.pid !== undefined ? { pid: base.pid } : {}),
      ...(base?.heapUsed !== undefined ? { heapUsed: base.heapUsed } : {}),
    };
  }
}

/**
 * A nested supervisor as a child of another. Each start is a new runtime
 * over the same slots; a runtime that gives up leaves its children down for
 * a restart, and its parent decides: start it again, or retire it (and with
 * it every slot below).
 */
export class SupervisorSlot implements Child {
  readonly id: string;
  readonly restart: RestartPolicy;
  generation = 0;
  runtime: NestedRuntime | undefined;
  #spec: SupervisorSpec;
  #owner: SlotOwner;
  #retired = false;

  constructor(spec: SupervisorSpec, owner: SlotOwner) {
    this.id = spec.id;
    this.restart = spec.restart ?? "permanent";
    this.#spec = spec;
    this.#owner = owner;
  }

  get running(): boolean {
    return this.runtime !== undefined && !this.runtime.stopped;
  }

  get retired(): boolean {
    return this.#retired;
  }

  adopt(owner: SlotOwner): void {
    this.#owner = owner;
  }

  async start(): Promise<void> {
    if (this.#retired) return;
    const runtime = this.#owner.nest(this.#spec, this.runtime);
    this.runtime = runtime;
    const generation = ++this.generation;
    await runtime.start();
    runtime.done.catch((error) => {
      if (this.runtime !== runtime || this.#owner.stopped) return;
      this.#owner.childExited(this, {
        id: this.id,
        reason: "error",
        error: error instanceof Error ? error : new Error(String(error)),
        handled: 0,
      }, generation);
    });
  }

  async halt(cap: number, forGood: boolean): Promise<ActorExit | undefined> {
    if (forGood) await this.runtime?.stop(cap);
    else await this.runtime?.halt(cap);
    return { id: this.id, reason: "normal", handled: 0 };
  }

  kill(reason: unknown): void {
    this.runtime?.kill(reason);
  }

  async retire(_exit: ActorExit): Promise<void> {
    this.#retired = true;
    // Every slot below is retired with it (their incarnations are down already).
    await this.runtime?.stop();
  }
}
