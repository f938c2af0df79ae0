// The broker goes away mid-ask and comes back (row F28 of FAULTS.md, core
// mode): the ask in flight rejects at once with a typed error, the events say
// disconnected and reconnected, and the name is served again afterwards.
import assert from "node:assert/strict";
import { ActorSystem, ConnectionClosedError, ConnectionLostError } from "../../mod.ts";
import { type ClusterEvent, NatsNode } from "../../actors/cluster/mod.ts";
import { within } from "../_helpers.ts";
import { startNatsServer } from "./_server.ts";
import { Service } from "./_service.ts";

type NatsProbeModule = typeof import("../fixtures/nats_actor.ts");

/** Collects a node's events; `next(type)` waits for the next one of that type. */
function recorder(node: NatsNode) {
  const seen: ClusterEvent[] = [];
  const waiters = new Set<() => void>();
  const reading = (async () => {
    for await (const event of node.events()) {
      seen.push(event);
      for (const wake of waiters) wake();
    }
  })();
  return {
    seen,
    reading,
    next(type: ClusterEvent["type"], after: number): Promise<ClusterEvent> {
      return new Promise((resolve) => {
        const check = () => {
          const found = seen.slice(after).find((e) => e.type === type);
          if (found) {
            waiters.delete(check);
            resolve(found);
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}

Deno.test("an ask in flight when the server stops rejects at once with ConnectionLostError; after the restart the name is served again", async () => {
  await using server = await startNatsServer();
  await using service = await Service.start(server.url, "o1", "probe", "a");
  const node = await NatsNode.connect({
    servers: server.url,
    namespace: "o1",
    reconnectWait: 50,
  });
  const events = recorder(node);
  try {
    const remote = node.lookup<NatsProbeModule>("probe");
    await remote.tell("inc", 1);
    // Caught at once: it rejects while the server is still stopping.
    const asking = remote.ask("hang", "outage", { timeout: 60_000 }).then(
      () => assert.fail("the ask should reject"),
      (e: unknown) => e,
    );
    await service.next((l) => l.type === "entered" && l.tag === "outage", 5000, "hang entered");

    const serviceLines = service.lines.length;
    await server.stop();
    const error = await within(asking, 5000, "the ask in flight");
    assert.ok(error instanceof ConnectionLostError, String(error));
    assert.equal(error.messageName, "hang");
    const down = await within(events.next("nats-disconnected", 0), 5000, "disconnected event");
    assert.equal(down.type === "nats-disconnected" && down.failedAsks, 1);
    assert.equal(node.stats().connected, false);

    await server.restart();
    await within(events.next("nats-reconnected", 0), 10_000, "reconnected event");
    await service.next(
      (l) => l.type === "nats-reconnected",
      10_000,
      "the service reconnected",
      serviceLines,
    );
    // The service's subscription is back; the actor kept its state (core
    // mode loses only what was in flight).
    assert.equal(await remote.ask("get", undefined, { timeout: 5000 }), 1);
    const stats = node.stats();
    assert.deepEqual([stats.connected, stats.disconnects, stats.reconnects], [true, 1, 1]);
  } finally {
    await node.close();
    await events.reading;
  }
  assert.deepEqual(
    events.seen.map((e) => e.type),
    ["nats-disconnected", "nats-reconnected", "nats-closed"],
  );
});

Deno.test("an ask or tell sent while the connection is down rejects at once: nothing was sent", async () => {
  await using server = await startNatsServer();
  await using service = await Service.start(server.url, "o2", "probe", "a");
  const node = await NatsNode.connect({ servers: server.url, namespace: "o2", reconnectWait: 50 });
  const events = recorder(node);
  try {
    const remote = node.lookup<NatsProbeModule>("probe");
    assert.equal(await remote.ask("get"), 0);
    const serviceLines = service.lines.length;
    await server.stop();
    await within(events.next("nats-disconnected", 0), 5000, "disconnected event");
    const asked = await remote.ask("whoami", undefined, { timeout: 20_000 }).then(
      () => assert.fail("the ask should reject"),
      (e: unknown) => e,
    );
    assert.ok(asked instanceof ConnectionLostError, String(asked));
    assert.equal(asked.inFlight, false);
    await assert.rejects(
      remote.tell("inc", 1),
      (e: unknown) => e instanceof ConnectionLostError && !e.inFlight,
    );
    await server.restart();
    await within(events.next("nats-reconnected", 0), 10_000, "reconnected event");
    await service.next((l) => l.type === "nats-reconnected", 10_000, "service back", serviceLines);
    await remote.tell("inc", 2);
    assert.equal(await remote.ask("get", undefined, { timeout: 5000 }), 2);
  } finally {
    await node.close();
    await events.reading;
  }
});

Deno.test("close() settles while the server is down: nothing waits for a drain that cannot happen", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  const ref = await system.spawn(new URL("../../examples/actors/counter.ts", import.meta.url));
  const node = await NatsNode.connect({ servers: server.url, namespace: "o3", reconnectWait: 50 });
  const events = recorder(node);
  await node.expose("counter", ref);
  await server.stop();
  await within(events.next("nats-disconnected", 0), 5000, "disconnected event");
  await within(node.close({ timeout: 10_000 }), 5000, "close while the server is down");
  await events.reading;
  assert.equal(node.stats().connected, false);
  assert.equal(ref.stats().state, "running");
});

Deno.test("a client that gives up reconnecting closes the node for good, with one nats-closed event", async () => {
  await using server = await startNatsServer();
  const node = await NatsNode.connect({
    servers: server.url,
    namespace: "o4",
    reconnectWait: 50,
    maxReconnectAttempts: 2,
  });
  const events = recorder(node);
  const remote = node.lookup<NatsProbeModule>("probe");
  await server.stop();
  const closed = await within(events.next("nats-closed", 0), 10_000, "the client gave up");
  assert.equal(closed.type === "nats-closed" && closed.reason, "gave up reconnecting");
  await assert.rejects(remote.ask("get"), ConnectionClosedError);
  await assert.rejects(remote.tell("inc", 1), ConnectionClosedError);
  await within(node.close(), 5000, "close after the client gave up");
  await events.reading;
  assert.deepEqual(events.seen.map((e) => e.type), ["nats-disconnected", "nats-closed"]);
});
