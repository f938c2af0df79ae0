// A node connected with `{ system }` reports its cluster events in the
// system's own `events()` too, beside the actors' lifecycle: one loop sees an
// actor start, the broker go away and come back, and the node close.
import assert from "node:assert/strict";
import { ActorSystem, type LifecycleEvent } from "../../mod.ts";
import { NatsNode } from "../../actors/cluster/mod.ts";
import type { natsProbe } from "../fixtures/nats_actor.ts";
import { within } from "../_helpers.ts";
import { startNatsServer } from "./_server.ts";

Deno.test("system.events() reports a node's disconnect, reconnect and close beside the actors' lifecycle", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  const seen: LifecycleEvent[] = [];
  const waiters: { test: (e: LifecycleEvent) => boolean; resolve: () => void }[] = [];
  const reading = (async () => {
    for await (const event of system.events()) {
      seen.push(event);
      for (const waiter of waiters.filter((w) => w.test(event))) waiter.resolve();
    }
  })();
  const seenOne = (test: (e: LifecycleEvent) => boolean, what: string) => {
    if (seen.some(test)) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    waiters.push({ test, resolve });
    return within(promise, 10_000, what);
  };

  const node = await NatsNode.connect({ servers: server.url, system, reconnectWait: 50 });
  const probe = await system.spawn<typeof natsProbe>(
    new URL("../fixtures/nats_actor.ts", import.meta.url),
    { id: "probe", args: { label: "events" } },
  );
  await node.expose("probe", probe);
  await seenOne((e) => e.type === "started" && e.id === "probe", "the actor's start");

  await server.stop();
  await seenOne((e) => e.type === "nats-disconnected", "the disconnect");
  await server.restart();
  await seenOne((e) => e.type === "nats-reconnected", "the reconnect");
  // Served again after the reconnect.
  const remote = node.lookup<typeof import("../fixtures/nats_actor.ts")>("probe");
  assert.equal(await remote.ask("echo", 7, { timeout: 5000 }), 7);

  await node.close();
  await seenOne((e) => e.type === "nats-closed", "the close");
  assert.deepEqual(
    seen.filter((e) => e.type.startsWith("nats-")).map((e) => e.type),
    ["nats-disconnected", "nats-reconnected", "nats-closed"],
  );
  assert.equal(system.stats().events["nats-reconnected"], 1);
  await system.shutdown();
  await within(reading, 5000, "the event loop ends with the system");
});

Deno.test("a node refuses a system option that is not an ActorSystem", async () => {
  const notASystem = { events: () => ({}) } as never;
  await assert.rejects(
    NatsNode.connect({ servers: "nats://127.0.0.1:1", system: notASystem }),
    (error: unknown) =>
      error instanceof TypeError && /system must be an ActorSystem/.test(error.message),
  );
});
