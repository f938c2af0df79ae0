// Refs taken from a supervisor follow their `whileRestarting` policy in every
// phase of every restart: while a sibling is being stopped, during the
// backoff, while it starts again, and when a nested supervisor that gave up
// is restarted by its parent. Each phase is held open through shared memory
// (the fixture's stop hook and init wait on gates), never by sleeping.
import assert from "node:assert/strict";
import {
  type ActorRef,
  ActorRestartingError,
  ActorStoppedError,
  ActorSystem,
  type DeadLetter,
  MessageNotCloneableError,
  type RestartStrategy,
  type SupervisorSpec,
  UnknownMessageError,
} from "../mod.ts";
import type { restartActor, RestartArgs } from "./fixtures/restart_actor.ts";
import { Flags, nextEvent, within } from "./_helpers.ts";

const RESTART = new URL("./fixtures/restart_actor.ts", import.meta.url);
type Ref = ActorRef<typeof restartActor>;

/** A child running the restart fixture in shared-memory slot `slot`. */
function child(
  id: string,
  flags: Flags,
  slot: number,
  extra: Partial<RestartArgs> & { whileRestarting?: "wait" | "fail" } = {},
) {
  const { whileRestarting, ...args } = extra;
  return {
    id,
    module: RESTART,
    args: { flags: flags.buffer, slot, ...args },
    ...(whileRestarting ? { whileRestarting } : {}),
  };
}

const INCARNATIONS = 0, STOPS = 1, STOP_GATE = 2, INIT_GATE = 3;
const at = (slot: number, field: number) => slot * 4 + field;

function open(flags: Flags, slot: number, gate: number): void {
  Atomics.store(flags.view, at(slot, gate), 1);
  Atomics.notify(flags.view, at(slot, gate));
}

/** What was sent through one ref while it restarted, and what came of it. */
class Sender {
  tells: Promise<unknown>[] = [];
  asks: Promise<unknown>[] = [];
  syncThrows: unknown[] = [];
  constructor(readonly ref: Ref) {}

  /** One tell and one ask; neither may throw synchronously. */
  send(): void {
    try {
      this.tells.push(this.ref.tell("tick").then(() => "ok", (error) => error));
    } catch (error) {
      this.syncThrows.push(error);
    }
    try {
      const n = this.asks.length;
      this.asks.push(this.ref.ask("echo", n).then((value) => value, (error) => error));
    } catch (error) {
      this.syncThrows.push(error);
    }
  }

  /** Everything sent waited and was served by incarnation `incarnation`. */
  async servedBy(incarnation: number): Promise<void> {
    assert.deepEqual(this.syncThrows, [], `${this.ref.id}: tell or ask threw synchronously`);
    const tells = await within(Promise.all(this.tells), 15_000, `${this.ref.id}'s tells`);
    assert.deepEqual(tells, tells.map(() => "ok"), `${this.ref.id}'s tells`);
    const asks = await within(Promise.all(this.asks), 15_000, `${this.ref.id}'s asks`);
    assert.deepEqual(asks, asks.map((_, n) => ({ incarnation, n })), `${this.ref.id}'s asks`);
    assert.deepEqual(await this.ref.ask("ticks"), { incarnation, ticks: this.tells.length });
  }

  /** Everything sent failed with ActorRestartingError (and no tell threw). */
  async refused(): Promise<void> {
    assert.deepEqual(this.syncThrows, [], `${this.ref.id}: tell or ask threw synchronously`);
    const all = await within(
      Promise.all([...this.tells, ...this.asks]),
      15_000,
      `${this.ref.id}'s messages`,
    );
    for (const outcome of all) {
      assert.ok(outcome instanceof ActorRestartingError, `${this.ref.id}: ${outcome}`);
    }
  }
}

/**
 * Crashes child b of a, b, c under `strategy`, and sends to the refs of
 * every child being restarted in each phase: while c and then a (one-for-all
 * only) are held in their stop hooks, during the backoff, and while each is
 * held in its init. Returns the senders, and whether the backoff phase was
 * seen (no new incarnation started yet when its messages went).
 */
