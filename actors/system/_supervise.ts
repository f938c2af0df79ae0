// Starting a system's supervision trees, a pool's among them: the children
// start in order, and a signal can abandon the start (those started so far
// are stopped, the one starting is terminated, and nothing is left running
// when the start rejects with the signal's reason). A running tree is kept in
// the system's list until it ends.

import type { DeadLetter } from "../core/actor_ref.ts";
import type { ActorCell } from "../core/cell.ts";
import type { LifecycleEvent } from "../core/events.ts";
import type { SpawnOptions } from "../hosts/spawn_options.ts";
import type { AnyActorDefinition } from "../core/define_actor.ts";
import { Pool, type PoolOptions, splitPoolOptions } from "../supervision/pool.ts";
import { actorName, checkPoolSize, DEFAULT_CAPACITY } from "./_spawn_options.ts";
import {
  type ChildSpec,
  SupervisorRuntime,
  type SupervisorSpec,
} from "../supervision/supervisor.ts";

/** What a supervision tree needs from its system. */
export interface SupervisionKit {
  /** The system's running supervisors, oldest first; a started one is added, an ended one removed. */
  readonly supervisors: SupervisorRuntime[];
  /** Whether the system is shutting down (no supervisor may start then). */
  closed(): boolean;
  /** Spawns a child actor; the cell goes into `starting` as soon as it exists, when given. */
  spawn(
    module: string | URL,
    options: SpawnOptions,
    supervisor: string,
    starting?: Set<ActorCell>,
  ): Promise<ActorCell>;
  /** Publishes a lifecycle event. */
  emit(event: LifecycleEvent): void;
  /** Reports a tell a supervised ref could not deliver. */
  deadLetter(letter: DeadLetter): void;
}

/**
 * Starts a supervision tree and resolves once every child has started.
 *
 * @param kit The system's side.
 * @param spec The tree.
 * @param signal Abandons the start: it holds over every child's first start, not the restarts after.
 * @returns The running tree.
 * @throws {TypeError} When the spec is malformed, or the system shuts down.
 * @throws {SpawnError} When a child fails to start (those started are stopped).
 * The promise also rejects with `signal.reason` when the signal aborts first.
 */
export async function startSupervisor(
  kit: SupervisionKit,
  spec: SupervisorSpec,
  signal: AbortSignal | undefined,
): Promise<SupervisorRuntime> {
  signal?.throwIfAborted();
  if (kit.closed()) {
    throw new TypeError("Cannot start supervisor: the actor system is shutting down");
  }
  let starting: { signal: AbortSignal; cells: Set<ActorCell> } | undefined = signal &&
    { signal, cells: new Set() };
  const runtime = new SupervisorRuntime(spec, {
    spawn: (child: ChildSpec, supervisor: string) => {
      if (starting?.signal.aborted) return Promise.reject(starting.signal.reason);
      const options = { ...child, id: child.id, signal: starting?.signal };
      return kit.spawn(child.module, options, supervisor, starting?.cells);
    },
    emit: (event) => kit.emit(event),
    deadLetter: (letter) => kit.deadLetter(letter),
  });
  kit.supervisors.push(runtime);
  const drop = () => {
    const index = kit.supervisors.indexOf(runtime);
    if (index >= 0) kit.supervisors.splice(index, 1);
  };
  try {
    await runtime.start();
  } catch (error) {
    drop();
    if (!starting?.signal.aborted) throw error;
    // The child that was starting is being terminated: wait until it is gone.
    await Promise.all([...starting.cells].map((cell) => cell.exited));
    throw starting.signal.reason;
  } finally {
    starting = undefined;
  }
  void runtime.done.then(drop, drop);
  return runtime;
}

/**
 * Starts a pool: its options checked, its workers' supervision tree started,
 * then the pool over them.
 *
 * @param kit The system's side.
 * @param module The workers' module (relative to this folder, as the system's).
 * @param options The pool's options.
 * @param nextNumber Numbers a pool whose options name no id.
 * @returns The pool, once every worker has started.
 * @throws {RangeError} When the size is not a positive integer.
 * @throws {SpawnError} When a worker fails to start.
 */
export async function startPool<D extends AnyActorDefinition>(
  kit: SupervisionKit,
  module: string | URL,
  options: PoolOptions,
  nextNumber: () => number,
): Promise<Pool<D>> {
  options.signal?.throwIfAborted();
  const { settings, child } = splitPoolOptions(options);
  const size = settings.min ?? checkPoolSize(options.size);
  const url = new URL(module, import.meta.url).href;
  const id = options.id ?? `${actorName(url)}-pool-${nextNumber()}`;
  const spec = poolSpec(id, url, size, child);
  const runtime = await startSupervisor(kit, spec, options.signal);
  const refs = spec.children.map((c) => runtime.find(c.id)!.ref);
  return new Pool<D>(
    id,
    {
      runtime,
      refs,
      capacity: options.capacity ?? DEFAULT_CAPACITY,
      worker: spec.children[0],
      deadLetter: (letter: DeadLetter) => kit.deadLetter(letter),
    } as never,
    settings,
  );
}

/**
 * The supervision tree of a pool: `size` permanent workers `<id>-1` to
 * `<id>-<size>`, restarted one for one without backoff.
 *
 * @param id The pool's id.
 * @param url The workers' module.
 * @param size How many workers.
 * @param child The spawn options every worker gets.
 * @returns The tree.
 */
function poolSpec(
  id: string,
  url: string,
  size: number,
  child: Omit<PoolOptions, "id" | "size" | "strategy" | "retry" | "signal">,
): SupervisorSpec {
  return {
    id,
    strategy: "one-for-one",
    maxRestarts: Math.max(3, size * 2),
    periodMs: 5000,
    backoff: false,
    children: Array.from({ length: size }, (_, i) => ({
      ...child,
      id: `${id}-${i + 1}`,
      module: url,
      restart: "permanent" as const,
    })),
  };
}
