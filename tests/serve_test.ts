// serve(), the actor's side of the protocol, in this thread: the test plays
// the parent on the other end of a queue transport pair.
import assert from "node:assert/strict";
import { serve, type ServeControl } from "../actors/core/serve.ts";
import { type ActorContext, defineActor, type Handlers } from "../actors/core/define_actor.ts";
import * as wire from "../actors/core/protocol.ts";
import { queueTransportPair } from "../transports/queue.ts";
import type { Transport } from "../transports/transport.ts";
import type { RemoteErrorInfo } from "../internal/errors.ts";
import { deferred, type Message, Peer, soon } from "./_channel.ts";

function bootMessage(capacity: number): wire.BootMessage {
  return {
    actorId: "served",
    module: "test:served",
    exportName: undefined,
    args: { start: 0 },
    capacity,
    heartbeatMs: 0,
    owner: 1,
    semaphores: {},
    liveness: undefined,
  };
}

interface Served {
  /** The test's end: it plays the parent. */
  parent: Peer;
  control: ServeControl;
  /** Resolves when serve() calls its `onEnd`. */
  ended: Promise<void>;
}

interface ServeOptions {
  capacity?: number;
  init?: (args: unknown, ctx: ActorContext) => unknown;
  stop?: (state: unknown, ctx: ActorContext) => void | Promise<void>;
  concurrency?: number;
  /** Wraps the actor's end of the channel (to make its sends fail, say). */
  wrap?: (transport: Transport) => Transport;
}

/** Serves an actor with `handlers` and returns the parent's end, after READY. */
async function served(handlers: Handlers<unknown>, options: ServeOptions = {}): Promise<Served> {
  const [parentEnd, actorEnd] = queueTransportPair();
  const parent = new Peer(parentEnd);
  const ended = deferred();
  const actor = defineActor<unknown, unknown>({
    handlers,
    ...(options.init ? { init: options.init } : {}),
    ...(options.stop ? { stop: options.stop } : {}),
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
  });
  const control = serve(
    bootMessage(options.capacity ?? 64),
    options.wrap?.(actorEnd) ?? actorEnd,
    () => ended.resolve(),
    { actor },
  );
  assert.deepEqual(await parent.next("READY"), [wire.READY, Object.keys(handlers)]);
  return { parent, control, ended: ended.promise };
}

/** Stops the actor through its sentinel and waits for it to end. */
async function stopped({ parent, ended }: Served): Promise<Message[]> {
  parent.send([wire.STOP]);
  await parent.untilClosed("the actor to close the channel after its sentinel");
  await soon(ended, "onEnd");
  return parent.messages.rest();
}

function errorOf(message: Message, at: number): RemoteErrorInfo {
  return message[at] as RemoteErrorInfo;
}

Deno.test("serve() handles tells, runs of tells and asks one at a time, in arrival order", async () => {
  const seen: unknown[] = [];
  const actor = await served({
    note(_state, n: number) {
      seen.push(n);
    },
    async slow(_state, n: number) {
      await null;
      seen.push(n);
    },
    seen: () => [...seen],
  });
  actor.parent.send(
    [wire.TELL, "note", 1],
    [wire.ASK, 1, "slow", 2],
    [wire.TELLS, "note", [3, 4]],
    [wire.TELL, "slow", 5],
    [wire.ASK, 2, "seen"],
  );
  const replies = await actor.parent.take(3, "two replies and a credit");
  assert.deepEqual(replies, [[wire.REPLY, 1], [wire.REPLY, 2, [1, 2, 3, 4, 5]], [wire.CREDIT, 6]]);
  assert.deepEqual(await stopped(actor), [[wire.BYE]]);
});