async function sendThroughRestart(
  strategy: RestartStrategy,
  whileRestarting: "wait" | "fail",
): Promise<{ senders: Map<string, Sender>; system: ActorSystem }> {
  const flags = new Flags();
  const hold = { holdStop: true, holdInit: true, whileRestarting };
  const system = await ActorSystem.start();
  const events = system.events();
  const spec: SupervisorSpec = {
    id: "root",
    strategy,
    backoff: { initialMs: 400, jitter: false },
    children: [child("a", flags, 0, hold), child("b", flags, 1, hold), child("c", flags, 2, hold)],
  };
  try {
    const root = await system.supervise(spec);
    const refs = { a: root.ref<typeof restartActor>("a"), b: root.ref<typeof restartActor>("b") };
    const c = root.ref<typeof restartActor>("c");
    for (const ref of [refs.a, refs.b, c]) assert.equal((await ref.ask("echo", 0)).incarnation, 1);
    const group = strategy === "one-for-all" ? [refs.a, refs.b, c] : [refs.b, c];
    const senders = new Map(group.map((ref) => [ref.id, new Sender(ref)]));
    /** Sends through the refs of `ids` (all of the group by default). */
    const sendTo = (ids = [...senders.keys()]) => ids.forEach((id) => senders.get(id)!.send());

    void refs.b.tell("crash");
    // c is stopped first (reverse order) and held in its stop hook; a still runs.
    await flags.until(at(2, STOPS), 1);
    assert.equal(c.stats().state, "restarting");
    sendTo(["b", "c"]);
    open(flags, 2, STOP_GATE);
    if (strategy === "one-for-all") {
      // Then a, while it is being stopped.
      await flags.until(at(0, STOPS), 1);
      assert.equal(refs.a.stats().state, "restarting");
      sendTo();
      open(flags, 0, STOP_GATE);
    }
    // The backoff: everyone in the group is down, nobody started again yet.
    const last = strategy === "one-for-all" ? "a" : "c";
    await nextEvent(events, (e) => e.type === "stopped" && e.id === last);
    sendTo();
    const started = [0, 1, 2].map((slot) => Atomics.load(flags.view, at(slot, INCARNATIONS)));
    assert.deepEqual(started, [1, 1, 1], "the backoff phase was over before its messages went");
    // Each starts again in order and is held in its init; those after it wait their turn.
    const order = group.map((ref) => ({ ref, slot: ["a", "b", "c"].indexOf(ref.id) }));
    for (const [i, { ref, slot }] of order.entries()) {
      await flags.until(at(slot, INCARNATIONS), 2);
      assert.equal(ref.stats().state, "restarting");
      sendTo(order.slice(i).map((o) => o.ref.id));
      open(flags, slot, INIT_GATE);
    }
    await nextEvent(events, (e) => e.type === "restarted" && e.id === "c");
    await events.return?.();
    for (const slot of [0, 1, 2]) open(flags, slot, STOP_GATE); // the final shutdown's
    return { senders, system };
  } catch (error) {
    await events.return?.();
    await system.shutdown();
    throw error;
  }
}

for (const strategy of ["one-for-all", "rest-for-one"] as const) {
  Deno.test(`${strategy}: messages to the siblings being restarted wait, in every phase`, async () => {
    const { senders, system } = await sendThroughRestart(strategy, "wait");
    try {
      for (const sender of senders.values()) await sender.servedBy(2);
    } finally {
      await system.shutdown();
    }
  });

  Deno.test(`${strategy}: with whileRestarting "fail", they fail with ActorRestartingError`, async () => {
    const { senders, system } = await sendThroughRestart(strategy, "fail");
    try {
      for (const sender of senders.values()) await sender.refused();
      for (const sender of senders.values()) {
        assert.deepEqual(await sender.ref.ask("ticks"), { incarnation: 2, ticks: 0 });
      }
    } finally {
      await system.shutdown();
    }
  });
}

