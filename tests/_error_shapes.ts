// What each error shape (tests/fixtures/error_shapes_actor.ts) must look like
// once it crossed a channel: the checks tests/error_shape_test.ts runs on every
// host and transport and tests/nats/error_shape_test.ts runs over NATS.
import assert from "node:assert/strict";
import { ActorError, ActorExitedError, MailboxFullError } from "../mod.ts";
import { ERROR_LIMITS, type RemoteErrorInfo } from "../internal/error_wire.ts";

/** How deep a cause chain goes, the error itself counted. */
export function chainLength(error: unknown): number {
  let n = 0;
  for (let e = error; e instanceof Error; e = e.cause) n++;
  return n;
}

/** How many errors an info holds, itself, its causes and its `errors` counted. */
export function nodes(info: RemoteErrorInfo | undefined): number {
  if (info === undefined) return 0;
  return 1 + nodes(info.cause) + (info.errors ?? []).reduce((n, e) => n + nodes(e), 0);
}

/**
 * What each shape must look like as the caller's `ActorError.cause`; `error`
 * is the `ActorError` itself.
 */
export const CHECKS: Record<string, (cause: unknown, error: ActorError) => void> = {
  type(cause, error) {
    assert.ok(cause instanceof TypeError);
    assert.equal(cause.name, "TypeError");
    assert.equal(cause.message, "bad type");
    assert.match(cause.stack ?? "", /error_shapes_actor\.ts/);
    assert.equal(error.remote.name, "TypeError");
    assert.match(error.message, /TypeError: bad type/);
  },
  range(cause) {
    assert.ok(cause instanceof RangeError);
    assert.equal(cause.message, "out of range");
  },
  syntax(cause) {
    assert.ok(cause instanceof SyntaxError);
    assert.match(cause.message, /JSON/);
  },
  aggregate(cause) {
    assert.ok(cause instanceof AggregateError);
    assert.equal(cause.message, "several things failed");
    assert.equal(cause.errors.length, 3);
    assert.ok(cause.errors[0] instanceof TypeError);
    assert.equal(cause.errors[0].message, "first");
    assert.ok(cause.errors[1] instanceof RangeError);
    assert.equal((cause.errors[1].cause as Error).message, "second's cause");
    assert.equal(cause.errors[2], "a plain string");
  },
  dom(cause) {
    assert.ok(cause instanceof DOMException);
    assert.equal(cause.name, "AbortError");
    assert.equal(cause.code, DOMException.ABORT_ERR);
    assert.equal(cause.message, "the user gave up");
  },
  dataClone(cause) {
    assert.ok(cause instanceof DOMException);
    assert.equal(cause.name, "DataCloneError");
  },
  deno(cause) {
    assert.ok(cause instanceof Deno.errors.NotFound);
    assert.equal(cause.name, "NotFound");
    const fields = cause as unknown as Record<string, unknown>;
    assert.equal(fields.code, "ENOENT");
    assert.equal(fields.errno, 2);
    assert.equal(fields.syscall, "open");
  },
  troupe(cause) {
    assert.ok(cause instanceof MailboxFullError);
    assert.equal(cause.actorId, "downstream");
    assert.equal(cause.capacity, 8);
    assert.equal(cause.message, new MailboxFullError("downstream", 8).message);
  },
  troupeArrays(cause) {
    assert.ok(cause instanceof ActorExitedError);
    assert.deepEqual(cause.stderrTail, ["oops", "bye"]);
    assert.equal(cause.code, 1);
    assert.equal(cause.signal, null);
  },
  user(cause, error) {
    assert.ok(cause instanceof Error);
    assert.equal(cause.name, "HttpError");
    assert.equal(cause.message, "not found");
    const fields = cause as unknown as Record<string, unknown>;
    assert.equal(fields.code, "E_HTTP");
    assert.equal(fields.status, 404);
    assert.equal(fields.errno, -2);
    assert.equal(fields.syscall, "open");
    assert.equal(fields.path, "/srv/missing");
    assert.equal(fields.retryable, false);
    assert.deepEqual(fields.tags, ["a", "b"]);
    assert.equal(fields.nothing, null);
    for (const gone of ["callback", "headers", "symbol", "missing"]) assert.ok(!(gone in cause));
    assert.ok(cause.cause instanceof TypeError);
    assert.equal(cause.cause.message, "the lookup failed");
    assert.match(error.message, /HttpError: not found/);
    assert.equal(error.remote.props?.code, "E_HTTP");
  },
  quiet(cause, error) {
    assert.ok(cause instanceof TypeError);
    assert.equal(cause.name, "QuietError");
    assert.equal(error.remote.className, "QuietError");
    assert.match(error.message, /QuietError: quietly wrong/);
  },
  chain(cause) {
    assert.equal(chainLength(cause), ERROR_LIMITS.depth + 1);
    assert.equal((cause as Error).message, "cause 0");
  },
  cycle(cause) {
    const a = cause as Error;
    assert.equal(a.message, "a");
    assert.equal((a.cause as Error).message, "b");
    assert.equal((a.cause as Error).cause, undefined);
  },
  nonErrorCause(cause) {
    assert.ok(cause instanceof Error);
    assert.deepEqual(cause.cause, { status: 503, reason: "busy" });
  },
  string(cause, error) {
    assert.equal(cause, "just a string");
    assert.match(error.message, /just a string/);
  },
  object(cause, error) {
    assert.deepEqual(cause, {
      code: 42,
      message: "a plain object",
      nested: { ok: true, list: [1, "two"] },
    });
    assert.match(error.message, /a plain object/);
  },
  undefined(cause, error) {
    assert.equal(cause, undefined);
    assert.match(error.message, /undefined/);
  },
  // Hostile shapes: bounded, and the actor serves on (checked after all of them).
  hugeMessage(cause) {
    assert.ok(cause instanceof Error);
    assert.ok(cause.message.length <= ERROR_LIMITS.message, `${cause.message.length}`);
    assert.match(cause.message, /^x+ \[\.\.\. \d+ more characters\]$/);
  },
  hugeErrors(cause, error) {
    assert.ok(cause instanceof AggregateError);
    assert.equal(cause.errors.length, ERROR_LIMITS.errors);
    assert.equal(cause.errors[0].message, "e0");
    assert.equal(error.remote.errorsOmitted, 10_000 - ERROR_LIMITS.errors);
  },
  deepChain(cause) {
    assert.equal(chainLength(cause), ERROR_LIMITS.depth + 1);
  },
  nestedAggregates(cause, error) {
    assert.ok(cause instanceof AggregateError);
    assert.ok(nodes(error.remote) <= ERROR_LIMITS.nodes, `${nodes(error.remote)} errors`);
    assert.ok(JSON.stringify(error.remote).length < 1024 * 1024);
  },
  getters(cause) {
    assert.ok(cause instanceof Error);
  },
  revokedProxy(_cause, error) {
    assert.ok(error instanceof ActorError);
  },
  hostileObject(cause) {
    assert.deepEqual(cause, {});
  },
};
