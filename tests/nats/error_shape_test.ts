// Errors keep their shape over NATS too (issue 21): a handler's error reaches a
// looked-up ref through a real nats-server and the JSON wire with its class,
// `code`, cause chain and `errors`; a plain NATS client reads the same fields
// in the reply's JSON; and hostile error replies (huge, deep, prototype keys)
// are bounded on the asking side.
import assert from "node:assert/strict";
import { connect, headers, type Msg } from "@nats-io/transport-node";
import { ActorError, ActorSystem } from "../../mod.ts";
import { NatsNode } from "../../actors/cluster/mod.ts";
import { ERROR_LIMITS } from "../../internal/error_wire.ts";
import type { errorShapes } from "../fixtures/error_shapes_actor.ts";
import { chainLength, CHECKS, nodes } from "../_error_shapes.ts";
import { within } from "../_helpers.ts";
import { startNatsServer } from "./_server.ts";

const ACTOR = new URL("../fixtures/error_shapes_actor.ts", import.meta.url);

type Asker = { ask(name: string, payload?: unknown, options?: object): Promise<unknown> };

async function rejection(asking: Promise<unknown>, what: string): Promise<unknown> {
  return await within(
    asking.then(() => assert.fail(`${what}: the ask should reject`), (e: unknown) => e),
    20_000,
    what,
  );
}

Deno.test("over NATS, each handler error keeps its shape, and the actor serves on", async (t) => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof errorShapes>(ACTOR);
  await using serving = await NatsNode.connect({ servers: server.url, namespace: "e1" });
  await serving.expose("shapes", ref);
  await using asking = await NatsNode.connect({ servers: server.url, namespace: "e1" });
  const remote = asking.lookup<{ errorShapes: typeof errorShapes }>("shapes") as unknown as Asker;
  let served = 0;
  for (const [kind, check] of Object.entries(CHECKS)) {
    await t.step(kind, async () => {
      const error = await rejection(remote.ask("throwShape", kind, { timeout: 15_000 }), kind);
      served++;
      assert.ok(error instanceof ActorError, `${kind}: ${error}`);
      assert.equal(error.messageName, "throwShape");
      check(error.cause, error);
    });
  }
  assert.equal(await remote.ask("served"), served);
});

Deno.test("a plain NATS client reads the error's class, code, causes and errors in the reply's JSON", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof errorShapes>(ACTOR);
  await using serving = await NatsNode.connect({ servers: server.url, namespace: "e2" });
  await serving.expose("shapes", ref);
  const nc = await connect({ servers: server.url });
  try {
    const ask = async (kind: string) => {
      const h = headers();
      h.set("Troupe-Message", "throwShape");
      const msg: Msg = await nc.request("troupe.e2.shapes", JSON.stringify(kind), {
        timeout: 5000,
        headers: h,
      });
      assert.equal(msg.headers?.get("Troupe-Status"), "error");
      return (JSON.parse(new TextDecoder().decode(msg.data)) as { error: Record<string, unknown> })
        .error;
    };
    const user = await ask("user");
    assert.equal(user.type, "ActorError");
    assert.deepEqual(
      {
        ...(user.remote as Record<string, unknown>),
        stack: undefined,
        cause: { ...(user.remote as { cause: object }).cause, stack: undefined },
      },
      {
        name: "HttpError",
        message: "not found",
        type: "Error",
        props: {
          code: "E_HTTP",
          status: 404,
          errno: -2,
          syscall: "open",
          path: "/srv/missing",
          retryable: false,
          tags: ["a", "b"],
          nothing: null,
        },
        stack: undefined,
        cause: { name: "TypeError", message: "the lookup failed", stack: undefined },
      },
    );
    const aggregate = (await ask("aggregate")).remote as Record<string, unknown>;
    assert.equal(aggregate.name, "AggregateError");
    const errors = aggregate.errors as Record<string, unknown>[];
    assert.deepEqual(errors.map((e) => [e.name, e.message]), [
      ["TypeError", "first"],
      ["RangeError", "second"],
      ["Error", "a plain string"],
    ]);
    assert.equal(errors[2]!.thrown, true);
    assert.equal(errors[2]!.value, "a plain string");
    const dom = (await ask("dom")).remote as Record<string, unknown>;
    assert.deepEqual([dom.name, dom.type], ["AbortError", "DOMException"]);
  } finally {
    await nc.close();
  }
});

Deno.test("hostile error replies are bounded on the asking side and still reject with ActorError", async () => {
  await using server = await startNatsServer();
  const nc = await connect({ servers: server.url });
  let deep: Record<string, unknown> = { name: "Error", message: "bottom" };
  for (let i = 0; i < 5000; i++) deep = { name: "Error", message: `${i}`, cause: deep };
  const bodies: Record<string, unknown> = {
    deep: { type: "ActorError", message: "m", remote: deep },
    huge: {
      type: "ActorError",
      message: "m",
      remote: {
        name: "E".repeat(100_000),
        message: "m".repeat(200_000),
        stack: "s".repeat(200_000),
        errors: Array.from({ length: 5000 }, (_, i) => ({ name: "Error", message: `${i}` })),
        props: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`p${i}`, i])),
      },
    },
    prototypeKeys: {
      type: "ActorError",
      message: "m",
      remote: JSON.parse(
        '{"name":"Error","message":"m","props":{"__proto__":{"polluted":1},"code":"E1"},"__proto__":{"polluted":2}}',
      ),
    },
    notAnObject: { type: "ActorError", message: "m", remote: 17 },
    unknownType: { type: "Whatever", message: "plain" },
  };
  const responder = nc.subscribe("troupe.e3.fake", {
    callback: (_error, msg) => {
      const h = headers();
      h.set("Troupe-Status", "error");
      const kind = JSON.parse(new TextDecoder().decode(msg.data)) as string;
      msg.respond(JSON.stringify({ error: bodies[kind] }), { headers: h });
    },
  });
  try {
    await using node = await NatsNode.connect({ servers: server.url, namespace: "e3" });
    const fake = node.lookup<{ x: never }>("fake") as unknown as Asker;
    for (const kind of Object.keys(bodies)) {
      const error = await rejection(fake.ask("any", kind, { timeout: 10_000 }), kind);
      assert.ok(error instanceof ActorError, `${kind}: ${error}`);
      assert.ok(JSON.stringify(error.remote).length < 256 * 1024, kind);
      assert.ok(nodes(error.remote) <= ERROR_LIMITS.nodes, kind);
      assert.ok(chainLength(error.cause) <= ERROR_LIMITS.depth + 1, kind);
      assert.ok(error.message.length < 16 * 1024, kind);
    }
    const polluted = await rejection(fake.ask("any", "prototypeKeys"), "prototypeKeys");
    assert.equal(((polluted as ActorError).cause as Record<string, unknown>).code, "E1");
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  } finally {
    responder.unsubscribe();
    await nc.close();
  }
});
