// Tells that travel together: a burst of JSON tells from one node to one name
// goes as a few NATS messages of `Troupe-Kind: tells` (a line per tell) rather
// than one message each. Their order holds (beside V8 tells and asks), a batch
// that would pass the server's payload limit splits, and the serving side reads
// a batch from any client line by line, refusing a bad line on its own.
import assert from "node:assert/strict";
import { connect, headers, type Msg } from "@nats-io/transport-node";
import { ActorSystem } from "../../mod.ts";
import { type ClusterEvent, NatsNode } from "../../actors/cluster/mod.ts";
import type { probe } from "../fixtures/probe_actor.ts";
import { Flags, within } from "../_helpers.ts";
import { startNatsServer } from "./_server.ts";

const PROBE = new URL("../fixtures/probe_actor.ts", import.meta.url);

/** Every message on `subject`, seen by a plain subscriber beside the queue group. */
async function spy(url: string, subject: string) {
  const nc = await connect({ servers: url });
  const seen: Msg[] = [];
  nc.subscribe(subject, {
    callback: (_error, msg) => {
      seen.push(msg);
    },
  });
  await nc.flush();
  return { nc, seen };
}

Deno.test("a burst of JSON tells travels as a few batch messages, in order beside V8 tells and asks", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof probe>(PROBE);
  await using serving = await NatsNode.connect({ servers: server.url, namespace: "b1" });
  const exposure = await serving.expose("probe", ref, { codec: "v8" });
  const watch = await spy(server.url, "troupe.b1.probe");
  try {
    await using node = await NatsNode.connect({ servers: server.url, namespace: "b1" });
    const json = node.lookup<typeof probe>("probe");
    const v8 = node.lookup<typeof probe>("probe", { codec: "v8" });
    for (let n = 0; n < 2000; n++) {
      if (n % 500 === 499) {
        assert.deepEqual(await json.ask("seqReport"), { received: n, outOfOrder: 0 });
      }
      // Every 100th through the V8 ref: it goes alone, between two batches.
      await (n % 100 === 50 ? v8 : json).tell("seq", n);
    }
    assert.deepEqual(await v8.ask("seqReport"), { received: 2000, outOfOrder: 0 });
    await watch.nc.flush();
    const batches = watch.seen.filter((m) => m.headers?.get("Troupe-Kind") === "tells");
    const lines = batches.reduce(
      (sum, m) => sum + new TextDecoder().decode(m.data).split("\n").length,
      0,
    );
    assert.ok(batches.length > 0 && batches.length < 200, `${batches.length} batches`);
    const singles = watch.seen.filter((m) => m.headers?.get("Troupe-Message") === "seq");
    assert.equal(lines + singles.length, 2000);
    assert.ok(singles.length >= 20, `${singles.length} single tells (the V8 ones at least)`);
    const stats = exposure.stats();
    assert.equal(stats.told, 2000);
    assert.equal(stats.received, 2000 + 5);
    assert.equal(stats.badRequests, 0);
  } finally {
    await watch.nc.close();
  }
});

Deno.test("tells to two names in turn travel as a batch for each name, each in order", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  const a = await system.spawn<typeof probe>(PROBE);
  const b = await system.spawn<typeof probe>(PROBE);
  await using serving = await NatsNode.connect({ servers: server.url, namespace: "b4" });
  await serving.expose("a", a);
  await serving.expose("b", b);
  const watch = await spy(server.url, "troupe.b4.*");
  try {
    await using node = await NatsNode.connect({ servers: server.url, namespace: "b4" });
    const refs = [node.lookup<typeof probe>("a"), node.lookup<typeof probe>("b")];
    for (let n = 0; n < 400; n++) await refs[n % 2]!.tell("seq", n >> 1);
    assert.deepEqual(await refs[0]!.ask("seqReport"), { received: 200, outOfOrder: 0 });
    assert.deepEqual(await refs[1]!.ask("seqReport"), { received: 200, outOfOrder: 0 });
    await watch.nc.flush();
    const tells = watch.seen.filter((m) => m.headers?.get("Troupe-Kind") === "tells");
    assert.ok(tells.length >= 2 && tells.length <= 8, `${tells.length} batches`);
    assert.equal(watch.seen.length, tells.length + 2);
  } finally {
    await watch.nc.close();
  }
});

