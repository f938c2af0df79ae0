// The running state of one supervisor: its children's slots, the crashes in
// its intensity window, and the one queue its decisions go through (a
// child's exit, then the stops, the backoff and the starts of a restart).

import type { ActorExit } from "../core/actor_ref.ts";
import type { CrashRecord } from "../core/events.ts";
import {
  ActorStoppedError,
  type CrashSummary,
  SupervisorGaveUpError,
} from "../../internal/errors.ts";
import { noop, sequentialCaps } from "../../internal/abort.ts";
import {
  checkSpec,
  type ChildSpec,
  isSupervisorSpec,
  type SupervisorKit,
  type SupervisorSpec,
} from "./spec.ts";
import {
  ActorSlot,
  type Child,
  type NestedRuntime,
  type SlotOwner,
  SupervisorSlot,
} from "./_slots.ts";

/** The running state of one supervisor. */
export class SupervisorRuntime implements SlotOwner, NestedRuntime {
  readonly id: string;
  readonly kit: SupervisorKit;
  readonly done: Promise<void>;
  stopped = false;
  #spec: SupervisorSpec;
  /** A nested supervisor leaves its children down when it gives up: its parent decides. */
  #nested: boolean;
  #children: Child[];
  #crashes: CrashRecord[] = [];
  #queue: Promise<void> = Promise.resolve();
  #resolveDone!: () => void;
  #rejectDone!: (error: unknown) => void;
  #halting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  /** Set by `kill`: whatever is stopped from then on is terminated, not stopped. */
  #killed: { reason: unknown } | undefined;
  #wake: (() => void) | undefined;
  /** Set once its children all started; `#gaveUp` once it gave up; `#ended` once a stop finished. */
  #started = false;
  #gaveUp = false;
  #ended = false;

  /**
   * @param spec The supervisor.
   * @param kit What it needs of its system.
   * @param previous The runtime it replaces, when its parent restarts it: the
   * new one takes over its children's slots (and so every ref to them).
   */
  constructor(spec: SupervisorSpec, kit: SupervisorKit, previous?: SupervisorRuntime) {
    if (!previous) checkSpec(spec, new Set([spec.id]));
    this.id = spec.id;
    this.kit = kit;
    this.#spec = spec;
    this.#nested = false;
    this.done = new Promise((resolve, reject) => {
      this.#resolveDone = resolve;
      this.#rejectDone = reject;
    });
    this.done.catch(noop); // observed through Supervisor.done or the parent
    this.#children = previous
      ? previous.#children
      : spec.children.map((child) =>
        isSupervisorSpec(child) ? new SupervisorSlot(child, this) : new ActorSlot(child, this)
      );
    for (const child of this.#children) child.adopt(this);
  }

  /** A runtime for a nested supervisor of this one. */
  nest(spec: SupervisorSpec, previous: NestedRuntime | undefined): NestedRuntime {
    const runtime = new SupervisorRuntime(
      spec,
      this.kit,
      previous as SupervisorRuntime | undefined,
    );
    runtime.#nested = true;
    return runtime;
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

  /**
   * Where this supervisor is: starting its children, running, halted for a
   * restart by its parent, stopping or stopped for good, or given up (a
   * nested one then waits for its parent's decision).
   */
  get state(): SupervisionState {
    if (this.#gaveUp) return "gave-up";
    if (this.#stopping) return this.#ended ? "stopped" : "stopping";
    if (this.#halting) return "restarting";
    return this.#started ? "running" : "starting";
  }

  /** The supervision tree under this supervisor: its children in spec order, nested supervisors with theirs. */
  tree(): SupervisionNode {
    return {
      id: this.id,
      kind: "supervisor",
      state: this.state,
      children: this.#children.map((child): SupervisionNode =>
        child instanceof SupervisorSlot && child.runtime instanceof SupervisorRuntime
          ? child.runtime.tree()
          : child instanceof SupervisorSlot
          ? { id: child.id, kind: "supervisor", state: "starting", children: [] }
          : { id: child.id, kind: "actor", state: (child as ActorSlot).state }
      ),
    };
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

  /**
   * Adds an actor child to a running supervisor and starts it, in the
   * supervisor's one queue of decisions (a pool grows through it). It is
   * restarted like the others and stopped with them.
   *
   * @throws {ActorStoppedError} When the supervisor is stopping or stopped.
   * @throws {TypeError} When a child has that id already.
   */
  addChild(spec: ChildSpec): Promise<ActorSlot> {
    const added = this.#queue.then(async () => {
      if (this.stopped) throw new ActorStoppedError(this.id);
      if (this.find(spec.id)) {
        throw new TypeError(`Supervisor "${this.id}" has a child "${spec.id}" already`);
      }
      const slot = new ActorSlot({ restart: "permanent", ...spec }, this);
      this.#children.push(slot);
      try {
        await slot.start();
      } catch (error) {
        this.#children.splice(this.#children.indexOf(slot), 1);
        await slot.retire({ id: slot.id, reason: "error", handled: 0 });
        throw error;
      }
      return slot;
    });
    this.#queue = added.then(noop, noop);
    return added;
  }

  /**
   * Stops an actor child for good through its sentinel (within its `shutdown`
   * timeout) and takes it out of the supervisor, in the one queue of
   * decisions (a pool shrinks and recycles its workers through it).
   */
  removeChild(slot: ActorSlot): Promise<void> {
    const removed = this.#queue.then(async () => {
      if (!this.#children.includes(slot)) return;
      await this.stopChild(slot);
      const index = this.#children.indexOf(slot);
      if (index >= 0) this.#children.splice(index, 1);
    });
    this.#queue = removed.then(noop, noop);
    return removed;
  }

  /**
   * Restarts a child on request (`troupe restart`): an actor at any depth, or
   * a nested supervisor with its subtree, stopped through its sentinel and
   * started again in the queue of decisions of the supervisor that owns it.
   * It counts as a restart, and a `restarted` event with `requested: true`
   * says so (one per actor started again).
   *
   * @returns `false` when no child has that id.
   * @throws {ActorStoppedError} When that supervisor is stopping or stopped.
   */
  restart(id: string): Promise<boolean> {
    const child = this.#children.find((c) => c.id === id);
    if (!child) {
      for (const c of this.#children) {
        if (c instanceof SupervisorSlot && c.runtime instanceof SupervisorRuntime) {
          if (c.runtime.#owns(id)) return c.runtime.restart(id);
        }
      }
      return Promise.resolve(false);
    }
    const done = this.#queue.then(async () => {
      if (this.stopped || child.retired) throw new ActorStoppedError(id);
      await child.halt(Infinity, false);
      await child.start();
      const restarted = child instanceof ActorSlot
        ? [child.id]
        : [...(child as SupervisorSlot).runtime!.restartCounts()].map(([actor]) => actor);
      for (const actor of restarted) {
        this.kit.emit({
          type: "restarted",
          id: actor,
          supervisor: this.id,
          attempt: 0,
          delayMs: 0,
          requested: true,
          time: Date.now(),
        });
      }
      return true;
    });
    this.#queue = done.then(noop, noop);
    return done;
  }

  /** Tells whether a child of that id is in this supervisor's subtree. */
  #owns(id: string): boolean {
    return this.#children.some((c) =>
      c.id === id ||
      (c instanceof SupervisorSlot && c.runtime instanceof SupervisorRuntime &&
        c.runtime.#owns(id))
    );
  }

