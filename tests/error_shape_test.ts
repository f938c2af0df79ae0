// Errors keep their shape (issue 21): what a handler, an init or a crash
// throws comes back with its class, `code` and other own primitive
// properties, `cause` chain and `AggregateError.errors`, on every host and
// transport; hostile shapes are bounded and never crash the serving actor.
import assert from "node:assert/strict";
import {
  ActorCrashedError,
  ActorError,
  type ActorRef,
  ActorSystem,
  type HostKind,
  SpawnError,
} from "../mod.ts";
import { ERROR_LIMITS, serializeError, toRemoteErrorInfo } from "../internal/error_wire.ts";
import { reviveError, reviveThrown } from "../internal/errors.ts";
import { type errorShapes, shape } from "./fixtures/error_shapes_actor.ts";
import { within } from "./_helpers.ts";
import { chainLength, CHECKS, nodes } from "./_error_shapes.ts";

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