Deno.test("serve() sends each reply before the next handler starts, and the credit with the last", async () => {
  const actor = await served({ double: (_state, n: number) => n * 2 });
  actor.parent.send(...[1, 2, 3].map((n) => [wire.ASK, n, "double", n]));
  await actor.parent.take(4, "three replies and a credit");
  assert.deepEqual(actor.parent.batches.slice(-3), [
    [[wire.REPLY, 1, 2]],
    [[wire.REPLY, 2, 4]],
    [[wire.REPLY, 3, 6], [wire.CREDIT, 3]],
  ]);
  await stopped(actor);
});

Deno.test("serve() lets replies wait, to leave together, only for a handler known to be short", async () => {
  const actor = await served({ double: (_state, n: number) => n * 2 });
  // Each run under the bound counts; from the fourth on, replies wait for the next one.
  for (let round = 0; round < 2; round++) {
    actor.parent.send(...[1, 2, 3, 4, 5, 6].map((n) => [wire.ASK, n, "double", n]));
    await actor.parent.take(7, "six replies and a credit");
  }
  const last = actor.parent.batches.at(-1)!;
  assert.ok(last.length > 2, `the last round's replies were not batched: ${JSON.stringify(last)}`);
  await stopped(actor);
});

/**
 * An actor whose `work` handler holds the thread for `ms` milliseconds, then
 * answers `n`; `round(runs)` sends asks of `[n, ms]` in one batch, waits for
 * their replies and the credit, and returns the last ask's id.
 */
async function workRounds() {
  const work = (_state: unknown, [n, ms]: [number, number]) => {
    const until = performance.now() + ms;
    while (performance.now() < until) { /* held */ }
    return n;
  };
  const actor = await served({ work });
  let id = 0;
  const round = async (runs: [number, number][]) => {
    const asks = runs.map((run) => [wire.ASK, ++id, "work", run]);
    actor.parent.send(...asks);
    await actor.parent.take(asks.length + 1, "the replies and a credit");
    return id;
  };
  return { actor, round };
}

Deno.test("serve() trusts a handler that once held the thread for long only after many more short runs", async () => {
  const { actor, round } = await workRounds();
  await round(Array.from({ length: 6 }, (_, i) => [i, 0])); // known short now
  await round([[0, 0], [1, 5]]); // the prediction fails once: that reply waited for the 5 ms
  await round(Array.from({ length: 6 }, (_, i) => [i, 0])); // short again, six times
  const last = await round([[0, 0], [1, 5]]);
  // Six short runs after a long one are not enough to hold a reply again.
  const batch = actor.parent.batches.find((b) =>
    b.some((m) => m[0] === wire.REPLY && m[1] === last - 1)
  );
  assert.ok(
    !batch!.some((m) => m[0] === wire.REPLY && m[1] === last),
    `the reply waited for the long run after it: ${JSON.stringify(batch)}`,
  );
  await stopped(actor);
});

Deno.test("serve() trusts a handler again after four short runs when its one long run was under a millisecond", async () => {
  const { actor, round } = await workRounds();
  await round(Array.from({ length: 6 }, (_, i) => [i, 0])); // known short now
  // A pause of 0.2 ms, as a scavenge or a busy core makes: the count starts again, no more, so
  // six fast runs later the replies batch again. A loaded machine can make one of those runs
  // slow itself, so the pair of rounds gets three tries; had the pause counted as a miss, each
  // try would raise the runs needed (16, 64, 256) and none would batch.
  const lasts: unknown[][] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    await round([[0, 0], [1, 0.2]]);
    await round(Array.from({ length: 6 }, (_, i) => [i, 0]));
    lasts.push(actor.parent.batches.at(-1)!);
    if (lasts.at(-1)!.length > 2) break;
  }
  assert.ok(
    lasts.at(-1)!.length > 2,
    `the last round's replies were not batched, in ${lasts.length} tries: ${JSON.stringify(lasts)}`,
  );
  await stopped(actor);
});

