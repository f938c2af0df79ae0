// A supervision tree declared as data: the spec types, and the one check
// of a spec before anything starts.

import type { ActorCell } from "../core/cell.ts";
import type { DeadLetter } from "../core/actor_ref.ts";
import type { LifecycleEvent } from "../core/events.ts";
import type { SpawnOptions } from "../hosts/spawn_options.ts";

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
  /**
   * What messages sent while it restarts do, in every phase of a restart: wait
   * for the next incarnation (at most `capacity` of them; an ask within its
   * timeout or signal), or fail with `ActorRestartingError`. Default `"wait"`.
   */
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
  /** Reports a tell a supervised ref could not deliver. */
  deadLetter(letter: DeadLetter): void;
}

export function isSupervisorSpec(spec: ChildSpec | SupervisorSpec): spec is SupervisorSpec {
  return Array.isArray((spec as SupervisorSpec).children);
}

export function checkSpec(spec: SupervisorSpec, ids: Set<string>): void {
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
