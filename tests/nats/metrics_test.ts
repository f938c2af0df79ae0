// The NATS figures of a service's /metrics (`troupe run --metrics`): a node
// connected with `NatsNode.connect({ system })` shows its connection and
// every name it exposes, beside the system's own figures, until it closes.
// Through the observer's real server, against a real nats-server.
import assert from "node:assert/strict";
import { ActorSystem, MailboxFullError } from "../../mod.ts";
import { NatsNode } from "../../actors/cluster/mod.ts";
import { Observer } from "../../cli/_observe.ts";
import type { probe } from "../fixtures/probe_actor.ts";
import { Flags, within } from "../_helpers.ts";
import { parsePrometheus, sample } from "../_prometheus.ts";
import { startNatsServer } from "./_server.ts";

const PROBE = new URL("../fixtures/probe_actor.ts", import.meta.url);

Deno.test("/metrics shows each NATS node connected with the system and every name it exposes, served in either thread", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  const flags = new Flags();
  const slow = await system.spawn<typeof probe>(PROBE, { args: { flags: flags.buffer } });
  const fast = await system.spawn<typeof probe>(PROBE);
  const node = await NatsNode.connect({
    servers: server.url,
    namespace: "m1",
    name: "front-1",
    system,
  });
  const observer = await Observer.start({
    system,
    metrics: true,
    hostname: "127.0.0.1",
    port: 0,
    service: () => ({ name: "m", pid: Deno.pid, app: "m", state: "running", started: 0 }),
  });
  try {
    const held = await node.expose("slow", slow, { maxPending: 1 });
    const quick = await node.expose("fast", fast, { inActor: true });
    await within(
      (async () => {
        while (quick.stats().servedIn !== "actor") await new Promise((r) => setTimeout(r, 10));
      })(),
      15_000,
      "the actor's thread serving",
    );
    await using caller = await NatsNode.connect({ servers: server.url, namespace: "m1" });
    const toFast = caller.lookup<typeof probe>("fast");
    for (let i = 0; i < 3; i++) assert.equal(await toFast.ask("echo", i), i);
    const toSlow = caller.lookup<typeof probe>("slow");
    const blocked = toSlow.ask("enter", undefined, { timeout: 15_000 });
    await flags.until(3, 1);
    await assert.rejects(toSlow.ask("get", undefined, { timeout: 5000 }), MailboxFullError);

    const scrape = async () => {
      const response = await fetch(observer.metricsUrl);
      assert.equal(response.status, 200);
      return parsePrometheus(await response.text());
    };
    const { types, samples } = await scrape();
    const at = (name: string, labels: Record<string, string>) => sample(samples, name, labels);
    assert.equal(types.get("troupe_nats_connected"), "gauge");
    assert.equal(types.get("troupe_nats_requests_total"), "counter");
    assert.equal(at("troupe_nats_connected", { node: "front-1" }), 1);
    assert.equal(at("troupe_nats_disconnects_total", { node: "front-1" }), 0);
    assert.equal(at("troupe_nats_requests_total", { node: "front-1", name: "fast" }), 3);
    assert.equal(at("troupe_nats_replied_total", { node: "front-1", name: "fast" }), 3);
    assert.equal(at("troupe_nats_served_in_actor", { node: "front-1", name: "fast" }), 1);
    assert.equal(at("troupe_nats_actor_connection_up", { node: "front-1", name: "fast" }), 1);
    assert.equal(at("troupe_nats_served_in_actor", { node: "front-1", name: "slow" }), 0);
    assert.equal(at("troupe_nats_requests_pending", { node: "front-1", name: "slow" }), 1);
    assert.equal(at("troupe_nats_dropped_total", { node: "front-1", name: "slow" }), 1);
    assert.equal(at("troupe_nats_failed_total", { node: "front-1", name: "slow" }), 1);
    // Only a name served in the actor's thread has an actor connection of its own.
    assert.ok(
      !samples.some((s) =>
        s.name === "troupe_nats_actor_connection_up" && s.labels.name === "slow"
      ),
    );
    flags.open();
    await blocked;
    await held.close();
    // Closed: the node is off the page.
    await node.close();
    const after = await scrape();
    assert.ok(!after.samples.some((s) => s.name.startsWith("troupe_nats_")));
    assert.ok(after.samples.some((s) => s.name === "troupe_actor_up"));
  } finally {
    flags.open();
    await node.close();
    await observer.close();
  }
});