Deno.test("serve() hands a reply to the channel, flushed, before a handler that holds the thread starts", async () => {
  const log: string[] = [];
  /** Records sends and flushes, as a stream transport would see them. */
  const recording = (transport: Transport): Transport => ({
    name: transport.name,
    send(messages, hints) {
      for (const m of messages as Message[]) if (m[0] === wire.REPLY) log.push(`send ${m[2]}`);
      return transport.send(messages, hints);
    },
    flush() {
      log.push("flush");
      // As a stream's write does: it leaves once the thread is back in its event loop.
      return new Promise<void>((resolve) => setTimeout(resolve, 0));
    },
    receive: () => transport.receive(),
    close: () => transport.close(),
    stats: () => transport.stats(),
  });
  const actor = await served({
    quick: () => "quick",
    async later() {
      await new Promise((resolve) => setTimeout(resolve, 0));
      return "later";
    },
    hold() {
      log.push("hold");
      return "held";
    },
  }, { wrap: recording });
  actor.parent.send([wire.ASK, 1, "quick"], [wire.ASK, 2, "hold"], [wire.ASK, 3, "later"], [
    wire.ASK,
    4,
    "hold",
  ]);
  const replies = await actor.parent.take(5, "four replies and a credit");
  assert.deepEqual(replies.map((m) => m.slice(1)), [
    [1, "quick"],
    [2, "held"],
    [3, "later"],
    [4, "held"],
    [4],
  ]);
  // (A flush may come first: READY was sent before.)
  assert.deepEqual(log.slice(log.indexOf("send quick")), [
    "send quick",
    "flush",
    "hold",
    "send held",
    "flush",
    "send later",
    "flush",
    "hold",
    "send held",
  ]);
  await stopped(actor);
});

Deno.test("serve() batches credits across handlers: a run of tells sends no batch per tell", async () => {
  const actor = await served({ note: () => {} }, { capacity: 64 });
  const before = actor.parent.batches.length;
  actor.parent.send(...Array.from({ length: 6 }, (_, i) => [wire.TELL, "note", i]));
  assert.deepEqual(await actor.parent.next("the credit"), [wire.CREDIT, 6]);
  assert.equal(actor.parent.batches.length, before + 1);
  await stopped(actor);
});

Deno.test("serve() fails an ask whose handler throws and reports a throwing tell as a dead letter", async () => {
  const actor = await served({
    boom() {
      throw new RangeError("boom");
    },
    async later() {
      await null;
      throw new TypeError("later");
    },
    ok: () => "still running",
  });
  actor.parent.send(
    [wire.ASK, 1, "boom"],
    [wire.ASK, 2, "later"],
    [wire.TELL, "boom"],
    [wire.ASK, 3, "ok"],
  );
  const [fail, failLater, dead, reply, credit] = await actor.parent.take(5, "the answers");
  assert.deepEqual([fail![0], fail![1], fail![3]], [wire.FAIL, 1, false]);
  assert.deepEqual([errorOf(fail!, 2).name, errorOf(fail!, 2).message], ["RangeError", "boom"]);
  assert.deepEqual([failLater![0], failLater![1], errorOf(failLater!, 2).message], [
    wire.FAIL,
    2,
    "later",
  ]);
  assert.deepEqual(dead, [wire.DEAD_LETTER, "boom", "handler threw boom"]);
  assert.deepEqual(reply, [wire.REPLY, 3, "still running"]);
  assert.deepEqual(credit, [wire.CREDIT, 4]);
  await stopped(actor);
});

Deno.test("serve() fails an ask to an unknown name as unknown and reports an unknown tell as a dead letter", async () => {
  const actor = await served({ known: () => 1 });
  // Own properties only: a name on Object.prototype is no handler either.
  actor.parent.send([wire.ASK, 1, "missing"], [wire.TELL, "toString", 1], [wire.ASK, 2, "known"]);
  const [fail, dead, reply, credit] = await actor.parent.take(4, "the answers");
  assert.deepEqual([fail![0], fail![1], fail![3]], [wire.FAIL, 1, true]);
  assert.deepEqual(dead, [wire.DEAD_LETTER, "toString", "unknown message"]);
  assert.deepEqual(reply, [wire.REPLY, 2, 1]);
  assert.deepEqual(credit, [wire.CREDIT, 3]);
  await stopped(actor);
});

