// The V8 codec over NATS (issue 18): a ref looked up with `codec: "v8"` and a
// name exposed with it carry what JSON cannot (Map, Set, Date, bigint, byte
// arrays, undefined inside, nested) both ways, named in a `Troupe-Codec`
// header; the serving side answers in the codec each request came in, so
// JSON callers (the `nats` CLI) keep working beside V8 ones; errors keep
// their shape; a V8 request to a JSON-only name, or a codec nobody knows,
// gets a typed error reply and never reaches or stops the actor.
import assert from "node:assert/strict";
import { deserialize, serialize } from "node:v8";
import { connect, headers, type Msg, type NatsConnection } from "@nats-io/transport-node";
import {
  ActorError,
  ActorSystem,
  MessageNotCloneableError,
  ProtocolError,
  UnknownMessageError,
} from "../../mod.ts";
import { type ExposeOptions, NatsNode } from "../../actors/cluster/mod.ts";
import type { probe } from "../fixtures/probe_actor.ts";
import { eventually, within } from "../_helpers.ts";
import { startNatsServer } from "./_server.ts";

const PROBE = new URL("../fixtures/probe_actor.ts", import.meta.url);

type Asker = {
  ask(name: string, payload?: unknown, options?: object): Promise<unknown>;
  tell(name: string, payload?: unknown): Promise<void>;
};

/** A value JSON cannot carry as it is, nested several levels deep. */
function rich() {
  return {
    map: new Map<unknown, unknown>([[1, { when: new Date(0) }], ["k", new Set(["a", 2n])]]),
    big: 2n ** 70n,
    bytes: new Uint8Array([0, 1, 254, 255]),
    when: new Date(Date.UTC(2026, 11, 3)),
    holes: [undefined, null, { deep: [new Map([["x", [1n, new Uint8Array([7])]]])] }],
    nan: NaN,
  };
}

/** Resolves once `condition()` holds, asking again every few milliseconds; rejects after `ms`. */
async function until(condition: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function serving(url: string, namespace: string, options: ExposeOptions) {
  const system = await ActorSystem.start();
  const ref = await system.spawn<typeof probe>(PROBE);
  const node = await NatsNode.connect({ servers: url, namespace });
  const exposure = await node.expose("probe", ref, options);
  return {
    ref,
    node,
    exposure,
    async [Symbol.asyncDispose]() {
      await node.close();
      await system.shutdown();
    },
  };
}

function call(
  nc: NatsConnection,
  subject: string,
  body: Uint8Array,
  header: Record<string, string>,
): Promise<Msg> {
  const h = headers();
  for (const [key, value] of Object.entries(header)) h.set(key, value);
  return nc.request(subject, body, { timeout: 5000, headers: h });
}

Deno.test("a v8 ref and a v8 exposure carry Map, Set, Date, bigint, byte arrays and nested values both ways", async () => {
  await using server = await startNatsServer();
  await using _serving = await serving(server.url, "c1", { codec: "v8" });
  await using asking = await NatsNode.connect({ servers: server.url, namespace: "c1" });
  const remote = asking.lookup<typeof probe>("probe", { codec: "v8" }) as unknown as Asker;
  const value = rich();
  assert.deepEqual(await within(remote.ask("echo", value), 10_000, "echo"), value);
  await remote.tell("inc", 3);
  assert.equal(await remote.ask("get"), 3);
  assert.equal(await remote.ask("echo", undefined), undefined);
});

Deno.test("over v8, a handler's error keeps its shape and an unknown name is UnknownMessageError", async () => {
  await using server = await startNatsServer();
  await using _serving = await serving(server.url, "c2", { codec: "v8" });
  await using asking = await NatsNode.connect({ servers: server.url, namespace: "c2" });
  const remote = asking.lookup<typeof probe>("probe", { codec: "v8" }) as unknown as Asker;
  const error = await remote.ask("failLater", "bad input").then(
    () => assert.fail("the ask should reject"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ActorError, String(error));
  assert.equal(error.messageName, "failLater");
  assert.equal(error.remote.name, "RangeError");
  assert.equal(error.remote.message, "bad input");
  assert.equal(error.remote.cause?.message, "root cause");
  assert.match(error.remote.stack ?? "", /failLater/);
  await assert.rejects(remote.ask("noSuchHandler"), UnknownMessageError);
  // A value V8 cannot serialize is refused at the sender, as for JSON.
  await assert.rejects(remote.ask("echo", { f() {} }), MessageNotCloneableError);
  assert.equal(await remote.ask("get"), 0);
});

Deno.test("a v8 exposure answers JSON requests in JSON and V8 requests in V8, as a plain client sees them", async () => {
  await using server = await startNatsServer();
  await using served = await serving(server.url, "c3", { codec: "v8" });
  // A looked-up JSON ref works unchanged against it.
  await using asking = await NatsNode.connect({ servers: server.url, namespace: "c3" });
  const json = asking.lookup<typeof probe>("probe") as unknown as Asker;
  assert.deepEqual(await json.ask("echo", { a: [1, 2] }), { a: [1, 2] });
  await assert.rejects(json.ask("echo", new Map()), MessageNotCloneableError);
  const nc = await connect({ servers: server.url });
  try {
    const subject = "troupe.c3.probe";
    const plain = await call(nc, subject, new TextEncoder().encode('{"b":1}'), {
      "Troupe-Message": "echo",
    });
    assert.equal(plain.headers?.get("Troupe-Status"), "ok");
    assert.equal(plain.headers?.has("Troupe-Codec"), false);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(plain.data)), { b: 1 });
    const value = rich();
    const v8 = await call(nc, subject, serialize(value), {
      "Troupe-Message": "echo",
      "Troupe-Codec": "v8",
    });
    assert.equal(v8.headers?.get("Troupe-Status"), "ok");
    assert.equal(v8.headers?.get("Troupe-Codec"), "v8");
    assert.deepEqual(deserialize(v8.data), value);
    const failed = await call(nc, subject, serialize("boom"), {
      "Troupe-Message": "fail",
      "Troupe-Codec": "v8",
    });
    assert.equal(failed.headers?.get("Troupe-Status"), "error");
    assert.equal(failed.headers?.get("Troupe-Codec"), "v8");
    const { error } = deserialize(failed.data) as { error: Record<string, unknown> };
    assert.equal(error.type, "ActorError");
    assert.equal((error.remote as { name: string }).name, "TypeError");
    // Bytes that are not V8's format are a bad request, answered in V8 as the request came.
    const garbage = await call(nc, subject, new Uint8Array([1, 2, 3]), {
      "Troupe-Message": "echo",
      "Troupe-Codec": "v8",
    });
    assert.equal(garbage.headers?.get("Troupe-Status"), "error");
    assert.equal(garbage.headers?.get("Troupe-Codec"), "v8");
    const bad = deserialize(garbage.data) as { error: { type: string } };
    assert.equal(bad.error.type, "BadRequest");
  } finally {
    await nc.close();
  }
  assert.equal(served.exposure.stats().badRequests, 1);
  assert.equal(await served.ref.ask("get"), 0);
});

