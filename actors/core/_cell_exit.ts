// What the end of an actor sets off on the parent's side, worked out as
// data for the cell to act on: the error its callers get (stopped, or crashed
// with the cause), and the dead letters of the tells it was handling as it
// died and of those it never reached.

import type { ActorExit, DeadLetter } from "./actor_ref.ts";
import { ActorCrashedError, ActorStoppedError, type CrashReason } from "../../internal/errors.ts";
import { type Handling, TELL, TRACED } from "./protocol.ts";

/** The error an ended actor's waiting and later calls reject with. */
export function exitError(id: string, exit: ActorExit): ActorStoppedError | ActorCrashedError {
  return exit.reason === "normal" || exit.reason === "timeout"
    ? new ActorStoppedError(id)
    : new ActorCrashedError(
      id,
      exit.reason === "killed" ? "killed" : exit.reason as CrashReason,
      exit.error ? { cause: exit.error } : undefined,
    );
}

/** How many of `messages` are tells (traced ones too). */
export function countTells(messages: unknown[][]): number {
  return messages.filter((m) =>
    m[0] === TELL || (m[0] === TRACED && (m[2] as unknown[])[0] === TELL)
  )
    .length;
}

/**
 * The dead letters of an ended actor, in order: each tell it was handling as
 * it died (an ask's caller learns of it from its rejection), then the `lost`
 * tells it never handled. Names what it was handling in `exit.handling`.
 * A normal exit loses nothing.
 */
export function exitLetters(
  id: string,
  exit: ActorExit,
  handling: Handling | undefined,
  lost: number,
): DeadLetter[] {
  const letters: DeadLetter[] = [];
  if (exit.reason === "normal") return letters;
  if (handling !== undefined && handling.length > 0) {
    exit.handling = handling.map(([name]) => name);
    // A tell has nobody to tell that it died with its actor: it is a dead letter.
    for (const [name, ask] of handling) {
      if (ask) continue;
      letters.push({
        actorId: id,
        messageName: name,
        reason: `actor ended (${exit.reason}) while handling it`,
        count: 1,
      });
    }
  }
  if (lost > 0) {
    letters.push({
      actorId: id,
      messageName: undefined,
      reason: `actor ended (${exit.reason}) before handling them`,
      count: lost,
    });
  }
  return letters;
}