Deno.test("serve() credits every eighth of its capacity mid-batch and the rest once the mailbox is empty", async () => {
  const actor = await served({ note() {} }, { capacity: 16 });
  actor.parent.send(...[1, 2, 3, 4, 5].map((n) => [wire.TELL, "note", n]));
  assert.deepEqual(await actor.parent.take(3, "the credits"), [
    [wire.CREDIT, 2],
    [wire.CREDIT, 2],
    [wire.CREDIT, 1],
  ]);
  // The first credit left at once, in a batch of its own, before the batch was handled.
  assert.deepEqual(actor.parent.batches.at(-3), [[wire.CREDIT, 2]]);
  await stopped(actor);
});

Deno.test("serve() handles a run of tells one by one: a throw is a dead letter and the run goes on, an async one holds the next", async () => {
  const seen: unknown[] = [];
  const actor = await served({
    note(_state, n: number) {
      seen.push(n);
      if (n === 2) throw new RangeError("two");
    },
    async slow(_state, n: number) {
      await null;
      await null;
      seen.push(n);
    },
    seen: () => [...seen],
  });
  actor.parent.send(
    [wire.TELLS, "note", [1, 2, 3]],
    [wire.TELLS, "slow", [4, 5]],
    [wire.TELLS, "note", [6, 7]],
    [wire.TELLS, "missing", [8, 9]],
    [wire.ASK, 1, "seen"],
  );
  const answers = await actor.parent.take(4, "answers and credits");
  const rest = await stopped(actor);
  const all = [...answers, ...rest].filter((m) => m[0] !== wire.CREDIT && m[0] !== wire.BYE);
  assert.deepEqual(all, [
    [wire.DEAD_LETTER, "note", "handler threw two"],
    [wire.DEAD_LETTER, "missing", "unknown message"],
    [wire.DEAD_LETTER, "missing", "unknown message"],
    [wire.REPLY, 1, [1, 2, 3, 4, 5, 6, 7]],
  ]);
  const credited = [...answers, ...rest].filter((m) => m[0] === wire.CREDIT)
    .reduce((sum, m) => sum + (m[1] as number), 0);
  assert.equal(credited, 10);
});

Deno.test("serve() credits a run of tells every eighth of its capacity, mid-run", async () => {
  const actor = await served({ note() {} }, { capacity: 16 });
  actor.parent.send([wire.TELLS, "note", [1, 2, 3, 4, 5]]);
  assert.deepEqual(await actor.parent.take(3, "the credits"), [
    [wire.CREDIT, 2],
    [wire.CREDIT, 2],
    [wire.CREDIT, 1],
  ]);
  assert.deepEqual(actor.parent.batches.at(-3), [[wire.CREDIT, 2]]);
  await stopped(actor);
});

Deno.test("serve() names a tell of a run as what it was handling when it dies in it", async () => {
  const started = deferred();
  const actor = await served({
    done: () => {},
    forever: () => {
      started.resolve();
      return new Promise<never>(() => {});
    },
  });
  actor.parent.send([wire.TELLS, "done", [1, 2]], [wire.TELLS, "forever", [3, 4]]);
  await soon(started.promise, "the tell to start");
  actor.control.crash(new Error("uncaught"));
  const [credit, crash] = await actor.parent.take(2, "the credit and the crash");
  assert.deepEqual(credit, [wire.CREDIT, 3]);
  assert.deepEqual([crash![0], crash![2]], [wire.CRASH, [["forever", false]]]);
  await actor.parent.untilClosed("the actor to close the channel");
  await soon(actor.ended, "onEnd");
});