  /**
   * Starts the children in order, in the one queue of decisions: a child that
   * ends meanwhile is handled once the start is over. (Handled at once, its
   * restart or a give-up would race the start: a child started after the
   * supervisor halted them all would run under nobody, its id taken.) Once
   * the supervisor is stopped (halted, stopped or killed) it starts no more:
   * the stop, queued after, takes those started. If one fails to start, stops
   * those started and throws.
   */
  start(): Promise<void> {
    const started = this.#queue.then(() => this.#startChildren());
    this.#queue = started.then(noop, noop);
    return started;
  }

  async #startChildren(): Promise<void> {
    const started: Child[] = [];
    try {
      for (const child of this.#children) {
        if (this.stopped) return;
        await child.start();
        started.push(child);
      }
      this.#started = true;
    } catch (error) {
      this.stopped = true;
      for (const child of started.reverse()) await child.halt(Infinity, false).catch(noop);
      throw error;
    }
  }

  /** A child ended without being asked to: decide, one event at a time. */
  childExited(child: Child, exit: ActorExit, generation: number): void {
    this.#queue = this.#queue.then(() => this.#handleExit(child, exit, generation));
  }

  async #handleExit(child: Child, exit: ActorExit, generation: number): Promise<void> {
    // Stale: the child was restarted since (with its whole group, say).
    if (this.stopped || generation !== child.generation) return;
    const abnormal = exit.reason !== "normal";
    const restart = child.restart === "permanent" ||
      (child.restart === "transient" && abnormal);
    if (!restart) {
      await child.retire(exit);
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
    // Stop the rest of the group in reverse order, for a restart: messages to
    // them wait for their next incarnation. The crashed one is gone already.
    // A temporary sibling is never restarted (as in OTP): it stops for good.
    for (const other of group.slice().reverse()) {
      if (other === child || !other.running) continue;
      if (other.restart === "temporary") await this.stopChild(other);
      else await other.halt(Infinity, false);
    }
    const attempt = this.#crashes.filter((c) => c.id === child.id).length;
    const delayMs = this.#delay(attempt);
    if (delayMs > 0) {
      await this.#sleep(delayMs);
      if (this.stopped) return;
    }
    for (const member of group) {
      if (member.retired) continue;
      try {
        await member.start();
      } catch (error) {
        // A failed restart is one more crash.
        this.childExited(member, {
          id: member.id,
          reason: "error",
          error: error instanceof Error ? error : new Error(String(error)),
          handled: 0,
        }, member.generation);
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
    this.#gaveUp = true;
    // Nested, its children stay down for the restart its parent may make;
    // at the top, nothing restarts them.
    if (this.#nested) await this.#haltChildren(Infinity);
    else await this.#stopChildren();
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

  #haltChildren(cap: number): Promise<void> {
    return this.#inReverse(cap, async (child, childCap) => {
      if (this.#killed) child.kill(this.#killed.reason);
      await child.halt(childCap, false).catch(noop);
    });
  }

  /** Stops every child for good, in reverse order, all out of one deadline `cap` ms away. */
  #stopChildren(cap = Infinity): Promise<void> {
    return this.#inReverse(cap, (child, childCap) => this.stopChild(child, childCap));
  }

  /**
   * Runs `stop` on each child in reverse order, one after another (as OTP
   * does), each with its share of one deadline `cap` ms away (see `sequentialCaps`).
   */
  async #inReverse(
    cap: number,
    stop: (child: Child, childCap: number) => Promise<void>,
  ): Promise<void> {
    const children = this.#children.slice().reverse();
    const capOf = sequentialCaps(cap, children.length);
    for (const [index, child] of children.entries()) await stop(child, capOf(index));
  }

  /**
   * Stops one child for good (at its ref's request, or with all the others),
   * within its `shutdown` timeout or `cap` milliseconds, whichever is shorter.
   */
  async stopChild(child: Child, cap = Infinity): Promise<void> {
    if (this.#killed) child.kill(this.#killed.reason);
    const exit = await child.halt(cap, true).catch(() => undefined);
    await child.retire(exit ?? { id: child.id, reason: "normal", handled: 0 });
  }

  /**
   * Stops every child in reverse order for a restart of this (nested)
   * supervisor by its parent: messages to them wait for the next start.
   */
  halt(cap = Infinity): Promise<void> {
    this.#halting ??= (async () => {
      this.stopped = true;
      this.#wake?.();
      await this.#queue.catch(noop);
      await this.#haltChildren(cap);
      this.#resolveDone();
    })();
    return this.#halting;
  }

  /** Stops every child in reverse order, for good, each within `cap` ms at most. */
  stop(cap = Infinity): Promise<void> {
    this.#stopping ??= (async () => {
      this.stopped = true;
      this.#wake?.();
      await this.#queue.catch(noop);
      await this.#halting;
      await this.#stopChildren(cap);
      this.#ended = true;
      this.#resolveDone();
    })();
    return this.#stopping;
  }

  /**
   * Terminates every incarnation at any depth now, and every one stopped from
   * now on; nothing is restarted. A stop under way then ends at once.
   */
  kill(reason: unknown): void {
    this.stopped = true;
    this.#killed ??= { reason };
    this.#wake?.();
    for (const child of this.#children) child.kill(reason);
  }
}

/**
 * Where a node of the supervision tree is. An actor is `"starting"` (its
 * first start), `"running"`, `"restarting"` (down for a restart in any phase:
 * crashed, stopped with its siblings, in its backoff, starting again, or
 * under a nested supervisor that gave up), `"stopping"` or `"stopped"` (for
 * good): what its ref's `stats().state` says. A supervisor is `"starting"`
 * (its children), `"running"`, `"restarting"` (halted for a restart by its
 * parent), `"stopping"`, `"stopped"`, or `"gave-up"` (past its restart
 * intensity; a nested one waits for its parent's decision).
 */
export type SupervisionState =
  | "starting"
  | "running"
  | "restarting"
  | "stopping"
  | "stopped"
  | "gave-up";

/** One node of a supervision tree (see `ActorSystem.tree`). */
export interface SupervisionNode {
  /** The supervisor's or actor's id. */
  id: string;
  /** `"supervisor"` or `"actor"`. */
  kind: "supervisor" | "actor";
  /** Where it is now; `"gave-up"` only for a supervisor. */
  state: SupervisionState;
  /** A supervisor's children, in spec order (then those added, such as a pool's workers). */
  children?: SupervisionNode[];
}
