// Errors keep their shape (issue 21): what a handler, an init or a crash
// throws comes back with its class, `code` and other own primitive
// properties, `cause` chain and `AggregateError.errors`, on every host and
// transport; hostile shapes are bounded and never crash the serving actor.
import assert from "node:assert/strict";
import {
  ActorCrashedError,
  ActorError,
  ActorExitedError,
  type ActorRef,
  ActorSystem,
  type HostKind,
  MailboxFullError,
  SpawnError,
} from "../mod.ts";
import {
  ERROR_LIMITS,
  type RemoteErrorInfo,
  serializeError,
  toRemoteErrorInfo,
} from "../internal/error_wire.ts";
import { reviveError, reviveThrown } from "../internal/errors.ts";
import { type errorShapes, shape } from "./fixtures/error_shapes_actor.ts";
import { within } from "./_helpers.ts";

const ACTOR = new URL("./fixtures/error_shapes_actor.ts", import.meta.url);
type Ref = ActorRef<typeof errorShapes>;

const TARGETS: { transport: string; host: HostKind }[] = [
  { transport: "queue", host: "worker" },
  { transport: "pipe", host: "worker" },
  { transport: "pipe", host: "process" },
  { transport: "ring", host: "worker" },
  { transport: "socket", host: "worker" },
  { transport: "socket", host: "process" },
];

/** How deep a cause chain goes, the error itself counted. */
function chainLength(error: unknown): number {
  let n = 0;
  for (let e = error; e instanceof Error; e = e.cause) n++;
  return n;
}

/** How many errors an info holds, itself, its causes and its `errors` counted. */
function nodes(info: RemoteErrorInfo | undefined): number {
  if (info === undefined) return 0;
  return 1 + nodes(info.cause) + (info.errors ?? []).reduce((n, e) => n + nodes(e), 0);
}

/**
 * What each shape must look like as the caller's `ActorError.cause`; `error`
 * is the `ActorError` itself. `remote` marks shapes whose stack must name the
 * fixture.
 */
const CHECKS: Record<string, (cause: unknown, error: ActorError) => void> = {
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

async function failure(ref: Ref, kind: string, handler = "throwShape"): Promise<ActorError> {
  const asked = (ref as unknown as { ask(name: string, kind: string): Promise<unknown> })
    .ask(handler, kind);
  const error = await within(
    asked.then(() => assert.fail(`${kind}: the ask should reject`), (e: unknown) => e),
    20_000,
    `the ${kind} failure`,
  );
  assert.ok(error instanceof ActorError, `${kind}: ${error}`);
  return error;
}

Deno.test("serializeError gives plain JSON data, the same after a JSON round trip, for every shape", () => {
  for (const kind of Object.keys(CHECKS)) {
    const info = serializeError(shape(kind));
    const text = JSON.stringify(info);
    assert.ok(text.length < 1024 * 1024, `${kind}: ${text.length} characters`);
    assert.deepEqual(JSON.parse(text), info, kind);
    assert.deepEqual(toRemoteErrorInfo(info), info, `${kind}: checking keeps it as it is`);
  }
});

Deno.test("a revived error has the shape each check wants, without a channel in between", () => {
  for (const [kind, check] of Object.entries(CHECKS)) {
    const info = serializeError(shape(kind));
    check(reviveThrown(info), new ActorError("local", "throwShape", info));
  }
});

Deno.test("reviving hostile data keeps only what has the right shape, bounded", () => {
  const hostile: unknown[] = [
    null,
    42,
    "text",
    [],
    { name: 7, message: { toString: "x" } },
    { name: "Error", message: "m", props: { __proto__: { polluted: true }, ok: 1, bad: { x: 1 } } },
    { name: "Error", message: "m", errors: Array.from({ length: 10_000 }, () => ({})) },
    { name: "x".repeat(1_000_000), message: "y".repeat(1_000_000), stack: "z".repeat(1_000_000) },
    { name: "DOMException", type: "DOMException", message: "m" },
    { name: "Error", message: "m", thrown: true, value: { a: { b: { c: { d: { e: 1 } } } } } },
  ];
  let deep: Record<string, unknown> = { name: "Error", message: "bottom" };
  for (let i = 0; i < 10_000; i++) deep = { name: "Error", message: `${i}`, cause: deep };
  hostile.push(deep);
  for (const value of hostile) {
    const info = toRemoteErrorInfo(value);
    assert.ok(JSON.stringify(info).length < 256 * 1024);
    assert.ok(nodes(info) <= ERROR_LIMITS.nodes);
    const revived = reviveError(info);
    assert.ok(revived instanceof Error);
    assert.ok(chainLength(revived) <= ERROR_LIMITS.depth + 1);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  const props = toRemoteErrorInfo(hostile[5]).props;
  assert.deepEqual(props, { ok: 1 });
});

for (const target of TARGETS) {
  const where = `${target.transport} on ${target.host}`;

  Deno.test(`errors keep their shape over ${where}: each handler error, then the actor serves on`, async (t) => {
    await using system = await ActorSystem.start();
    const ref = await system.spawn<typeof errorShapes>(ACTOR, target);
    let served = 0;
    for (const [kind, check] of Object.entries(CHECKS)) {
      await t.step(kind, async () => {
        const error = await failure(ref, kind);
        served++;
        assert.equal(error.messageName, "throwShape");
        check(error.cause, error);
      });
    }
    await t.step("a rejected promise keeps the shape too", async () => {
      const error = await failure(ref, "aggregate", "rejectShape");
      served++;
      CHECKS.aggregate!(error.cause, error);
    });
    assert.equal(await ref.ask("served"), served);
  });

  Deno.test(`an init's and a crash's errors keep their shape over ${where}`, async () => {
    await using system = await ActorSystem.start();
    const spawned = await system.spawn<typeof errorShapes>(ACTOR, {
      ...target,
      args: { failInit: "user" },
    }).then(() => assert.fail("spawn should reject"), (e: unknown) => e);
    assert.ok(spawned instanceof SpawnError, String(spawned));
    CHECKS.user!(spawned.cause, new ActorError("a", "init", serializeError(shape("user"))));

    const ref = await system.spawn<typeof errorShapes>(ACTOR, target);
    const crashed = await within(
      ref.ask("crashWith", "aggregate").catch((e: unknown) => e),
      20_000,
      "the crash",
    );
    assert.ok(crashed instanceof ActorCrashedError, String(crashed));
    CHECKS.aggregate!(crashed.cause, new ActorError("a", "crash", { name: "Error", message: "" }));
    const exit = await ref.exited;
    assert.equal(exit.reason, "error");
  });
}
