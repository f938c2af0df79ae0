/**
 * How an actor's host ended under it: a process that exited or was killed,
 * a thread that reached its heap limit. `errors.ts` re-exports them.
 *
 * @module
 */

/** How a process actor's child process ended. */
export interface ProcessExitInfo {
  /** The exit code (128 + signal number when killed by a signal). */
  code: number;
  /** The signal that ended it, such as `"SIGKILL"`, or `null`. */
  signal: string | null;
  /** The last lines the child wrote to stderr (at most 20). */
  stderrTail: string[];
}

/**
 * A process actor's child process exited without being asked to stop: a
 * crash, a heap limit, a kill from outside. Carries the exit code or
 * signal and the last lines of stderr. Pending asks reject with it.
 *
 * @example
 * ```ts
 * import { ActorExitedError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const error = new ActorExitedError("worker-1", { code: 137, signal: "SIGKILL", stderrTail: [] });
 * assert.match(error.message, /SIGKILL/);
 * ```
 */
export class ActorExitedError extends Error {
  /** The actor's id. */
  readonly actorId: string;
  /** The exit code. */
  readonly code: number;
  /** The signal, or `null`. */
  readonly signal: string | null;
  /** The last lines of the child's stderr. */
  readonly stderrTail: readonly string[];

  /**
   * Creates the error.
   *
   * @param actorId The actor's id.
   * @param exit How the child ended.
   * @param options Standard error options.
   */
  constructor(actorId: string, exit: ProcessExitInfo, options?: ErrorOptions) {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    const why = outOfMemory(exit.stderrTail) ? " (out of memory: heap limit reached)" : "";
    const tail = exit.stderrTail.length
      ? `; last stderr lines:\n  ${exit.stderrTail.join("\n  ")}`
      : "";
    super(`Process actor "${actorId}" ${how}${why}${tail}`, options);
    this.name = "ActorExitedError";
    this.actorId = actorId;
    this.code = exit.code;
    this.signal = exit.signal;
    this.stderrTail = exit.stderrTail;
  }

  /** Tells whether the child died from reaching its heap limit. */
  get outOfMemory(): boolean {
    return outOfMemory(this.stderrTail);
  }
}

/**
 * A thread actor (`host: "thread"`) reached its heap limit (`maxHeapMiB`,
 * V8's old space) and its thread was ended; the process and every other
 * actor live on. It is the `cause` of the `ActorCrashedError` (reason
 * `"error"`) that pending asks reject with, and the error of the `crashed`
 * event, so a supervisor restarts the actor.
 *
 * @example
 * ```ts
 * import { ActorOutOfMemoryError } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const error = new ActorOutOfMemoryError("hungry-1", 32);
 * assert.equal(error.heapLimitMiB, 32);
 * assert.match(error.message, /heap limit of 32 MiB/);
 * ```
 */
export class ActorOutOfMemoryError extends Error {
  /** The actor's id. */
  readonly actorId: string;
  /** The heap limit it reached, in MiB. */
  readonly heapLimitMiB: number;

  /**
   * Creates the error.
   *
   * @param actorId The actor's id.
   * @param heapLimitMiB The heap limit it reached, in MiB.
   * @param options Standard error options; `cause` is the platform's error.
   */
  constructor(actorId: string, heapLimitMiB: number, options?: ErrorOptions) {
    super(
      `Thread actor "${actorId}" ran out of memory: it reached its heap limit of ${heapLimitMiB} MiB`,
      options,
    );
    this.name = "ActorOutOfMemoryError";
    this.actorId = actorId;
    this.heapLimitMiB = heapLimitMiB;
  }
}

function outOfMemory(lines: readonly string[]): boolean {
  return lines.some((line) => /out of memory|heap limit/i.test(line));
}
