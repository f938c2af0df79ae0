/**
 * Supervision trees: a supervisor starts its children in order, restarts
 * those that crash according to its strategy and restart intensity, and stops
 * them in reverse order.
 *
 * Guarantees:
 * - Children start in the order listed and stop in reverse order.
 * - A crashed child is restarted per its `restart` policy: `"permanent"`
 *   always, `"transient"` unless it ended normally, `"temporary"` never.
 * - `"one-for-one"` restarts the crashed child; `"one-for-all"` stops the
 *   others (in reverse order) and restarts all; `"rest-for-one"` restarts the
 *   crashed child and those listed after it.
 * - More than `maxRestarts` crashes within `periodMs` and the supervisor stops
 *   every child and fails with `SupervisorGaveUpError` listing the crashes; a
 *   nested supervisor that gives up counts as a crash of its parent's child.
 * - Refs from `supervisor.ref(id)` stay valid across restarts. Messages sent
 *   while the child restarts wait (bounded by its mailbox capacity) or fail
 *   with `ActorRestartingError`, per the child's `whileRestarting`.
 *
 * @module
 */

import type { ActorCell } from "../core/cell.ts";
import type { ActorExit, ActorStats, AskOptions, RefTarget } from "../core/actor_ref.ts";
import { ActorRef } from "../core/actor_ref.ts";
import type { AnyActorDefinition } from "../core/define_actor.ts";
import {
  ActorRestartingError,
  ActorStoppedError,
  type CrashSummary,
  MailboxFullError,
  SupervisorGaveUpError,
} from "../../internal/errors.ts";
import type { CrashRecord, LifecycleEvent } from "../core/events.ts";
import type { SpawnOptions } from "../hosts/spawn_options.ts";
import { watchDeadline } from "../../internal/abort.ts";

/** When a supervisor restarts a child. */
export type RestartPolicy = "permanent" | "transient" | "temporary";

/** Which children a supervisor restarts when one crashes. */
export type RestartStrategy = "one-for-one" | "one-for-all" | "rest-for-one";

/** Exponential backoff between restarts: `initialMs * 2^(n-1)`, capped at `maxMs`. */
export interface BackoffOptions {
  /** The first delay. Default 100 ms. */
  initialMs?: number;
  /** The largest delay. Default 30,000 ms. */
  maxMs?: number;
  /**
   * Scale each delay by a random factor in [1, 1.5), capped at `maxMs`, so
   * restarts do not fall in step; a delay is never under `initialMs`.
   * Default true.
   */
  jitter?: boolean;
}

/** One actor under a supervisor: where it comes from and how it is restarted. */
export interface ChildSpec extends Omit<SpawnOptions, "id" | "signal"> {
  /** The child's id, unique in the system; refs address the child by it. */
  id: string;
  /** The actor module's URL. */
  module: string | URL;
  /** When to restart it. Default `"permanent"`. */
  restart?: RestartPolicy;
  /** Milliseconds it has to drain and run its stop hook when stopped. Default 5000. */
  shutdown?: number;
  /** What messages sent while it restarts do: wait for it (bounded by capacity) or fail. Default `"wait"`. */
  whileRestarting?: "wait" | "fail";
}

/** A supervisor, declared as data. */
export interface SupervisorSpec {
  /** The supervisor's id. */
  id: string;
  /** Which children to restart when one crashes. Default `"one-for-one"`. */
  strategy?: RestartStrategy;
  /** Restart intensity: at most this many restarts within `periodMs`. Default 3. */
  maxRestarts?: number;
  /** Restart intensity window. Default 5000 ms. */
  periodMs?: number;
  /** Delay before each restart, or `false` for none. Default `{ initialMs: 100, maxMs: 30000, jitter: true }`. */
  backoff?: BackoffOptions | false;
  /** When this supervisor is itself a child: its restart policy. Default `"permanent"`. */
  restart?: RestartPolicy;
  /** The children, started in this order: actors, or supervisors (which nest). */
  children: (ChildSpec | SupervisorSpec)[];
}

/** What a supervisor needs from its system. */
export interface SupervisorKit {
  spawn(spec: ChildSpec, supervisor: string): Promise<ActorCell>;
  emit(event: LifecycleEvent): void;
}