Deno.test("serve() runs the stop hook after the last message before the sentinel, then says BYE and ends", async () => {
  const order: string[] = [];
  const gate = deferred();
  const started = deferred();
  let signal: AbortSignal | undefined;
  const actor = await served({
    async wait(_state, _payload, ctx) {
      signal = ctx.signal;
      started.resolve();
      await gate.promise;
      order.push("handler");
    },
  }, {
    stop(state) {
      order.push(`stop ${(state as { count: number }).count}`);
    },
    init: () => ({ count: 7 }),
  });
  actor.parent.send([wire.ASK, 1, "wait"], [wire.STOP]);
  await soon(started.promise, "the handler to start");
  assert.deepEqual(order, []);
  assert.equal(signal!.aborted, false);
  gate.resolve();
  assert.deepEqual(await actor.parent.take(3, "the reply, the credit and BYE"), [
    [wire.REPLY, 1],
    [wire.CREDIT, 1],
    [wire.BYE],
  ]);
  await actor.parent.untilClosed("the actor to close the channel");
  await soon(actor.ended, "onEnd");
  assert.deepEqual(order, ["handler", "stop 7"]);
  assert.equal(signal!.aborted, true);
});

Deno.test("serve() refuses every message behind the sentinel: asks fail as stopped, tells are dead letters", async () => {
  const actor = await served({ note() {}, get: () => 1 });
  actor.parent.send(
    [wire.TELL, "note", 1],
    [wire.STOP],
    [wire.ASK, 1, "get"],
    [wire.TELL, "note", 2],
    [wire.TELLS, "note", [3, 4]],
  );
  await actor.parent.untilClosed("the actor to close the channel");
  const rest = actor.parent.messages.rest().filter((m) => m[0] !== wire.CREDIT);
  assert.deepEqual(
    rest.map((m) => m[0] === wire.FAIL ? [wire.FAIL, m[1], errorOf(m, 2).message] : m),
    [
      [wire.FAIL, 1, "stopped"],
      [wire.DEAD_LETTER, "note", "sent after stop"],
      [wire.DEAD_LETTER, "note", "sent after stop"],
      [wire.DEAD_LETTER, "note", "sent after stop"],
      [wire.BYE],
    ],
  );
  await soon(actor.ended, "onEnd");
});

Deno.test("serve() with concurrency 2 runs two handlers at once and takes the sentinel after both", async () => {
  const inside = deferred();
  const gate = deferred();
  let running = 0;
  let most = 0;
  const actor = await served({
    async work() {
      most = Math.max(most, ++running);
      if (running === 2) inside.resolve();
      await gate.promise;
      running--;
    },
  }, { concurrency: 2 });
  actor.parent.send(...[1, 2, 3].map((id) => [wire.ASK, id, "work"]), [wire.STOP]);
  await soon(inside.promise, "two handlers to be inside at once");
  gate.resolve();
  await actor.parent.untilClosed("the actor to close the channel after its sentinel");
  await soon(actor.ended, "onEnd");
  const rest = actor.parent.messages.rest();
  assert.equal(most, 2);
  assert.deepEqual(rest.filter((m) => m[0] === wire.REPLY || m[0] === wire.BYE), [
    [wire.REPLY, 1],
    [wire.REPLY, 2],
    [wire.REPLY, 3],
    [wire.BYE],
  ]);
});

Deno.test("serve() reports a crash the host caught, aborts the actor's signal with it, and ends", async () => {
  let signal: AbortSignal | undefined;
  const actor = await served({}, {
    init: (_args, ctx) => {
      signal = ctx.signal;
    },
  });
  const error = new Error("uncaught in the actor");
  actor.control.crash(error);
  const crash = await actor.parent.next("CRASH");
  assert.deepEqual([crash[0], errorOf(crash, 1).message], [wire.CRASH, "uncaught in the actor"]);
  await actor.parent.untilClosed("the actor to close the channel");
  await soon(actor.ended, "onEnd");
  assert.equal(signal!.reason, error);
  assert.deepEqual(actor.parent.messages.rest(), []);
});

