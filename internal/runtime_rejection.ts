/**
 * Unhandled rejections inside an actor that look like the runtime's own, and
 * the strict mode that makes them loud (issue 16: "no promise inside the
 * runtime ever rejects unhandled").
 *
 * Inside an actor, an unhandled rejection is the actor's crash, by design: a
 * fixture's deliberate one and a runtime bug look alike from the parent. One
 * whose reason is one of Troupe's own errors (what the runtime's promises
 * reject with: `ConnectionClosedError`, `ProtocolError`...) most likely comes
 * from a promise of the runtime that nothing awaited, so the actor's side
 * marks it ({@linkcode markRuntimeRejection}, by the error's name) as it
 * reports the crash. The crash is handled as any other. A parent run with
 * `TROUPE_STRICT_UNHANDLED=1` (the project's test task sets it) also reports
 * a marked crash as an uncaught error ({@linkcode reportRuntimeRejection}),
 * which fails the test that caused it. An actor whose own code lets one of
 * Troupe's errors go unhandled (a floating `ask`) is marked too: in a test
 * suite, that is worth failing for as well.
 *
 * @module
 */

/** The own property that marks a crash's error (it travels with the error's other props). */
export const RUNTIME_REJECTION = "troupeRuntimeRejection";
/** The environment variable of the strict mode. */
export const STRICT_UNHANDLED = "TROUPE_STRICT_UNHANDLED";

/**
 * The names of Troupe's error classes (each sets its instances' `name` to its
 * own). Names, not the classes: an actor's bootstrap must not load every error
 * class to check one rejection. `tests/strict_unhandled_test.ts` checks the
 * list against the classes `errors.ts` exports.
 */
export const TROUPE_ERROR_NAMES: ReadonlySet<string> = new Set([
  "ActorCrashedError",
  "ActorError",
  "ActorExitedError",
  "ActorOutOfMemoryError",
  "ActorRestartingError",
  "ActorStoppedError",
  "AuthenticationError",
  "BrokerUnavailableError",
  "ConnectionClosedError",
  "ConnectionLostError",
  "FrameTooLargeError",
  "MailboxFullError",
  "MessageNotCloneableError",
  "NoRespondersError",
  "ProtocolError",
  "PublishOutcomeUnknownError",
  "QueueClosedError",
  "SpawnError",
  "SupervisorGaveUpError",
  "UnknownMessageError",
]);

/**
 * Marks `reason`, an unhandled rejection's, when it is one of Troupe's own
 * errors; returns it either way.
 */
export function markRuntimeRejection(reason: unknown): unknown {
  if (reason instanceof Error && TROUPE_ERROR_NAMES.has(reason.name)) {
    try {
      Object.defineProperty(reason, RUNTIME_REJECTION, {
        value: true,
        enumerable: true,
        configurable: true,
      });
    } catch {
      // A frozen error stays unmarked: it is still the actor's crash.
    }
  }
  return reason;
}

/** Whether this process runs strict: the variable is `1` and readable without a prompt. */
function strict(): boolean {
  try {
    const { state } = Deno.permissions.querySync({ name: "env", variable: STRICT_UNHANDLED });
    return state === "granted" && Deno.env.get(STRICT_UNHANDLED) === "1";
  } catch {
    return false;
  }
}

/**
 * In strict mode, reports a crash whose error was marked by
 * {@linkcode markRuntimeRejection} as an uncaught error of this process.
 *
 * @param actorId The actor that crashed.
 * @param error The crash's error, as revived here.
 */
export function reportRuntimeRejection(actorId: string, error: Error): void {
  if ((error as unknown as Record<string, unknown>)[RUNTIME_REJECTION] !== true) return;
  if (!strict()) return;
  reportError(
    new Error(
      `A promise rejected unhandled inside the runtime, in actor "${actorId}" ` +
        `(${STRICT_UNHANDLED}=1): ${error.name}: ${error.message}`,
      { cause: error },
    ),
  );
}