Deno.test("tells of a batch that went into the mailbox at once do not count against maxPending", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof probe>(PROBE, { capacity: 100_000 });
  await using serving = await NatsNode.connect({ servers: server.url, namespace: "b5" });
  const exposure = await serving.expose("probe", ref, { maxPending: 4 });
  await using node = await NatsNode.connect({ servers: server.url, namespace: "b5" });
  const remote = node.lookup<typeof probe>("probe");
  // All in one flush: batches of 512, each handed to the actor in one go.
  await Promise.all(Array.from({ length: 2000 }, () => remote.tell("inc", 1)));
  assert.equal(await remote.ask("get"), 2000);
  const stats = exposure.stats();
  assert.equal(stats.deadLetters, 0);
  assert.equal(stats.told, 2000);
  assert.equal(stats.pending, 0);
});

Deno.test("a burst of batched tells to a pool is not dead-lettered by maxPending", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  const pool = await system.pool<typeof probe>(PROBE, { size: 2 });
  try {
    await using serving = await NatsNode.connect({ servers: server.url, namespace: "b6" });
    const exposure = await serving.expose("probe", pool, { maxPending: 4 });
    await using node = await NatsNode.connect({ servers: server.url, namespace: "b6" });
    const remote = node.lookup<typeof probe>("probe");
    await Promise.all(Array.from({ length: 2000 }, () => remote.tell("inc", 1)));
    await remote.ask("get");
    await within(pool.drain(), 10_000, "the pool drains");
    const stats = exposure.stats();
    assert.equal(stats.deadLetters, 0);
    assert.equal(stats.told, 2000);
  } finally {
    await pool.close();
  }
});

Deno.test("batched tells still waiting for room from an earlier turn hold maxPending: later ones are dead letters", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  const flags = new Flags();
  const ref = await system.spawn<typeof probe>(PROBE, {
    args: { flags: flags.buffer },
    capacity: 10,
  });
  const other = await system.spawn<typeof probe>(PROBE);
  await using serving = await NatsNode.connect({ servers: server.url, namespace: "b7" });
  const exposure = await serving.expose("probe", ref, { maxPending: 4 });
  await serving.expose("other", other);
  await using node = await NatsNode.connect({ servers: server.url, namespace: "b7" });
  const remote = node.lookup<typeof probe>("probe");
  // An ask to another name on the same connections comes back after what was sent before it.
  const behind = () => node.lookup<typeof probe>("other").ask("get", undefined, { timeout: 5000 });
  try {
    // The actor blocks on the first; 9 more fill its mailbox; 9 wait for room (one more may).
    await Promise.all([
      remote.tell("block"),
      ...Array.from({ length: 18 }, () => remote.tell("inc", 1)),
    ]);
    await behind();
    assert.equal(exposure.stats().pending, 9);
    assert.equal(exposure.stats().deadLetters, 0);
    await Promise.all(Array.from({ length: 5 }, () => remote.tell("inc", 1)));
    await behind();
    const stats = exposure.stats();
    assert.equal(stats.deadLetters, 5);
    assert.match(stats.lastError ?? "", /capacity is 4 messages/);
  } finally {
    flags.open();
  }
  // Asked here, not over NATS (the waiting tells hold the slots until they are in): it
  // waits for room behind them.
  assert.equal(await ref.ask("get", undefined, { timeout: 5000 }), 18);
  assert.equal(exposure.stats().told, 19);
  assert.equal(exposure.stats().pending, 0);
});

