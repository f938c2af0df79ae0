// A child that crashes while its supervisor is still starting the others (a
// nested supervisor restarted by its parent starts its children one by one)
// is handled once that start is over, in the supervisor's one queue of
// decisions. Found by the supervision stress (F26): handled at once, the
// supervisor gave up in the middle of its own start, halted the children
// started so far, and then went on starting the rest; those ran under a
// stopped supervisor, never stopped, their ids taken, so every later restart
// failed and their refs stayed "restarting" for good. The start in progress
// is held open through shared memory (the fixture's init gate), never by
// sleeping. A one-for-all restart racing that start started the same child
// twice (the second spawn failed: its id was taken by the first).
import assert from "node:assert/strict";
import { type ActorRef, ActorSystem, type LifecycleEvent } from "../mod.ts";
import type { restartActor } from "./fixtures/restart_actor.ts";
import { eventually, Flags, within } from "./_helpers.ts";

const RESTART = new URL("./fixtures/restart_actor.ts", import.meta.url);
type Ref = ActorRef<typeof restartActor>;
const INCARNATIONS = 0, INIT_GATE = 3;
const at = (slot: number, field: number) => slot * 4 + field;

Deno.test("a crash while a restarted nested supervisor starts its children is handled after that start", async () => {
  const flags = new Flags();
  const system = await ActorSystem.start();
  const events = system.events();
  const seen: LifecycleEvent[] = [];
  const watching = (async () => {
    for await (const event of events) seen.push(event);
  })();
  try {
    const root = await system.supervise({
      id: "root",
      maxRestarts: 5,
      backoff: false,
      children: [{
        id: "inner",
        maxRestarts: 0,
        backoff: false,
        children: [
          { id: "a", module: RESTART, args: { flags: flags.buffer, slot: 0 } },
          // Its incarnations after the first wait in init until the gate opens.
          { id: "b", module: RESTART, args: { flags: flags.buffer, slot: 1, holdInit: true } },
        ],
      }],
    });
    const a = root.ref<typeof restartActor>("a");
    const b = root.ref<typeof restartActor>("b");
    const incarnations = (slot: number) => Atomics.load(flags.view, at(slot, INCARNATIONS));

    // "inner" gives up at the first crash; "root" restarts it, and its start
    // waits in b's second init, with a up again.
    await a.tell("crash");
    await eventually(() => incarnations(1) === 2, 10_000, "b's second init");
    assert.equal(a.stats().state, "running");
    // a crashes while "inner" still starts b: its exit must wait for that start.
    await a.tell("crash");
    await eventually(() => a.stats().state === "restarting", 10_000, "a's crash seen");
    Atomics.store(flags.view, at(1, INIT_GATE), 1);
    Atomics.notify(flags.view, at(1, INIT_GATE));

    // Then "inner" gives up a second time, is restarted, and both refs answer.
    const answers = async (ref: Ref) => (await ref.ask("echo", 1)).n;
    assert.equal(await within(answers(a), 10_000, "a answers"), 1);
    assert.equal(await within(answers(b), 10_000, "b answers"), 1);
    await eventually(
      () => seen.filter((e) => e.type === "gave-up" && e.id === "inner").length === 2,
      10_000,
      "inner's second give-up",
    );
    // One incarnation of each runs: none was left behind by the halted start.
    assert.equal(system.stats().actors, 2);
    assert.equal(a.stats().state, "running");
    assert.equal(b.stats().state, "running");
    await within(root.stop(), 10_000, "the stop");
    assert.equal(system.stats().actors, 0);
  } finally {
    const result = await system.shutdown({ timeout: 5000 });
    await watching;
    assert.equal(result.clean, true, JSON.stringify(result));
  }
});

Deno.test("a one-for-all restart waits for a nested supervisor's start instead of starting a child twice", async () => {
  const flags = new Flags();
  const system = await ActorSystem.start();
  const events = system.events();
  const gaveUp: string[] = [];
  const watching = (async () => {
    for await (const event of events) if (event.type === "gave-up") gaveUp.push(event.id);
  })();
  const gate = (open: boolean) => {
    Atomics.store(flags.view, at(1, INIT_GATE), open ? 1 : 0);
    Atomics.notify(flags.view, at(1, INIT_GATE));
  };
  try {
    const root = await system.supervise({
      id: "root",
      maxRestarts: 5,
      backoff: false,
      children: [{
        id: "inner",
        strategy: "one-for-all",
        maxRestarts: 1,
        periodMs: 60_000,
        backoff: false,
        children: [
          { id: "a", module: RESTART, args: { flags: flags.buffer, slot: 0 } },
          { id: "b", module: RESTART, args: { flags: flags.buffer, slot: 1, holdInit: true } },
        ],
      }],
    });
    const a = root.ref<typeof restartActor>("a");
    const b = root.ref<typeof restartActor>("b");
    const incarnations = (slot: number) => Atomics.load(flags.view, at(slot, INCARNATIONS));
    const answers = async (ref: Ref) => (await ref.ask("echo", 1)).incarnation;

    // The first crash: "inner" restarts both; b's second init passes the gate.
    await a.tell("crash");
    await eventually(() => incarnations(1) === 2, 10_000, "b's second init");
    gate(true);
    assert.equal(await within(answers(b), 10_000, "b answers"), 2);
    gate(false);
    // The second: "inner" gives up, "root" restarts it, and its start waits in b's init.
    await a.tell("crash");
    await eventually(() => incarnations(1) === 3, 10_000, "b's third init");
    assert.equal(a.stats().state, "running");
    // The third is the first of the new "inner": a one-for-all restart, once
    // the start is over. Racing it, the restart started b a second time, that
    // failed (its id was taken), and "inner" gave up again.
    await a.tell("crash");
    await eventually(() => a.stats().state === "restarting", 10_000, "a's crash seen");
    gate(true);

    assert.equal(await within(answers(a), 10_000, "a answers"), 4);
    assert.equal(await within(answers(b), 10_000, "b answers"), 4);
    await within(root.stop(), 10_000, "the stop");
    assert.equal(system.stats().actors, 0);
    assert.deepEqual([incarnations(0), incarnations(1)], [4, 4]);
  } finally {
    const result = await system.shutdown({ timeout: 5000 });
    await watching;
    assert.equal(result.clean, true, JSON.stringify(result));
  }
  assert.deepEqual(gaveUp, ["inner"], "inner gave up once");
});