Deno.test("refs into a nested supervisor that gave up keep working once its parent restarts it", async () => {
  const flags = new Flags();
  await using system = await ActorSystem.start();
  const events = system.events();
  const root = await system.supervise({
    id: "root",
    backoff: false,
    maxRestarts: 10,
    children: [
      {
        id: "sub",
        maxRestarts: 0,
        backoff: false,
        children: [
          child("x", flags, 0, { holdInit: true }),
          child("y", flags, 1, { holdStop: true }),
        ],
      },
      child("z", flags, 2),
    ],
  });
  const x = root.ref<typeof restartActor>("x"), y = root.ref<typeof restartActor>("y");
  let ended = false;
  void system.watch(x).then(() => ended = true);
  void system.watch(y).then(() => ended = true);
  const senders = [new Sender(x), new Sender(y)];
  for (let round = 1; round <= 2; round++) {
    void x.tell("crash");
    // sub gives up: it stops y (held in its stop hook) ...
    await flags.until(at(1, STOPS), round);
    senders.forEach((s) => s.send());
    open(flags, 1, STOP_GATE);
    // ... then root restarts sub: x is held in its init.
    await flags.until(at(0, INCARNATIONS), round + 1);
    senders.forEach((s) => s.send());
    assert.equal(x.stats().state, "restarting");
    assert.equal(y.stats().state, "restarting");
    open(flags, 0, INIT_GATE);
    await nextEvent(events, (e) => e.type === "restarted" && e.id === "sub");
    Atomics.store(flags.view, at(0, INIT_GATE), 0);
    Atomics.store(flags.view, at(1, STOP_GATE), 0);
    for (const sender of senders) await sender.servedBy(round + 1);
    senders.forEach((s) => (s.tells = [], s.asks = []));
  }
  assert.equal(x.stats().state, "running");
  assert.equal(y.stats().restarts, 2);
  assert.equal(root.ref("x"), x, "the same ref");
  assert.equal(ended, false, "watch() resolved though the actors never ended for good");
  open(flags, 1, STOP_GATE);
  await events.return?.();
});

Deno.test("refs into a nested supervisor survive its restart as a one-for-all sibling", async () => {
  const flags = new Flags();
  await using system = await ActorSystem.start();
  const events = system.events();
  const root = await system.supervise({
    id: "root",
    strategy: "one-for-all",
    backoff: false,
    children: [
      { id: "sub", children: [child("x", flags, 0), child("y", flags, 1)] },
      child("z", flags, 2),
    ],
  });
  const x = root.ref<typeof restartActor>("x"), y = root.ref<typeof restartActor>("y");
  void root.ref<typeof restartActor>("z").tell("crash");
  await nextEvent(events, (e) => e.type === "restarted" && e.id === "z");
  assert.deepEqual(await x.ask("echo", 1), { incarnation: 2, n: 1 });
  assert.deepEqual(await y.ask("echo", 2), { incarnation: 2, n: 2 });
  assert.equal(x.stats().state, "running");
  await events.return?.();
});

Deno.test("a deferred ask keeps its timeout while the child restarts", async () => {
  const flags = new Flags();
  await using system = await ActorSystem.start();
  const root = await system.supervise({
    id: "root",
    backoff: false,
    children: [child("a", flags, 0, { holdInit: true })],
  });
  const a = root.ref<typeof restartActor>("a");
  void a.tell("crash");
  await flags.until(at(0, INCARNATIONS), 2);
  const error = await within(
    a.ask("echo", 1, { timeout: 50 }).catch((e) => e),
    10_000,
    "the deferred ask's timeout",
  );
  assert.equal((error as DOMException).name, "TimeoutError");
  const controller = new AbortController();
  const aborted = a.ask("echo", 2, { signal: controller.signal }).catch((e) => e);
  const reason = new Error("no longer needed");
  controller.abort(reason);
  assert.equal(await within(aborted, 10_000, "the deferred ask's abort"), reason);
  open(flags, 0, INIT_GATE);
  assert.deepEqual(await a.ask("echo", 3), { incarnation: 2, n: 3 });
});