Deno.test("a v8 exposure answers a V8 request that breaks the format in V8, and one whose codec it does not know in JSON", async () => {
  await using server = await startNatsServer();
  await using served = await serving(server.url, "c8", { codec: "v8", maxPayload: 64 });
  const nc = await connect({ servers: server.url });
  try {
    const subject = "troupe.c8.probe";
    const v8 = { "Troupe-Codec": "v8" };
    const broken: [string, Uint8Array, Record<string, string>, RegExp][] = [
      [
        "a bad timeout",
        serialize(5),
        { "Troupe-Message": "echo", "Troupe-Timeout": "-1" },
        /Troupe-Timeout/,
      ],
      ["no message name", serialize(5), {}, /Troupe-Message header is missing/],
      [
        "a bad kind",
        serialize(5),
        { "Troupe-Message": "echo", "Troupe-Kind": "shout" },
        /Troupe-Kind/,
      ],
      [
        "an oversized body",
        serialize("x".repeat(100)),
        { "Troupe-Message": "echo" },
        /limit is 64/,
      ],
      [
        "a body not in V8's format",
        new Uint8Array([1, 2, 3]),
        { "Troupe-Message": "echo" },
        /not V8/,
      ],
    ];
    for (const [what, body, header, message] of broken) {
      const reply = await call(nc, subject, body, { ...v8, ...header, "Troupe-Id": what });
      assert.equal(reply.headers?.get("Troupe-Status"), "error", what);
      assert.equal(reply.headers?.get("Troupe-Codec"), "v8", what);
      assert.equal(reply.headers?.get("Troupe-Id"), what);
      const { error } = deserialize(reply.data) as { error: { type: string; message: string } };
      assert.equal(error.type, "BadRequest", what);
      assert.match(error.message, message, what);
    }
    // A codec the wire does not know cannot be answered in: JSON, without the header.
    const unknown = await call(nc, subject, serialize(5), {
      "Troupe-Message": "echo",
      "Troupe-Codec": "cbor",
    });
    assert.equal(unknown.headers?.get("Troupe-Status"), "error");
    assert.equal(unknown.headers?.has("Troupe-Codec"), false);
    const { error } = JSON.parse(new TextDecoder().decode(unknown.data)) as {
      error: { type: string; message: string };
    };
    assert.equal(error.type, "BadRequest");
    assert.match(error.message, /Troupe-Codec must be json or v8/);
    // A JSON request that breaks the format is answered in JSON, as before.
    const json = await call(nc, subject, new TextEncoder().encode("{nope"), {
      "Troupe-Message": "echo",
    });
    assert.equal(json.headers?.has("Troupe-Codec"), false);
    assert.equal(
      (JSON.parse(new TextDecoder().decode(json.data)) as { error: { type: string } }).error.type,
      "BadRequest",
    );
  } finally {
    await nc.close();
  }
  assert.equal(served.exposure.stats().badRequests, 7);
  assert.equal(await served.ref.ask("get"), 0);
});

