// Where an actor runs. The cell talks to a host only through this interface:
// launch the actor, learn of deaths the channel cannot report, kill it.

import type { CrashReason } from "../../internal/errors.ts";
import type { Transport } from "../../transports/transport.ts";
import type { BootMessage } from "./protocol.ts";

/**
 * Where an actor runs: a Deno Worker (`"worker"`), a `deno run` child
 * process (`"process"`) or a `node:worker_threads` thread with a heap limit
 * (`"thread"`).
 */
export type ActorHostKind = "worker" | "process" | "thread";

/** What a host tells the cell about the actor's fate outside the channel. */
export interface HostEvents {
  /**
   * The actor died in a way only the host can see (worker error, process
   * exit). The cell first lets the channel deliver what the actor sent
   * before, for up to `graceMs` (default 1 s) or until the channel ends.
   */
  died(reason: CrashReason, error: Error, graceMs?: number): void;
}

/** A started actor's host. */
export interface Host {
  /** `"worker"`, `"process"` or `"thread"`. */
  readonly kind: ActorHostKind;
  /** The child's pid, for process actors. */
  readonly pid: number | undefined;
  /**
   * The most a kill takes: for a process, the time between SIGTERM and
   * SIGKILL; 0 for a worker, which is terminated at once.
   */
  readonly killGraceMs: number;
  /**
   * Ends the actor now (terminate / SIGTERM then SIGKILL after `graceMs`,
   * default {@linkcode Host.killGraceMs}); resolves once all is released.
   */
  kill(graceMs?: number): Promise<void>;
  /** Resolves once the host released everything after a normal exit. */
  release(): Promise<void>;
  /**
   * For a worker after its kill: whether its thread still runs, once it has
   * had a moment to end (a thread spinning in synchronous code never does),
   * or `undefined` when the host cannot tell.
   */
  thread?(): Promise<"running" | "ended" | undefined>;
  /**
   * For a worker: the CPU time its thread has used so far (in clock ticks),
   * or `undefined` when the host cannot tell. A thread that is silent but
   * uses CPU is working (decoding a large message); one that uses none is
   * stuck.
   */
  cpu?(): number | undefined;
}

/** Starts an actor: returns its host and the parent's end of its channel. */
export type Launcher = (
  boot: BootMessage,
  events: HostEvents,
) => Promise<{ host: Host; transport: Transport }>;