Deno.test("serve() credits what left its mailbox and names what it was handling as it dies", async () => {
  const started = deferred();
  const actor = await served({
    done: () => {},
    forever: () => {
      started.resolve();
      return new Promise<never>(() => {});
    },
  });
  // The tell and the ask behind the running ask wait in the mailbox: not credited.
  actor.parent.send([wire.TELL, "done"], [wire.ASK, 1, "forever"], [wire.TELL, "forever"], [
    wire.ASK,
    2,
    "done",
  ]);
  await soon(started.promise, "the ask to start");
  actor.control.crash(new Error("uncaught"));
  const [credit, crash] = await actor.parent.take(2, "the credit and the crash");
  assert.deepEqual(credit, [wire.CREDIT, 2]);
  assert.deepEqual([crash![0], crash![2]], [wire.CRASH, [["forever", true]]]);
  await actor.parent.untilClosed("the actor to close the channel");
  await soon(actor.ended, "onEnd");
});

Deno.test("serve() reports an init that throws as INIT_FAILED and ends", async () => {
  const [parentEnd, actorEnd] = queueTransportPair();
  const parent = new Peer(parentEnd);
  const ended = deferred();
  const actor = defineActor({
    init(): never {
      throw new RangeError("init refused");
    },
    handlers: {},
  });
  serve(bootMessage(8), actorEnd, () => ended.resolve(), { actor });
  const failed = await parent.next("INIT_FAILED");
  assert.deepEqual([failed[0], errorOf(failed, 1).name], [wire.INIT_FAILED, "RangeError"]);
  await parent.untilClosed("the actor to close the channel");
  await soon(ended.promise, "onEnd");
});

Deno.test("serve() ends without a goodbye when the parent closes the channel", async () => {
  let stopHookRan = false;
  const actor = await served({}, {
    stop() {
      stopHookRan = true;
    },
  });
  await actor.parent.close();
  await soon(actor.ended, "onEnd");
  assert.equal(stopHookRan, false);
  assert.deepEqual(actor.parent.messages.rest(), []);
});

Deno.test("serve() announces an exit of the actor's code at once", async () => {
  const actor = await served({});
  actor.control.exit(3);
  assert.deepEqual(await actor.parent.next("EXIT"), [wire.EXIT, 3, []]);
  // The host ends the thread; here the test closes both ends.
  await actor.parent.close();
});

Deno.test("serve() sends a queue call as CALL and settles it with the RESULT of the same id", async () => {
  const actor = await served({
    take: (_state, _payload, ctx: ActorContext) => ctx.queue<number>("jobs").get({ timeout: 50 }),
    async drain(_state, _payload, ctx: ActorContext) {
      const got: number[] = [];
      for await (const job of ctx.queue<number>("jobs")) got.push(job);
      return got;
    },
  });
  actor.parent.send([wire.ASK, 1, "take"]);
  // The ask left the mailbox when its handler started: its credit goes first.
  assert.deepEqual(await actor.parent.take(2, "the CALL"), [
    [wire.CALL, 1, "queue", "get", ["jobs", 50]],
    [wire.CREDIT, 1],
  ]);
  actor.parent.send([wire.RESULT, 1, true, 42]);
  assert.deepEqual(await actor.parent.next("the reply"), [wire.REPLY, 1, 42]);

  // A closed queue ends the actor's loop over it: QueueClosedError is revived as one.
  actor.parent.send([wire.ASK, 2, "drain"]);
  assert.deepEqual(await actor.parent.take(2, "get"), [
    [wire.CALL, 2, "queue", "get", ["jobs", undefined]],
    [wire.CREDIT, 1],
  ]);
  actor.parent.send([wire.RESULT, 2, true, 5]);
  // Handled faster than the round trip: the loop fetches two at once next.
  assert.deepEqual(await actor.parent.next("getMany"), [wire.CALL, 3, "queue", "getMany", [
    "jobs",
    2,
  ]]);
  actor.parent.send([wire.RESULT, 3, false, { name: "QueueClosedError", message: "closed" }]);
  assert.deepEqual(await actor.parent.next("the reply"), [wire.REPLY, 2, [5]]);
  await stopped(actor);
});

