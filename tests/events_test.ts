import assert from "node:assert/strict";
import { EventHub } from "../actors/core/event_hub.ts";
import { ActorSystem, type LifecycleEvent } from "../mod.ts";
import { within } from "./_helpers.ts";

const started = (id: string): LifecycleEvent => ({ type: "started", id, host: "worker", time: 0 });

Deno.test("a subscriber that falls behind keeps the oldest events and the loss is counted", async () => {
  const hub = new EventHub(2);
  const events = hub.subscribe(undefined);
  for (const id of ["a", "b", "c", "d", "e"]) hub.emit(started(id));
  assert.equal(hub.dropped, 3);
  assert.equal(hub.counts.started, 5);
  assert.equal((await events.next()).value?.id, "a");
  assert.equal((await events.next()).value?.id, "b");
  hub.emit(started("f"));
  assert.equal((await events.next()).value?.id, "f");
  hub.close();
  assert.equal((await events.next()).done, true);
});

Deno.test("an aborted subscription ends and receives no more events", async () => {
  const hub = new EventHub();
  const controller = new AbortController();
  const events = hub.subscribe(controller.signal);
  hub.emit(started("a"));
  controller.abort();
  hub.emit(started("b"));
  assert.equal((await events.next()).value?.id, "a");
  assert.equal((await events.next()).done, true);
  assert.equal(hub.dropped, 0);
});

Deno.test("a supervisor's crash record names the message its child was handling", async () => {
  await using system = await ActorSystem.start({ onDeadLetter: () => {} });
  const events = system.events();
  const root = await system.supervise({
    id: "root",
    maxRestarts: 0,
    backoff: false,
    restart: "temporary",
    children: [{
      id: "child",
      module: new URL("./fixtures/conformance_actor.ts", import.meta.url).href,
    }],
  });
  root.ref("child").tell("crashSoon");
  const gaveUp = await within(
    (async () => {
      for await (const event of events) if (event.type === "gave-up") return event;
      return undefined;
    })(),
    10_000,
    "the supervisor to give up",
  );
  assert.deepEqual(gaveUp?.crashes.map((c) => [c.id, c.reason, c.handling]), [
    ["child", "error", ["crashSoon"]],
  ]);
});