interface Child {
  readonly id: string;
  readonly restart: RestartPolicy;
  /** Starts (or starts again) the child. */
  start(): Promise<void>;
  /** Stops it (the supervisor asked, so no restart follows); resolves with how it ended. */
  halt(cap?: number): Promise<ActorExit | undefined>;
  /** Marks it gone for good. */
  retire(exit: ActorExit): void;
  readonly running: boolean;
}

function isSupervisorSpec(spec: ChildSpec | SupervisorSpec): spec is SupervisorSpec {
  return Array.isArray((spec as SupervisorSpec).children);
}

function checkSpec(spec: SupervisorSpec, ids: Set<string>): void {
  const where = `Cannot start supervisor "${spec.id}"`;
  if (typeof spec.id !== "string" || spec.id === "") {
    throw new TypeError("Cannot start supervisor: id must be a non-empty string");
  }
  const strategy = spec.strategy ?? "one-for-one";
  if (!["one-for-one", "one-for-all", "rest-for-one"].includes(strategy)) {
    throw new TypeError(
      `${where}: strategy must be one-for-one, one-for-all or rest-for-one, received "${strategy}"`,
    );
  }
  const max = spec.maxRestarts ?? 3;
  if (!Number.isInteger(max) || max < 0) {
    throw new RangeError(`${where}: maxRestarts must be an integer of at least 0, received ${max}`);
  }
  const period = spec.periodMs ?? 5000;
  if (!(period > 0)) {
    throw new RangeError(`${where}: periodMs must be positive, received ${period}`);
  }
  if (spec.backoff) {
    const { initialMs = 100, maxMs = 30_000 } = spec.backoff;
    if (!(initialMs >= 0) || !(maxMs >= initialMs)) {
      throw new RangeError(
        `${where}: backoff needs 0 <= initialMs <= maxMs, received ${initialMs} and ${maxMs}`,
      );
    }
  }
  if (!Array.isArray(spec.children)) throw new TypeError(`${where}: children must be an array`);
  for (const child of spec.children) {
    if (ids.has(child.id)) throw new TypeError(`${where}: the id "${child.id}" is used twice`);
    ids.add(child.id);
    const restart = child.restart ?? "permanent";
    if (!["permanent", "transient", "temporary"].includes(restart)) {
      throw new TypeError(
        `${where}: restart of "${child.id}" must be permanent, transient or temporary, received "${restart}"`,
      );
    }
    if (isSupervisorSpec(child)) checkSpec(child, ids);
  }
}

/**
 * A running supervisor. Made by `ActorSystem.supervise(spec)`.
 *
 * @example Restart a crashing child, one for one
 * ```ts
 * import { ActorSystem } from "@troupe/troupe";
 * import type { counter } from "../../examples/actors/counter.ts";
 * import assert from "node:assert/strict";
 *
 * await using system = await ActorSystem.start();
 * const root = await system.supervise({
 *   id: "root",
 *   children: [{ id: "count", module: new URL("../../examples/actors/counter.ts", import.meta.url) }],
 * });
 * const ref = root.ref<typeof counter>("count");
 * await ref.tell("inc", 2);
 * assert.equal(await ref.ask("get"), 2);
 * ```
 */
export class Supervisor implements AsyncDisposable {
  #runtime: SupervisorRuntime;

  /**
   * Made by `ActorSystem.supervise`; not constructed directly.
   *
   * @param runtime The running supervisor (internal).
   */
  constructor(runtime: never) {
    this.#runtime = runtime as SupervisorRuntime;
  }

  /** The supervisor's id. */
  get id(): string {
    return this.#runtime.id;
  }

  /** Settles when the supervisor ends: resolves when stopped, rejects with `SupervisorGaveUpError`. */
  get done(): Promise<void> {
    return this.#runtime.done;
  }

  /**
   * A typed ref to a child actor (at any depth), valid across its restarts.
   *
   * @example
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import type { counter } from "../../examples/actors/counter.ts";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const root = await system.supervise({
   *   id: "root",
   *   children: [{ id: "c", module: new URL("../../examples/actors/counter.ts", import.meta.url) }],
   * });
   * assert.equal(root.ref<typeof counter>("c").id, "c");
   * ```
   *
   * @param id The child's id.
   * @returns The child's ref.
   * @throws {TypeError} When no child has that id.
   */
  ref<D extends AnyActorDefinition>(id: string): ActorRef<D> {
    const slot = this.#runtime.find(id);
    if (!slot) throw new TypeError(`Supervisor "${this.id}" has no actor child "${id}"`);
    return slot.ref as ActorRef<D>;
  }