Deno.test("a v8 ref to a JSON-only name, and an unknown codec header, get a typed error and never reach the actor", async () => {
  await using server = await startNatsServer();
  await using served = await serving(server.url, "c4", {});
  await using asking = await NatsNode.connect({ servers: server.url, namespace: "c4" });
  const v8 = asking.lookup<typeof probe>("probe", { codec: "v8" }) as unknown as Asker;
  const refused = await v8.ask("inc", 1).then(
    () => assert.fail("the ask should reject"),
    (e: unknown) => e,
  );
  assert.ok(refused instanceof ProtocolError, String(refused));
  assert.match(refused.message, /Troupe-Codec v8 is not taken here/);
  const nc = await connect({ servers: server.url });
  try {
    for (const codec of ["cbor", "V8", "x".repeat(500)]) {
      const reply = await call(nc, "troupe.c4.probe", new TextEncoder().encode("1"), {
        "Troupe-Message": "inc",
        "Troupe-Codec": codec,
      });
      assert.equal(reply.headers?.get("Troupe-Status"), "error", codec);
      const { error } = JSON.parse(new TextDecoder().decode(reply.data)) as {
        error: { type: string; message: string };
      };
      assert.equal(error.type, "BadRequest");
      assert.match(error.message, /Troupe-Codec must be json or v8/);
      assert.ok(error.message.length < 200, "the echoed codec is cut short");
    }
  } finally {
    await nc.close();
  }
  // A tell is refused too (as a bad request the serving side counts), and
  // the actor serves on through all of it.
  await v8.tell("inc", 1);
  const json = asking.lookup<typeof probe>("probe") as unknown as Asker;
  assert.equal(await json.ask("get"), 0);
  await eventually(() => served.exposure.stats().badRequests === 5, 5000, "five bad requests");
  assert.equal(served.exposure.stats().told, 0);
});

Deno.test("a codec option that is not json or v8 is refused at once", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  await using node = await NatsNode.connect({ servers: server.url, namespace: "c5" });
  const ref = await system.spawn<typeof probe>(PROBE);
  await assert.rejects(
    node.expose("probe", ref, { codec: "cbor" as never }),
    (error: unknown) =>
      error instanceof TypeError &&
      /codec must be "json" or "v8", received "cbor"/.test(error.message),
  );
  assert.throws(() => node.lookup("probe", { codec: "xml" as never }), TypeError);
  assert.throws(() => node.lookupDurable("probe", { codec: "xml" as never }), TypeError);
});

Deno.test("a v8 durable tell stores Map, Date and bigint as they are; a JSON-only durable name dead-letters it", async () => {
  await using server = await startNatsServer();
  await using served = await serving(server.url, "c6", { codec: "v8", durable: true });
  await using asking = await NatsNode.connect({ servers: server.url, namespace: "c6" });
  const durable = asking.lookupDurable<typeof probe>("probe", { codec: "v8" }) as unknown as {
    tell(name: string, payload: unknown): Promise<{ seq: number }>;
  };
  const value = rich();
  const receipt = await durable.tell("record", value);
  assert.equal(receipt.seq, 1);
  await until(async () => (await served.ref.ask("seen")).length === 1, 10_000, "handled");
  assert.deepEqual(await served.ref.ask("seen"), [value]);
  await eventually(() => served.exposure.stats().durable?.acked === 1, 5000, "acked");

  await using plain = await serving(server.url, "c7", { durable: true });
  const refused = plain.node.lookupDurable<typeof probe>("probe", { codec: "v8" });
  const events = plain.node.events();
  await refused.tell("record", 1);
  let event = await within(events.next(), 10_000, "an event");
  while (event.value?.type !== "nats-dead-letter") {
    event = await within(events.next(), 10_000, "the dead letter");
  }
  assert.match(event.value.reason, /bad request: Troupe-Codec v8 is not taken here/);
  assert.deepEqual(await plain.ref.ask("seen"), []);
  await events.return?.();
});
