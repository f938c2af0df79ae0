/**
 * Supervision trees: a supervisor starts its children in order, restarts
 * those that crash according to its strategy and restart intensity, and stops
 * them in reverse order.
 *
 * Guarantees:
 * - Children start in the order listed and stop in reverse order.
 * - A crashed child is restarted per its `restart` policy: `"permanent"`
 *   always, `"transient"` unless it ended normally, `"temporary"` never (a
 *   temporary sibling stopped by another's crash stops for good).
 * - `"one-for-one"` restarts the crashed child; `"one-for-all"` stops the
 *   others (in reverse order) and restarts all; `"rest-for-one"` restarts the
 *   crashed child and those listed after it.
 * - A supervisor decides one event at a time: a child that ends while its
 *   supervisor (re)starts the children is handled once that start is over.
 * - More than `maxRestarts` crashes within `periodMs` and the supervisor stops
 *   every child and fails with `SupervisorGaveUpError` listing the crashes; a
 *   nested supervisor that gives up counts as a crash of its parent's child.
 * - Refs from `supervisor.ref(id)` stay valid across restarts, at any depth
 *   (a nested supervisor restarted by its parent keeps its children's refs),
 *   for as long as the supervisor that owns the id exists. Messages sent
 *   while the child restarts, in any phase (it crashed, it is being stopped
 *   as a sibling, the backoff, it starts again), wait for the next
 *   incarnation (bounded by its mailbox capacity, and an ask by its timeout
 *   or signal) or fail with `ActorRestartingError`, per `whileRestarting`.
 * - A supervised ref's `tell` never throws: a tell it cannot deliver (the
 *   child is gone for good, or restarting under `"fail"`) is a dead letter and
 *   its promise rejects (`ActorStoppedError`, `ActorRestartingError`), with
 *   the rejection handled, so a tell nobody awaits does not end the program.
 *
 * @module
 */

import type { ActorRef } from "../core/actor_ref.ts";
import type { AnyActorDefinition } from "../core/define_actor.ts";
import { watchDeadline } from "../../internal/abort.ts";
import { SupervisorRuntime } from "./_runtime.ts";

export type {
  BackoffOptions,
  ChildSpec,
  RestartPolicy,
  RestartStrategy,
  SupervisorKit,
  SupervisorSpec,
} from "./spec.ts";
export { SupervisorRuntime };
export type { SupervisionNode, SupervisionState } from "./_runtime.ts";

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
   * Restarts a child on request: an actor at any depth, or a nested
   * supervisor with every actor under it. Its supervisor stops it through
   * its sentinel (within its `shutdown` timeout) and starts it again, in the
   * same queue as its crash restarts. It counts as a restart (`restarts` in
   * its stats), and a `restarted` event with `requested: true` says so; it
   * does not count towards `maxRestarts`. Refs stay valid: messages sent
   * meanwhile wait for the new incarnation.
   *
   * @example
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import type { counter } from "../../examples/actors/counter.ts";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const url = new URL("../../examples/actors/counter.ts", import.meta.url);
   * const root = await system.supervise({ id: "root", children: [{ id: "c", module: url }] });
   * const ref = root.ref<typeof counter>("c");
   * await ref.tell("inc", 2);
   * await root.restart("c");
   * assert.equal(await ref.ask("get"), 0);
   * assert.equal(ref.stats().restarts, 1);
   * ```
   *
   * @param id The child's id (an actor or a nested supervisor).
   * @returns Once it runs again.
   * @throws {TypeError} When no child has that id.
   * @throws {ActorStoppedError} When its supervisor is stopping or stopped.
   */
  async restart(id: string): Promise<void> {
    if (!await this.#runtime.restart(id)) {
      throw new TypeError(`Supervisor "${this.id}" has no child "${id}"`);
    }
  }

  /**
   * Stops every child in reverse start order, each through its sentinel
   * within its `shutdown` timeout. Refs to them then refuse messages
   * (`ActorStoppedError`).
   *
   * @example Stop, or give up waiting and kill what is still stopping
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const url = new URL("../../examples/actors/counter.ts", import.meta.url);
   * const root = await system.supervise({ id: "root", children: [{ id: "c", module: url }] });
   * await root.stop({ signal: AbortSignal.timeout(2000) });
   * assert.equal(root.ref("c").stats().state, "stopped");
   * ```
   *
   * @param options A signal: on abort every child still running or stopping
   * is terminated at once (exit reason `"killed"`), and none is restarted.
   * @returns Once every child has ended.
   */
  async stop(options: { signal?: AbortSignal } = {}): Promise<void> {
    const stopping = this.#runtime.stop();
    const cancel = watchDeadline(options.signal, undefined, (reason) => this.#runtime.kill(reason));
    try {
      await stopping;
    } finally {
      cancel();
    }
  }

  /** Stops the supervisor (see {@linkcode Supervisor.stop}). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
