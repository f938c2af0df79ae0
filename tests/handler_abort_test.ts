// A handler sees its caller give up: `ctx.signal` aborts when the ask's
// signal aborts or its timeout passes, on every host and transport.
import assert from "node:assert/strict";
import { type ActorContext, ActorSystem } from "../mod.ts";
import { ServedCalls } from "../actors/core/_served_calls.ts";
import type { calls } from "./fixtures/calls_actor.ts";
import { CALLS_ACTOR, CALLS_TARGETS } from "./_calls_matrix.ts";

for (const target of CALLS_TARGETS) {
  const name = `${target.transport} on ${target.host}`;

  Deno.test(`[${name}] a handler's ctx.signal aborts when its caller's signal or timeout gives up`, async () => {
    await using system = await ActorSystem.start();
    const ref = await system.spawn<typeof calls>(CALLS_ACTOR, target);
    // The caller's own signal.
    const controller = new AbortController();
    const asked = ref.ask("hang", undefined, { signal: controller.signal });
    assert.equal(await ref.ask("whenStarted", 1, { timeout: 5000 }), 1);
    controller.abort();
    await assert.rejects(asked, { name: "AbortError" });
    assert.deepEqual(await ref.ask("whenAborted", 1, { timeout: 5000 }), ["AbortError"]);
    // The ask's timeout.
    // Long enough for the handler to start: the timeout is not what is measured.
    const timed = ref.ask("hang", undefined, { timeout: 1000 });
    assert.equal(await ref.ask("whenStarted", 2, { timeout: 5000 }), 2);
    await assert.rejects(timed, { name: "TimeoutError" });
    assert.deepEqual(await ref.ask("whenAborted", 2, { timeout: 5000 }), [
      "AbortError",
      "TimeoutError",
    ]);
    // A plain ask's signal is the actor's, which only the stop aborts.
    assert.equal(await ref.ask("signalAborted"), false);
    assert.equal(await ref.ask("signalAborted", undefined, { timeout: 5000 }), false);
  });
}

Deno.test("a cancel for an ask that already finished is ignored", async () => {
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof calls>(CALLS_ACTOR);
  const controller = new AbortController();
  assert.equal(await ref.ask("signalAborted", undefined, { signal: controller.signal }), false);
  controller.abort();
  // The actor keeps answering, and no later call's signal is aborted by it.
  assert.equal(await ref.ask("signalAborted", undefined, { timeout: 5000 }), false);
  assert.equal(await ref.ask("signalAborted"), false);
});

Deno.test("an ask given up before its handler started never runs it", async () => {
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof calls>(CALLS_ACTOR, { capacity: 8 });
  // Fill the actor's eight slots (seven hanging asks and one that waits for
  // an eighth start), then give up on an ask while it waits in the mailbox.
  const hangs = Array.from({ length: 7 }, () => new AbortController());
  const pending = hangs.map((c) => ref.ask("hang", undefined, { signal: c.signal }));
  assert.equal(await ref.ask("whenStarted", 7, { timeout: 5000 }), 7);
  const queued = new AbortController();
  // The eighth slot is taken by a whenStarted that waits for an eighth start.
  const blocker = ref.ask("whenStarted", 8);
  const waiting = ref.ask("hang", undefined, { signal: queued.signal });
  queued.abort();
  await assert.rejects(waiting, { name: "AbortError" });
  for (const c of hangs) c.abort();
  for (const p of pending) await assert.rejects(p, { name: "AbortError" });
  // Seven handlers saw their abort; the queued one never ran, so it recorded none.
  assert.equal((await ref.ask("whenAborted", 7, { timeout: 5000 })).length, 7);
  assert.equal(await ref.ask("whenStarted", 0), 7);
  // An eighth start lets the blocker go, so the actor stops at once.
  const last = new AbortController();
  const eighth = ref.ask("hang", undefined, { signal: last.signal });
  assert.equal(await blocker, 8);
  last.abort();
  await assert.rejects(eighth, { name: "AbortError" });
});

Deno.test("the actor's side ignores a cancel for a finished call, and keeps one that overtook its call", () => {
  const stop = new AbortController();
  const base = { id: "a", signal: stop.signal } as unknown as ActorContext;
  const served = new ServedCalls(base);
  served.open(1);
  const first = served.ctx(1).signal;
  served.close(1);
  // Finished: the cancel changes nothing, and leaves nothing behind.
  served.cancel(1, "AbortError");
  assert.equal(first.aborted, false);
  // A cancel for a call still waiting in the sender for room arrives first.
  served.cancel(3, "TimeoutError");
  served.open(3);
  assert.equal(served.ctx(3).signal.aborted, true);
  assert.equal((served.ctx(3).signal.reason as DOMException).name, "TimeoutError");
  // A call nobody can cancel gets the actor's own context.
  assert.equal(served.ctx(2), base);
  // The actor stopping aborts every open call.
  served.open(4);
  stop.abort(new Error("actor stopping"));
  assert.equal((served.ctx(4).signal.reason as Error).message, "actor stopping");
});