Deno.test("a batch of tells that would pass the server's payload limit goes as smaller ones", async () => {
  const config = await Deno.makeTempFile({ suffix: ".conf" });
  await Deno.writeTextFile(config, "max_payload: 4096\n");
  try {
    await using server = await startNatsServer(["-c", config]);
    await using system = await ActorSystem.start();
    const ref = await system.spawn<typeof probe>(PROBE);
    await using serving = await NatsNode.connect({ servers: server.url, namespace: "b2" });
    const exposure = await serving.expose("probe", ref);
    const watch = await spy(server.url, "troupe.b2.probe");
    try {
      await using node = await NatsNode.connect({ servers: server.url, namespace: "b2" });
      const remote = node.lookup<typeof probe>("probe");
      const filler = "x".repeat(1000);
      // Not awaited one by one: all 40 (about 40 KB) are waiting at the flush.
      await Promise.all(
        Array.from({ length: 40 }, (_, n) => remote.tell("record", { n, filler } as never)),
      );
      // The record replies would not fit the limit: count them instead.
      assert.equal(await remote.ask("get"), 0);
      assert.equal(exposure.stats().told, 40);
      await watch.nc.flush();
      assert.ok(watch.seen.length >= 10, `${watch.seen.length} messages`);
      const order: number[] = [];
      for (const msg of watch.seen) {
        assert.ok(msg.data.length <= 4096 - 512, `a message of ${msg.data.length} bytes`);
        const text = new TextDecoder().decode(msg.data);
        if (msg.headers?.get("Troupe-Kind") === "tells") {
          for (const line of text.split("\n")) order.push(JSON.parse(line)[1].n);
        } else if (msg.headers?.get("Troupe-Message") === "record") order.push(JSON.parse(text).n);
      }
      assert.deepEqual(order, Array.from({ length: 40 }, (_, n) => n));
    } finally {
      await watch.nc.close();
    }
  } finally {
    await Deno.remove(config);
  }
});

Deno.test("a batch from a plain client is read line by line: a bad line is refused alone", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof probe>(PROBE);
  const serving = await NatsNode.connect({ servers: server.url, namespace: "b3" });
  const events: ClusterEvent[] = [];
  const watching = (async () => {
    for await (const event of serving.events()) events.push(event);
  })();
  const exposure = await serving.expose("probe", ref, { maxPayload: 64 });
  const nc = await connect({ servers: server.url });
  try {
    const h = headers();
    h.set("Troupe-Kind", "tells");
    const body = [
      '["record",1]',
      '["record",{nope',
      '["record",2]',
      "",
      `["record","${"x".repeat(80)}"]`,
      '{"not":"an array"}',
      '["",3]',
      '["record",3,4]',
      '["record",3]',
      '["nosuch",1]',
      '["record",{"__proto__":{"polluted":true},"n":4}]',
    ].join("\n");
    nc.publish("troupe.b3.probe", body, { headers: h });
    // A batch is JSON: one named in another codec is refused whole.
    const v8 = headers();
    v8.set("Troupe-Kind", "tells");
    v8.set("Troupe-Codec", "v8");
    nc.publish("troupe.b3.probe", '["record",8]\n["record",8]', { headers: v8 });
    // With a reply subject a batch is refused whole: it would have no one reply.
    const refused = await nc.request("troupe.b3.probe", '["record",9]\n["record",9]', {
      headers: h,
      timeout: 5000,
    });
    assert.equal(refused.headers?.get("Troupe-Status"), "error");
    const seen = await serving.lookup<typeof probe>("probe").ask("seen", undefined, {
      timeout: 5000,
    });
    assert.deepEqual(seen, [1, 2, 3, { n: 4 }]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const stats = exposure.stats();
    assert.equal(stats.badRequests, 8);
    assert.equal(stats.deadLetters, 1);
    assert.equal(stats.told, 4);
  } finally {
    await nc.close();
  }
  await serving.close();
  await within(watching, 5000, "the events end");
  assert.equal(events.filter((e) => e.type === "nats-bad-request").length, 8);
  assert.equal(events.filter((e) => e.type === "nats-dead-letter").length, 1);
});
