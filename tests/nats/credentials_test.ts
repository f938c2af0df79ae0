// Credentials go to the NATS client and nowhere else: not into errors (a
// refused login, an unreachable server), events, stats, toString or JSON.
import assert from "node:assert/strict";
import { ActorSystem, AuthenticationError, BrokerUnavailableError } from "../../mod.ts";
import { type ClusterEvent, NatsNode } from "../../actors/cluster/mod.ts";
import { within } from "../_helpers.ts";
import { startNatsServer } from "./_server.ts";
import { everythingSaid } from "./_said.ts";
import type { inActorProbe } from "../fixtures/in_actor_probe.ts";

const SECRET = "s3cret-Pa55-word";
const TOKEN = "t0ken-Value-xyz";
const PROBE = new URL("../fixtures/in_actor_probe.ts", import.meta.url);

Deno.test("user and password reach the server but no error, event, stats, string or JSON", async () => {
  await using server = await startNatsServer(["--user", "troupe", "--pass", SECRET]);
  const refused = await NatsNode.connect({ servers: server.url, user: "troupe", pass: "wrong" })
    .then(() => assert.fail("the connect should fail"), (e: unknown) => e);
  assert.ok(refused instanceof AuthenticationError, String(refused));
  assert.ok(!everythingSaid(refused).includes("wrong"));

  const inUrl = server.url.replace("nats://", `nats://troupe:${SECRET}@`);
  const events: ClusterEvent[] = [];
  for (
    const options of [{ servers: server.url, user: "troupe", pass: SECRET }, { servers: inUrl }]
  ) {
    const node = await NatsNode.connect({ ...options, reconnectWait: 50 });
    const reading = (async () => {
      for await (const event of node.events()) events.push(event);
    })();
    const stats = node.stats();
    assert.equal(stats.connected, true);
    await server.stop();
    await server.restart();
    await node.close();
    await within(reading, 5000, "events end");
    for (const said of [node, stats, node.toString(), node.toJSON(), events]) {
      assert.ok(!everythingSaid(said).includes(SECRET), everythingSaid(said));
    }
  }
  assert.ok(events.some((e) => e.type === "nats-disconnected"));
});

Deno.test("a token reaches the server; an unreachable server's error names it without credentials", async () => {
  await using server = await startNatsServer(["--auth", TOKEN]);
  await using node = await NatsNode.connect({ servers: server.url, token: TOKEN });
  assert.equal(node.stats().connected, true);
  assert.ok(!everythingSaid(node).includes(TOKEN));
  await assert.rejects(
    NatsNode.connect({ servers: server.url, token: "nope" }),
    AuthenticationError,
  );

  const port = server.port;
  await server.stop();
  const error = await NatsNode.connect({
    servers: `nats://troupe:${SECRET}@127.0.0.1:${port}`,
    connectTimeout: 1000,
  }).then(() => assert.fail("the connect should fail"), (e: unknown) => e);
  assert.ok(error instanceof BrokerUnavailableError, String(error));
  assert.deepEqual(error.servers, [`nats://127.0.0.1:${port}`]);
  assert.ok(!everythingSaid(error).includes(SECRET), everythingSaid(error));
  await server.restart();
});

Deno.test("inActor: the actor's own connection carries the credentials, and none of its events or stats say them", async () => {
  await using server = await startNatsServer(["--user", "troupe", "--pass", SECRET]);
  await using system = await ActorSystem.start();
  const ref = await system.spawn(PROBE, { args: {} });
  const inUrl = server.url.replace("nats://", `nats://troupe:${SECRET}@`);
  await using node = await NatsNode.connect({ servers: inUrl, reconnectWait: 50 });
  const events: ClusterEvent[] = [];
  const reading = (async () => {
    for await (const event of node.events()) events.push(event);
  })();
  const seen = async (type: ClusterEvent["type"], actor: boolean) => {
    while (
      !events.some((e) => e.type === type && ("actorId" in e && e.actorId !== undefined) === actor)
    ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  await using exposure = await node.expose("probe", ref, { inActor: true });
  await within(
    (async () => {
      while (exposure.stats().servedIn !== "actor") await new Promise((r) => setTimeout(r, 10));
    })(),
    15_000,
    "the actor's thread serving",
  );
  await server.stop();
  await server.restart();
  await within(seen("nats-reconnected", true), 15_000, "the actor's connection back");
  const stats = exposure.stats();
  assert.deepEqual(stats.actorConnection?.reconnects, 1);
  await exposure.close();
  await node.close();
  await within(reading, 5000, "events end");
  const down = events.find((e) => e.type === "nats-disconnected" && e.actorId !== undefined);
  assert.ok(down?.type === "nats-disconnected" && down.server.includes("127.0.0.1"));
  for (const said of [stats, events]) {
    assert.ok(!everythingSaid(said).includes(SECRET), everythingSaid(said));
  }
});

Deno.test("inActor: an actor's connection the server refuses leaves the name to the node's thread, and the reason says no credentials", async () => {
  const config = await Deno.makeTempFile({ suffix: ".conf" });
  await Deno.writeTextFile(
    config,
    `max_connections: 2\nauthorization { user: troupe, password: "${SECRET}" }\n`,
  );
  try {
    await using server = await startNatsServer(["-c", config]);
    await using system = await ActorSystem.start();
    const ref = await system.spawn<typeof inActorProbe>(PROBE, { args: {} });
    const inUrl = server.url.replace("nats://", `nats://troupe:${SECRET}@`);
    // The actor's connection takes the node's options: a refused one fails after 1 s.
    await using node = await NatsNode.connect({ servers: inUrl, connectTimeout: 1000 });
    await using caller = await NatsNode.connect({ servers: inUrl });
    const events: ClusterEvent[] = [];
    const reading = (async () => {
      for await (const event of node.events()) events.push(event);
    })();
    // A third connection, the actor's own, is one past the server's limit.
    await using exposure = await node.expose("probe", ref, { inActor: true });
    const declined = await within(
      (async () => {
        while (true) {
          const event = events.find((e) => e.type === "nats-served-in-actor");
          if (event?.type === "nats-served-in-actor") return event;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })(),
      15_000,
      "the decline",
    );
    assert.equal(declined.serving, false);
    // Said as the node's own connect failure is: the server (without credentials), and why.
    assert.match(
      declined.reason ?? "",
      /^BrokerUnavailableError: Cannot connect to the broker at nats:\/\/127\.0\.0\.1:\d+/,
    );
    assert.equal(await caller.lookup<typeof inActorProbe>("probe").ask("echo", 5), 5);
    const stats = exposure.stats();
    assert.equal(stats.servedIn, "node");
    await exposure.close();
    await node.close();
    await within(reading, 5000, "events end");
    for (const said of [stats, events, declined.reason]) {
      assert.ok(!everythingSaid(said).includes(SECRET), everythingSaid(said));
    }
  } finally {
    await Deno.remove(config);
  }
});
