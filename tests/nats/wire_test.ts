// The wire format as another language's client sees it: a plain NATS
// request with a Troupe-Message header calls an actor, and hostile requests
// (no message name, not JSON, oversized, bad headers, prototype keys) get an
// error reply and never crash or block the serving actor.
import assert from "node:assert/strict";
import { connect, headers, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { ActorSystem } from "../../mod.ts";
import { type ClusterEvent, NatsNode } from "../../actors/cluster/mod.ts";
import type { probe } from "../fixtures/probe_actor.ts";
import { within } from "../_helpers.ts";
import { startNatsServer } from "./_server.ts";

const decode = (msg: Msg): unknown =>
  msg.data.length === 0 ? undefined : JSON.parse(new TextDecoder().decode(msg.data));

function call(
  nc: NatsConnection,
  subject: string,
  body: string | Uint8Array,
  header: Record<string, string> = {},
): Promise<Msg> {
  const h = headers();
  for (const [key, value] of Object.entries(header)) h.set(key, value);
  return nc.request(subject, body, { timeout: 5000, headers: h });
}

async function exposedProbe(url: string, namespace: string, maxPayload?: number) {
  const system = await ActorSystem.start();
  const ref = await system.spawn<typeof probe>(
    new URL("../fixtures/probe_actor.ts", import.meta.url),
  );
  const node = await NatsNode.connect({ servers: url, namespace });
  const exposure = await node.expose("probe", ref, maxPayload ? { maxPayload } : {});
  return {
    system,
    node,
    exposure,
    async [Symbol.asyncDispose]() {
      await node.close();
      await system.shutdown();
    },
  };
}

Deno.test("a plain NATS request with a Troupe-Message header and a JSON body calls the actor", async () => {
  await using server = await startNatsServer();
  await using _probe = await exposedProbe(server.url, "w1");
  const nc = await connect({ servers: server.url });
  try {
    const told = await call(nc, "troupe.w1.probe", "4", {
      "Troupe-Message": "inc",
      "Troupe-Kind": "tell",
    });
    assert.equal(told.headers?.get("Troupe-Status"), "ok");
    assert.equal(told.data.length, 0);
    const reply = await call(nc, "troupe.w1.probe", "", {
      "Troupe-Message": "get",
      "Troupe-Id": "q-7",
    });
    assert.equal(reply.headers?.get("Troupe-Status"), "ok");
    assert.equal(reply.headers?.get("Troupe-Id"), "q-7");
    assert.equal(decode(reply), 4);
    const echoed = await call(nc, "troupe.w1.probe", '{"a":[1,2]}', { "Troupe-Message": "echo" });
    assert.deepEqual(decode(echoed), { a: [1, 2] });
    const failed = await call(nc, "troupe.w1.probe", '"boom"', { "Troupe-Message": "fail" });
    assert.equal(failed.headers?.get("Troupe-Status"), "error");
    const { error } = decode(failed) as { error: Record<string, unknown> };
    assert.equal(error.type, "ActorError");
    assert.deepEqual((error.remote as { name: string }).name, "TypeError");
    assert.equal((error.remote as { message: string }).message, "boom");
  } finally {
    await nc.close();
  }
});

Deno.test("malformed requests get an error reply and never reach or block the serving actor", async () => {
  await using server = await startNatsServer();
  await using probe = await exposedProbe(server.url, "w2", 1024);
  const events: ClusterEvent[] = [];
  const watching = (async () => {
    for await (const event of probe.node.events()) events.push(event);
  })();
  const nc = await connect({ servers: server.url });
  try {
    const subject = "troupe.w2.probe";
    const hostile: [string, string | Uint8Array, Record<string, string>, string][] = [
      ["no message name", "1", {}, "BadRequest"],
      ["not JSON", "{nope", { "Troupe-Message": "echo" }, "BadRequest"],
      [
        "bad UTF-8",
        new Uint8Array([0x22, 0xff, 0xfe, 0x22]),
        { "Troupe-Message": "echo" },
        "BadRequest",
      ],
      ["oversized", `"${"x".repeat(2000)}"`, { "Troupe-Message": "echo" }, "BadRequest"],
      ["a bad kind", "1", { "Troupe-Message": "inc", "Troupe-Kind": "shout" }, "BadRequest"],
      ["a bad timeout", "1", { "Troupe-Message": "inc", "Troupe-Timeout": "soon" }, "BadRequest"],
      ["an unknown message", "1", { "Troupe-Message": "constructor" }, "UnknownMessageError"],
    ];
    for (const [what, body, header, type] of hostile) {
      const reply = await call(nc, subject, body, header);
      assert.equal(reply.headers?.get("Troupe-Status"), "error", what);
      const { error } = decode(reply) as { error: { type: string; message: string } };
      assert.equal(error.type, type, `${what}: ${error.message}`);
    }
    // Garbage without a reply subject is dropped, answered to nobody.
    nc.publish(subject, "{{{");
    nc.publish(subject, "1", { headers: headers() });
    await nc.flush();
    // Prototype keys are dropped on decode: nothing is polluted, the value comes back without them.
    const polluting = '{"constructor":{"prototype":{"polluted":true}},"__proto__":{"x":1},"ok":1}';
    const echoed = await call(nc, subject, polluting, { "Troupe-Message": "echo" });
    assert.deepEqual(decode(echoed), { ok: 1 });
    // Spelled with escapes, the same keys are dropped too.
    const escaped = '{"\\u005f_proto__":{"x":1},"constructo\\u0072":{"p":1},"ok":2}';
    const echoedEscaped = await call(nc, subject, escaped, { "Troupe-Message": "echo" });
    assert.deepEqual(decode(echoedEscaped), { ok: 2 });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    // The actor served on through all of it.
    const got = await call(nc, subject, "", { "Troupe-Message": "get" });
    assert.equal(decode(got), 0);
    const stats = probe.exposure.stats();
    assert.equal(stats.badRequests, 8);
    assert.equal(stats.failed, 1);
    assert.equal(probe.system.stats().exits.error ?? 0, 0);
  } finally {
    await nc.close();
  }
  await probe.node.close();
  await within(watching, 5000, "the events end");
  assert.equal(events.filter((e) => e.type === "nats-bad-request").length, 8);
});
