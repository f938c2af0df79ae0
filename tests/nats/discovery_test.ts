// The NATS services protocol: every node answers $SRV.PING/INFO/STATS as one
// instance of service troupe-<namespace>, one endpoint per exposed name, so
// standard NATS tooling lists Troupe actors across processes.
import assert from "node:assert/strict";
import { connect, type Msg } from "@nats-io/transport-node";
import { ActorSystem } from "../../mod.ts";
import { NatsNode } from "../../actors/cluster/mod.ts";
import { TROUPE_VERSION } from "../../actors/cluster/_discovery.ts";
import type { probe } from "../fixtures/probe_actor.ts";
import { startNatsServer } from "./_server.ts";
import { Service } from "./_service.ts";

// deno-lint-ignore no-explicit-any
type Json = any;
const PROBE_ACTOR = new URL("../fixtures/probe_actor.ts", import.meta.url);
const json = (msg: Msg): Json => JSON.parse(new TextDecoder().decode(msg.data));

Deno.test("every node answers $SRV.PING, $SRV.INFO and $SRV.STATS with its exposed names", async () => {
  await using server = await startNatsServer();
  await using service = await Service.start(server.url, "d1", "probe", "a");
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof probe>(
    new URL("../fixtures/probe_actor.ts", import.meta.url),
  );
  await using node = await NatsNode.connect({
    servers: server.url,
    namespace: "d1",
    name: "front",
  });
  await node.expose("local.probe", ref);
  const nc = await connect({ servers: server.url });
  try {
    const pings: Json[] = [];
    for await (
      const msg of await nc.requestMany("$SRV.PING", "", {
        strategy: "count",
        maxMessages: 2,
        maxWait: 5000,
      })
    ) {
      pings.push(json(msg));
    }
    assert.equal(pings.length, 2);
    for (const ping of pings) {
      assert.equal(ping.type, "io.nats.micro.v1.ping_response");
      assert.equal(ping.name, "troupe-d1");
      assert.equal(ping.version, TROUPE_VERSION);
      assert.equal(ping.metadata.namespace, "d1");
    }
    assert.deepEqual(
      pings.map((p) => p.metadata.pid).sort(),
      [String(Deno.pid), String(service.pid)].sort(),
    );

    const id = node.stats().id;
    const info = json(await nc.request(`$SRV.INFO.troupe-d1.${id}`, "", { timeout: 5000 }));
    assert.equal(info.type, "io.nats.micro.v1.info_response");
    assert.equal(info.id, id);
    assert.deepEqual(info.endpoints, [{
      name: "local-probe",
      subject: "troupe.d1.local.probe",
      queue_group: "troupe.d1.local.probe",
      metadata: { actor: "local.probe", target: ref.id },
    }]);

    const remote = node.lookup<typeof probe>("local.probe");
    await remote.tell("inc", 2);
    assert.equal(await remote.ask("get"), 2);
    await assert.rejects(remote.ask("fail", "bad input"));
    const stats = json(await nc.request(`$SRV.STATS.troupe-d1.${id}`, "", { timeout: 5000 }));
    assert.equal(stats.type, "io.nats.micro.v1.stats_response");
    assert.ok(!Number.isNaN(Date.parse(stats.started)));
    const [endpoint] = stats.endpoints;
    assert.equal(endpoint.num_requests, 3);
    assert.equal(endpoint.num_errors, 1);
    assert.match(endpoint.last_error, /ActorError: .*bad input/);
    assert.ok(endpoint.processing_time > 0);
    assert.equal(endpoint.data.target.handled, 3);
    assert.equal(endpoint.data.target.state, "running");
  } finally {
    await nc.close();
  }
});

Deno.test("the version the services protocol reports is the package's", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assert.equal(TROUPE_VERSION, config.version);
});

Deno.test("discover() says which thread serves each name, and how many requests it dropped", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  await using node = await NatsNode.connect({ servers: server.url, namespace: "d9" });
  const inActor = await node.expose("fast", await system.spawn(PROBE_ACTOR), { inActor: true });
  await node.expose("plain", await system.spawn(PROBE_ACTOR));
  while (inActor.stats().servedIn !== "actor") {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const found = await node.discover({ namespace: "d9" });
  const byName = new Map(found.map((actor) => [actor.name, actor]));
  assert.equal(byName.get("fast")?.servedIn, "actor");
  assert.equal(byName.get("plain")?.servedIn, "node");
  assert.equal(byName.get("fast")?.dropped, 0);
});