  /**
   * Stops every child in reverse start order, each through its sentinel
   * within its `shutdown` timeout.
   *
   * @returns Once every child has ended.
   */
  stop(): Promise<void> {
    return this.#runtime.stop();
  }

  /** Stops the supervisor (see {@linkcode Supervisor.stop}). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** A child actor: a stable address over successive incarnations. */
class ActorSlot implements Child, RefTarget {
  readonly id: string;
  readonly restart: RestartPolicy;
  readonly ref: ActorRef<AnyActorDefinition>;
  readonly exited: Promise<ActorExit>;
  #spec: ChildSpec;
  #owner: SupervisorRuntime;
  #cell: ActorCell | undefined;
  #state: ActorStats["state"] = "starting";
  #restarts = 0;
  #halting = false;
  #resolveExited!: (exit: ActorExit) => void;
  #waiting: {
    send: (target: RefTarget) => void;
    fail: (error: unknown) => void;
  }[] = [];

  constructor(spec: ChildSpec, owner: SupervisorRuntime) {
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

  async start(): Promise<void> {
    if (this.#cell) this.#restarts++;
    this.#state = this.#cell ? "restarting" : "starting";
    const cell = await this.#owner.kit.spawn(this.#spec, this.#owner.id);
    this.#cell = cell;
    this.#state = "running";
    this.#halting = false;
    void cell.exited.then((exit) => {
      if (this.#cell !== cell) return;
      if (this.#halting) return;
      this.#state = "restarting";
      this.#owner.childExited(this, exit);
    });
    for (const entry of this.#waiting.splice(0)) entry.send(cell);
  }

  async halt(cap = Infinity): Promise<ActorExit | undefined> {
    const cell = this.#cell;
    if (!cell || this.#state === "stopped") return undefined;
    this.#halting = true;
    this.#state = "stopping";
    return await cell.stop(Math.min(this.#spec.shutdown ?? 5000, cap));
  }

  retire(exit: ActorExit): void {
    this.#state = "stopped";
    for (const entry of this.#waiting.splice(0)) entry.fail(new ActorStoppedError(this.id));
    this.#resolveExited(exit);
  }

  /** Restarting: hold the message, or refuse it. */
  #defer<T>(send: (target: RefTarget) => Promise<T>): Promise<T> {
    if (this.#state === "stopped") return Promise.reject(new ActorStoppedError(this.id));
    if (this.#spec.whileRestarting === "fail") {
      return Promise.reject(new ActorRestartingError(this.id));
    }
    const capacity = this.#spec.capacity ?? 1024;
    if (this.#waiting.length >= capacity) {
      return Promise.reject(new MailboxFullError(this.id, capacity));
    }
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push({
        send: (target) => send(target).then(resolve, reject),
        fail: reject,
      });
    });
  }

  // The current incarnation, if it is up. A cell that just died (its exit is
  // still being processed) is not: messages wait for the next one.
  #live(): RefTarget | undefined {
    const cell = this.#cell;
    if (!cell || cell.state === "stopped") return undefined;
    return this.#state === "running" || this.#state === "stopping" ? cell : undefined;
  }

  tell(name: string, payload: unknown): Promise<void> {
    const cell = this.#live();
    if (cell) return cell.tell(name, payload);
    if (this.#state === "stopped" || this.#state === "stopping") {
      throw new ActorStoppedError(this.id);
    }
    return this.#defer((target) => target.tell(name, payload));
  }

  ask(name: string, payload: unknown, options: AskOptions | undefined): Promise<unknown> {
    const cell = this.#live();
    if (cell) return cell.ask(name, payload, options);
    const started = Date.now();
    return this.#defer((target) => {
      const timeout = options?.timeout === undefined
        ? undefined
        : Math.max(0, options.timeout - (Date.now() - started));
      return target.ask(name, payload, { ...options, timeout });
    });
  }

  async stop(_timeout: number, signal?: AbortSignal): Promise<ActorExit> {
    // The child spec's shutdown is the deadline; an abort ends the incarnation now.
    const cancel = watchDeadline(signal, undefined, (reason) => this.#cell?.kill(reason));
    try {
      await this.#owner.stopChild(this);
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
      waiting: (base?.waiting ?? 0) + this.#waiting.length,
      pendingAsks: base?.pendingAsks ?? 0,
      capacity: base?.capacity ?? this.#spec.capacity ?? 1024,
      restarts: this.#restarts,
      ...(base?.pid !== undefined ? { pid: base.pid } : {}),
    };
  }
}

/** A nested supervisor as a child of another. */
class SupervisorSlot implements Child {
  readonly id: string;
  readonly restart: RestartPolicy;
  #spec: SupervisorSpec;
  #owner: SupervisorRuntime;
  runtime: SupervisorRuntime | undefined;

  constructor(spec: SupervisorSpec, owner: SupervisorRuntime) {
    this.id = spec.id;
    this.restart = spec.restart ?? "permanent";
    this.#spec = spec;
    this.#owner = owner;
  }

  get running(): boolean {
    return this.runtime !== undefined && !this.runtime.stopped;
  }

  async start(): Promise<void> {
    const runtime = new SupervisorRuntime(this.#spec, this.#owner.kit, this.runtime);
    this.runtime = runtime;
    await runtime.start();
    runtime.done.catch((error) => {
      if (this.runtime !== runtime || this.#owner.stopped) return;
      this.#owner.childExited(this, {
        id: this.id,
        reason: "error",
        error: error instanceof Error ? error : new Error(String(error)),
        handled: 0,
      });
    });
  }

  async halt(cap = Infinity): Promise<ActorExit | undefined> {
    await this.runtime?.stop(cap);
    return { id: this.id, reason: "normal", handled: 0 };
  }

  retire(_exit: ActorExit): void {}
}

/** The running state of one supervisor. */
export class SupervisorRuntime {
  readonly id: string;
  readonly kit: SupervisorKit;
  readonly done: Promise<void>;
  stopped = false;
  #spec: SupervisorSpec;
  #children: Child[];
  #crashes: CrashRecord[] = [];
  #queue: Promise<void> = Promise.resolve();
  #resolveDone!: () => void;
  #rejectDone!: (error: unknown) => void;
  #stopping: Promise<void> | undefined;

  constructor(spec: SupervisorSpec, kit: SupervisorKit, previous?: SupervisorRuntime) {
    if (!previous) checkSpec(spec, new Set([spec.id]));
    this.id = spec.id;
    this.kit = kit;
    this.#spec = spec;
    this.done = new Promise((resolve, reject) => {
      this.#resolveDone = resolve;
      this.#rejectDone = reject;
    });
    this.done.catch(() => {}); // observed through Supervisor.done or the parent
    this.#children = spec.children.map((child) =>
      isSupervisorSpec(child) ? new SupervisorSlot(child, this) : new ActorSlot(child, this)
    );
  }

  /** Restart counts of the actor children, at any depth. */
  *restartCounts(): Iterable<[string, number]> {
    for (const child of this.#children) {
      if (child instanceof ActorSlot) yield [child.id, child.stats().restarts];
      else if (child instanceof SupervisorSlot && child.runtime) {
        yield* child.runtime.restartCounts();
      }
    }
  }

  /** Finds an actor child at any depth. */
  find(id: string): ActorSlot | undefined {
    for (const child of this.#children) {
      if (child instanceof ActorSlot && child.id === id) return child;
      if (child instanceof SupervisorSlot) {
        const found = child.runtime?.find(id);
        if (found) return found;
      }
    }
    return undefined;
  }

  /** Starts the children in order; if one fails, stops those started and throws. */
  async start(): Promise<void> {
    const started: Child[] = [];
    try {
      for (const child of this.#children) {
        await child.start();
        started.push(child);
      }
    } catch (error) {
      this.stopped = true;
      for (const child of started.reverse()) await child.halt().catch(() => {});
      throw error;
    }
  }

  /** A child ended without being asked to: decide, one event at a time. */
  childExited(child: Child, exit: ActorExit): void {
    this.#queue = this.#queue.then(() => this.#handleExit(child, exit));
  }

  async #handleExit(child: Child, exit: ActorExit): Promise<void> {
    if (this.stopped) return;
    const abnormal = exit.reason !== "normal";
    const restart = child.restart === "permanent" ||
      (child.restart === "transient" && abnormal);
    if (!restart) {
      child.retire(exit);
      return;
    }
    const now = Date.now();
    const record: CrashRecord = { id: child.id, reason: exit.reason, time: now };
    if (exit.error) record.error = exit.error;
    if (exit.handling) record.handling = exit.handling;
    this.#crashes.push(record);
    const period = this.#spec.periodMs ?? 5000;
    this.#crashes = this.#crashes.filter((c) => now - c.time <= period);
    const max = this.#spec.maxRestarts ?? 3;
    if (this.#crashes.length > max) {
      await this.#giveUp(max, period);
      return;
    }
    const index = this.#children.indexOf(child);
    const strategy = this.#spec.strategy ?? "one-for-one";
    const group = strategy === "one-for-one"
      ? [child]
      : strategy === "one-for-all"
      ? this.#children.slice()
      : this.#children.slice(index);
    // Stop the rest of the group in reverse order; the crashed one is gone already.
    for (const other of group.slice().reverse()) {
      if (other !== child && other.running) await other.halt();
    }
    const attempt = this.#crashes.filter((c) => c.id === child.id).length;
    const delayMs = this.#delay(attempt);
    if (delayMs > 0) {
      await this.#sleep(delayMs);
      if (this.stopped) return;
    }
    for (const member of group) {
      try {
        await member.start();
      } catch (error) {
        // A failed restart is one more crash.
        this.childExited(member, {
          id: member.id,
          reason: "error",
          error: error instanceof Error ? error : new Error(String(error)),
          handled: 0,
        });
        return;
      }
      this.kit.emit({
        type: "restarted",
        id: member.id,
        supervisor: this.id,
        attempt,
        delayMs: member === child ? delayMs : 0,
        time: Date.now(),
      });
    }
  }

  #wake: (() => void) | undefined;

  /** Waits `ms`, or less if the supervisor stops meanwhile. */
  async #sleep(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      timer = setTimeout(resolve, ms);
    });
    clearTimeout(timer);
    this.#wake = undefined;
  }