Deno.test("a ref whose supervisor is gone: tell rejects (never throws) and is a dead letter", async () => {
  const flags = new Flags();
  const letters: DeadLetter[] = [];
  await using system = await ActorSystem.start({ onDeadLetter: (l) => letters.push(l) });
  const root = await system.supervise({ id: "root", children: [child("a", flags, 0)] });
  const a = root.ref<typeof restartActor>("a");
  await root.stop();
  assert.equal(a.stats().state, "stopped");
  let told: Promise<void> | undefined;
  assert.doesNotThrow(() => told = a.tell("tick"));
  await assert.rejects(told!, ActorStoppedError);
  // Not awaited: no unhandled rejection (the test would fail), a dead letter all the same.
  void a.tell("tick");
  await assert.rejects(a.ask("echo", 1), ActorStoppedError);
  assert.equal(letters.length, 2);
  assert.deepEqual(letters[0], {
    actorId: "a",
    messageName: "tick",
    reason: "actor stopped",
    count: 1,
  });
});

Deno.test("messages held for a restart that never comes fail with ActorStoppedError", async () => {
  const flags = new Flags();
  const letters: DeadLetter[] = [];
  await using system = await ActorSystem.start({ onDeadLetter: (l) => letters.push(l) });
  const events = system.events();
  const root = await system.supervise({
    id: "root",
    backoff: { initialMs: 60_000, maxMs: 60_000, jitter: false },
    children: [child("a", flags, 0)],
  });
  const a = root.ref<typeof restartActor>("a");
  void a.tell("crash");
  await nextEvent(events, (e) => e.type === "crashed" && e.id === "a");
  // In its 60 s backoff: held, until the supervisor stops instead.
  const told = a.tell("tick");
  const asked = a.ask("echo", 1);
  assert.equal(a.stats().waiting, 2);
  await within(root.stop(), 10_000, "the stop during the backoff");
  await assert.rejects(told, ActorStoppedError);
  await assert.rejects(asked, ActorStoppedError);
  // The tell that crashed it is a dead letter too (issue 16.11), then the held one.
  assert.deepEqual(letters.map((l) => [l.messageName, l.reason]), [
    ["crash", "actor ended (error) while handling it"],
    ["tick", "actor stopped"],
  ]);
  assert.equal((await system.watch(a)).reason, "error");
  await events.return?.();
});

Deno.test("a supervised ref's tell rejects bad input instead of throwing it", async () => {
  const flags = new Flags();
  await using system = await ActorSystem.start();
  const root = await system.supervise({ id: "root", children: [child("a", flags, 0)] });
  const a = root.ref<typeof restartActor>("a");
  let unknown: Promise<void> | undefined, uncloneable: Promise<void> | undefined;
  assert.doesNotThrow(() => unknown = a.tell("nope" as "tick"));
  assert.doesNotThrow(() =>
    uncloneable = (a.tell as (n: string, p: unknown) => Promise<void>)(
      "tick",
      { f: () => {} },
    )
  );
  await assert.rejects(unknown!, UnknownMessageError);
  await assert.rejects(uncloneable!, MessageNotCloneableError);
  assert.deepEqual(await a.ask("ticks"), { incarnation: 1, ticks: 0 });
});

Deno.test("refs into a temporary nested supervisor that gave up stop for good with it", async () => {
  const flags = new Flags();
  await using system = await ActorSystem.start();
  const events = system.events();
  const root = await system.supervise({
    id: "root",
    children: [
      { id: "sub", restart: "temporary", maxRestarts: 0, children: [child("x", flags, 0)] },
      child("z", flags, 1),
    ],
  });
  const x = root.ref<typeof restartActor>("x");
  const watched = system.watch(x);
  void x.tell("crash");
  await nextEvent(events, (e) => e.type === "gave-up" && e.id === "sub");
  assert.equal((await within(watched, 10_000, "x ends for good")).reason, "error");
  assert.equal(x.stats().state, "stopped");
  await assert.rejects(x.tell("tick"), ActorStoppedError);
  assert.deepEqual(await root.ref<typeof restartActor>("z").ask("echo", 1), {
    incarnation: 1,
    n: 1,
  });
  assert.equal(system.stats().events.restarted ?? 0, 0);
  await events.return?.();
});