Deno.test("serve() rejects the calls still waiting for a RESULT when the actor ends", async () => {
  const outcome = deferred<unknown>();
  const actor = await served({
    wait(_state, _payload, ctx: ActorContext) {
      ctx.semaphore("s").acquire({ timeout: 100 }).then(outcome.resolve, outcome.resolve);
    },
  });
  actor.parent.send([wire.TELL, "wait"]);
  assert.deepEqual(await actor.parent.next("the CALL"), [
    wire.CALL,
    1,
    "semaphore",
    "acquire",
    ["s", 100],
  ]);
  actor.control.crash(new Error("gone"));
  const error = await soon(outcome.promise, "the call to settle");
  assert.ok(error instanceof Error);
  assert.equal(error.message, "The actor has ended");
  await actor.parent.untilClosed("the actor to close the channel");
  await soon(actor.ended, "onEnd");
});

Deno.test("serve() sends a batch that cannot be encoded one message at a time, failing only the reply that cannot go", async () => {
  /** Refuses every batch holding the reply "too big", as a frame limit would. */
  const strict = (transport: Transport): Transport => ({
    name: transport.name,
    send(messages, hints) {
      const tooBig = (messages as Message[]).some((m) => m[0] === wire.REPLY && m[2] === "too big");
      if (tooBig) throw new RangeError("Cannot send frame: too big");
      return transport.send(messages, hints);
    },
    receive: () => transport.receive(),
    close: () => transport.close(),
    stats: () => transport.stats(),
  });
  const actor = await served({ echo: (_state, value: string) => value }, { wrap: strict });
  actor.parent.send(
    [wire.ASK, 1, "echo", "small"],
    [wire.ASK, 2, "echo", "too big"],
    [wire.ASK, 3, "echo", "ok"],
  );
  const [first, fail, third, credit] = await actor.parent.take(4, "the answers");
  assert.deepEqual(first, [wire.REPLY, 1, "small"]);
  assert.deepEqual([fail![0], fail![1], errorOf(fail!, 2).message, fail![3]], [
    wire.FAIL,
    2,
    "Cannot send frame: too big",
    false,
  ]);
  assert.deepEqual(third, [wire.REPLY, 3, "ok"]);
  assert.deepEqual(credit, [wire.CREDIT, 3]);
  await stopped(actor);
});

Deno.test("serve() holds its next batch while the channel waits for room, and sends it after", async () => {
  const room = deferred();
  let batchesSent = 0;
  /** Says the channel is full after the first batch it takes, until the test makes room. */
  const narrow = (transport: Transport): Transport => ({
    name: transport.name,
    send(messages, hints) {
      transport.send(messages, hints);
      return ++batchesSent === 1 ? room.promise : undefined;
    },
    receive: () => transport.receive(),
    close: () => transport.close(),
    stats: () => transport.stats(),
  });
  const handled = deferred();
  const actor = await served({
    one: () => 1,
    two() {
      handled.resolve();
      return 2;
    },
  }, { wrap: narrow });
  // READY went in the batch that filled the channel.
  actor.parent.send([wire.ASK, 1, "one"], [wire.ASK, 2, "two"]);
  // The pump sends what its handlers gave as it ends, before this test resumes.
  await soon(handled.promise, "both asks to be handled");
  assert.equal(batchesSent, 1, "nothing but READY was sent while the channel was full");
  room.resolve();
  assert.deepEqual(await actor.parent.take(3, "the replies"), [
    [wire.REPLY, 1, 1],
    [wire.REPLY, 2, 2],
    [wire.CREDIT, 2],
  ]);
  await stopped(actor);
});