  #delay(attempt: number): number {
    const backoff = this.#spec.backoff ?? {};
    if (backoff === false) return 0;
    const { initialMs = 100, maxMs = 30_000, jitter = true } = backoff;
    const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
    // Jitter spreads restarts upwards, never under initialMs nor over maxMs.
    return Math.round(jitter ? Math.min(maxMs, base * (1 + Math.random() * 0.5)) : base);
  }

  async #giveUp(max: number, period: number): Promise<void> {
    this.stopped = true;
    await this.#stopChildren();
    const crashes: CrashSummary[] = this.#crashes.map((c) => ({
      id: c.id,
      reason: c.reason,
      time: c.time,
      ...(c.error ? { message: c.error.message } : {}),
    }));
    const error = new SupervisorGaveUpError(this.id, max, period, crashes, {
      cause: this.#crashes.at(-1)?.error,
    });
    this.kit.emit({
      type: "gave-up",
      id: this.id,
      crashes: this.#crashes.slice(),
      error,
      time: Date.now(),
    });
    this.#rejectDone(error);
  }

  async #stopChildren(cap = Infinity): Promise<void> {
    for (const child of this.#children.slice().reverse()) await this.stopChild(child, cap);
  }

  /**
   * Stops one child for good (at its ref's request, or with all the others),
   * within its `shutdown` timeout or `cap` milliseconds, whichever is shorter.
   */
  async stopChild(child: Child, cap = Infinity): Promise<void> {
    const exit = await child.halt(cap).catch(() => undefined);
    child.retire(exit ?? { id: child.id, reason: "normal", handled: 0 });
  }

  /** Stops every child in reverse order, each within `cap` ms at most. */
  stop(cap = Infinity): Promise<void> {
    this.#stopping ??= (async () => {
      this.stopped = true;
      this.#wake?.();
      await this.#queue.catch(() => {});
      await this.#stopChildren(cap);
      this.#resolveDone();
    })();
    return this.#stopping;
  }
}
