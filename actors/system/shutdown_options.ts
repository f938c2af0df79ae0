/**
 * The options and the result of an actor system's shutdown, shared by the
 * system and the module that carries the shutdown out.
 *
 * @module
 */

import type { ActorExit } from "../core/actor_ref.ts";

/** Options of {@linkcode ActorSystem.shutdownOnSignals}. */
export interface SignalShutdownOptions {
  /** Milliseconds the whole shutdown may take after the first signal. Default 5000. */
  timeout?: number;
  /** The signals to handle. Default SIGINT and SIGTERM. */
  signals?: Deno.Signal[];
  /** Exit the process when the shutdown is over. Default true. */
  exit?: boolean;
  /** Called on each signal received, with how many have come so far. */
  onSignal?: (signal: Deno.Signal, count: number) => void;
}

/** Options of {@linkcode ActorSystem.shutdown}. */
export interface ShutdownOptions {
  /**
   * Milliseconds the whole shutdown may take: one deadline for every actor
   * to drain and run its stop hook. Supervisors stop their children one after
   * another, each out of what is left of it (and within its own `shutdown`);
   * actors still stopping when it passes are terminated. Default 5000.
   */
  timeout?: number;
  /**
   * Ends the wait early: on abort every actor still stopping is killed at
   * once, as a second signal does (`shutdownOnSignals`); the result lists
   * them under `failed` (their exit reason is `"killed"`).
   */
  signal?: AbortSignal;
}

/** What a shutdown did to each actor. */
export interface ShutdownResult {
  /** `true` when every actor stopped through its sentinel in time. */
  clean: boolean;
  /** Actors that drained, ran their stop hook and ended. */
  stopped: string[];
  /** Actors that missed the deadline and were terminated. */
  terminated: string[];
  /** Of those, worker actors whose thread may still be running a synchronous loop. */
  leaked: string[];
  /** Actors that had crashed or were killed on the way. */
  failed: string[];
  /** Every actor's exit. */
  exits: ActorExit[];
}
