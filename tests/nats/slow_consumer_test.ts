// A name whose actor is slower than its callers: past `maxPending` requests
// in hand, the exposure refuses the newest (an ask gets `MailboxFullError`,
// a tell is a dead letter), counts each in `stats().dropped`, and says so in
// `nats-slow-consumer` events: one at the first drop, then at most one a
// second with the drops since the last. On both serving paths.
import assert from "node:assert/strict";
import { ActorSystem, MailboxFullError } from "../../mod.ts";
import { type ClusterEvent, NatsNode } from "../../actors/cluster/mod.ts";
import type { probe } from "../fixtures/probe_actor.ts";
import { Flags, within } from "../_helpers.ts";
import { startNatsServer } from "./_server.ts";
import { eventsOf } from "./_events.ts";

const PROBE = new URL("../fixtures/probe_actor.ts", import.meta.url);

type SlowEvent = Extract<ClusterEvent, { type: "nats-slow-consumer" }>;

for (const inActor of [false, true]) {
  const path = inActor ? "the actor's thread" : "the node's thread";
  Deno.test(`served from ${path}: drops past maxPending are counted and reported as nats-slow-consumer, at most one event a second`, async () => {
    await using server = await startNatsServer();
    await using system = await ActorSystem.start();
    const flags = new Flags();
    const ref = await system.spawn<typeof probe>(PROBE, { args: { flags: flags.buffer } });
    const namespace = `slow${inActor ? "a" : "n"}`;
    await using serving = await NatsNode.connect({ servers: server.url, namespace });
    const events = eventsOf(serving);
    await using exposure = await serving.expose("probe", ref, { maxPending: 4, inActor });
    if (inActor) {
      const moved = await within(events.until("nats-served-in-actor"), 15_000, "the move");
      assert.equal((moved as { serving: boolean }).serving, true);
    }
    await using node = await NatsNode.connect({ servers: server.url, namespace });
    const remote = node.lookup<typeof probe>("probe");
    try {
      // The actor waits in the first; three more wait behind it: four in hand.
      const held = [
        remote.ask("enter", undefined, { timeout: 15_000 }),
        ...Array.from({ length: 3 }, () => remote.ask("get", undefined, { timeout: 15_000 })),
      ];
      await flags.until(3, 1);
      await within(
        (async () => {
          while (exposure.stats().pending < 4) await new Promise((r) => setTimeout(r, 5));
        })(),
        15_000,
        "four requests in hand",
      );
      const refused = await Promise.allSettled(
        Array.from({ length: 6 }, () => remote.ask("get", undefined, { timeout: 15_000 })),
      );
      for (const result of refused) {
        assert.equal(result.status, "rejected");
        assert.ok(result.reason instanceof MailboxFullError, String(result.reason));
      }
      // Tells too: each refused one is a dead letter, and a drop.
      await Promise.all(Array.from({ length: 3 }, () => remote.tell("inc", 1)));
      // The tells were sent before this ask, on one connection: refused before it is.
      await assert.rejects(remote.ask("get", undefined, { timeout: 15_000 }), MailboxFullError);
      const stats = exposure.stats();
      assert.equal(stats.dropped, 10);
      assert.equal(stats.failed, 7);
      assert.equal(stats.deadLetters, 3);
      // The first drop is reported at once; the rest within the next second.
      const first = await within(events.until("nats-slow-consumer"), 15_000, "the first event");
      assert.equal((first as SlowEvent).name, "probe");
      assert.equal((first as SlowEvent).pending, 4);
      const reported = () =>
        events.seen.filter((e): e is SlowEvent => e.type === "nats-slow-consumer")
          .reduce((sum, e) => sum + e.dropped, 0);
      await within(events.until("nats-slow-consumer", 2), 15_000, "the second event");
      assert.equal(reported(), stats.dropped);
      const slow = events.seen.filter((e): e is SlowEvent => e.type === "nats-slow-consumer");
      assert.equal(slow.length, 2, JSON.stringify(slow));
      assert.ok(slow[1]!.time - slow[0]!.time >= 900, JSON.stringify(slow));
      flags.open();
      await Promise.all(held);
    } finally {
      flags.open();
    }
  });
}
