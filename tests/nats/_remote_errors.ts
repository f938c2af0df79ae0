// Shared by the NATS tests: what a remote caller sees when a handler throws
// and when it names no handler, whichever thread serves the name.
import assert from "node:assert/strict";
import { ActorError, UnknownMessageError } from "../../mod.ts";

/** Something with a `fail(message)` handler that throws `TypeError(message)`. */
interface Failing {
  ask(name: "fail", message: string): Promise<unknown>;
}

/**
 * Asks `fail` and an unknown name of `remote`: the first must reject with
 * an `ActorError` carrying the remote `TypeError` (its stack in `module`),
 * the second with an `UnknownMessageError` that lists `known`.
 */
export async function assertRemoteErrors(
  remote: object,
  module: RegExp,
  known: string,
): Promise<void> {
  const failing = remote as Failing;
  const error = await failing.ask("fail", "no such order").then(
    () => assert.fail("the ask should reject"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ActorError);
  assert.equal(error.messageName, "fail");
  assert.equal(error.remote.name, "TypeError");
  assert.equal(error.remote.message, "no such order");
  assert.match(error.remote.stack ?? "", module);
  assert.equal((error.cause as Error).name, "TypeError");
  const untyped = remote as { ask(name: string): Promise<unknown> };
  const unknown = await untyped.ask("nope").then(
    () => assert.fail("the ask should reject"),
    (e: unknown) => e,
  );
  assert.ok(unknown instanceof UnknownMessageError);
  assert.equal(unknown.messageName, "nope");
  assert.ok(unknown.known.includes(known));
}
