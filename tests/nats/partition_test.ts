// Partitions between a client and its server through a loopback TCP proxy
// (row F28 of FAULTS.md, core mode): a blackhole is found by the client's
// pings and a reset at once; the ask in flight rejects with a typed error,
// what was sent into the partition is lost (and only that), and the name is
// served again once the network heals.
import assert from "node:assert/strict";
import { ConnectionLostError } from "../../mod.ts";
import { NatsNode } from "../../actors/cluster/mod.ts";
import { within } from "../_helpers.ts";
import { startNatsServer } from "./_server.ts";
import { Service } from "./_service.ts";
import { TcpProxy } from "./_proxy.ts";
import { eventsOf } from "./_events.ts";

type NatsProbeModule = typeof import("../fixtures/nats_actor.ts");

async function connectThrough(proxy: TcpProxy, namespace: string) {
  return await NatsNode.connect({
    servers: proxy.url,
    namespace,
    pingInterval: 200,
    reconnectWait: 50,
    connectTimeout: 1000,
  });
}

Deno.test("a blackhole is found by the pings: the ask in flight rejects, what was sent into it is lost, and the name is served again after it heals", async () => {
  await using server = await startNatsServer();
  await using service = await Service.start(server.url, "p1", "probe", "a");
  await using proxy = new TcpProxy(server.port);
  const node = await connectThrough(proxy, "p1");
  const events = eventsOf(node);
  try {
    const remote = node.lookup<NatsProbeModule>("probe");
    await remote.tell("inc", 1);
    assert.equal(await remote.ask("get"), 1);
    const asking = remote.ask("hang", "blackhole", { timeout: 30_000 }).then(
      () => assert.fail("the ask should reject"),
      (e: unknown) => e,
    );
    await service.next((l) => l.type === "entered" && l.tag === "blackhole", 5000, "entered");
    proxy.blackhole();
    // Sent into the partition before the client knows: lost, or refused once it knows.
    const lost = await remote.tell("inc", 10).then(() => "sent", (e: unknown) => e);
    assert.ok(lost === "sent" || lost instanceof ConnectionLostError, String(lost));
    const error = await within(asking, 10_000, "the ask in the blackhole");
    assert.ok(error instanceof ConnectionLostError && error.inFlight, String(error));
    await within(events.until("nats-disconnected", 1), 5000, "disconnected");
    proxy.pass();
    await within(events.until("nats-reconnected", 1), 10_000, "reconnected");
    assert.equal(await remote.ask("get", undefined, { timeout: 5000 }), 1);
    await remote.tell("inc", 2);
    assert.equal(await remote.ask("get"), 3);
  } finally {
    await node.close({ timeout: 1000 });
    await events.reading;
  }
});

Deno.test("a reset connection is seen at once: the ask in flight rejects and the client reconnects", async () => {
  await using server = await startNatsServer();
  await using service = await Service.start(server.url, "p2", "probe", "a");
  await using proxy = new TcpProxy(server.port);
  const node = await connectThrough(proxy, "p2");
  const events = eventsOf(node);
  try {
    const remote = node.lookup<NatsProbeModule>("probe");
    const asking = remote.ask("hang", "reset", { timeout: 30_000 }).then(
      () => assert.fail("the ask should reject"),
      (e: unknown) => e,
    );
    await service.next((l) => l.type === "entered" && l.tag === "reset", 5000, "entered");
    proxy.reset();
    const error = await within(asking, 5000, "the ask on the reset connection");
    assert.ok(error instanceof ConnectionLostError && error.inFlight, String(error));
    await within(events.until("nats-reconnected", 1), 10_000, "reconnected");
    assert.deepEqual(await remote.ask("whoami", undefined, { timeout: 5000 }), {
      label: "a",
      pid: service.pid,
    });
    assert.equal(node.stats().disconnects, 1);
  } finally {
    await node.close({ timeout: 1000 });
    await events.reading;
  }
});
