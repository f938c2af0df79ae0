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
 * marks it ({@linkcode markRuntimeRejection}) as it reports the crash. The
 * crash is handled as any other. A parent run with
 * `TROUPE_STRICT_UNHANDLED=1` (the project's test task sets it) also reports
 * a marked crash as an uncaught error ({@linkcode reportRuntimeRejection}),
 * which fails the test that caused it. An actor whose own code lets one of
 * Troupe's errors go unhandled (a floating `ask`) is marked too: in a test
 * suite, that is worth failing for as well.
 *
 * @module
 */

import * as errors from "./errors.ts";

/** The own property that marks a crash's error (it travels with the error's other props). */
export const RUNTIME_REJECTION = "troupeRuntimeRejection";
/** The environment variable of the strict mode. */
export const STRICT_UNHANDLED = "TROUPE_STRICT_UNHANDLED";

type ErrorClass = abstract new (...args: never[]) => Error;

const OWN_ERRORS: readonly ErrorClass[] = (Object.values(errors) as unknown[]).filter(
  (value): value is ErrorClass =>
    typeof value === "function" && (value as ErrorClass).prototype instanceof Error,
);

/**
 * Marks `reason`, an unhandled rejection's, when it is one of Troupe's own
 * errors; returns it either way.
 */
export function markRuntimeRejection(reason: unknown): unknown {
  if (reason instanceof Error && OWN_ERRORS.some((own) => reason instanceof own)) {
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
