// ActorCell, the parent's side of one actor, in this thread: a fake launcher
// hands the cell one end of a queue transport pair while the test plays the
// actor on the other end, or runs the real serve() there.
import assert from "node:assert/strict";
import { ActorCell, type CellOptions } from "../actors/core/cell.ts";
import type { Host, HostEvents, Launcher } from "../actors/core/host.ts";
import type { ActorExit, DeadLetter } from "../actors/core/actor_ref.ts";
import { type ActorDefinition, defineActor, type Handlers } from "../actors/core/define_actor.ts";
import { serve } from "../actors/core/serve.ts";
import * as wire from "../actors/core/protocol.ts";
import {
  ActorCrashedError,
  ActorError,
  ActorStoppedError,
  MailboxFullError,
  type RemoteErrorInfo,
  SpawnError,
  UnknownMessageError,
} from "../internal/errors.ts";
import { queueTransportPair } from "../transports/queue.ts";
import type { Transport } from "../transports/transport.ts";
import { ConnectionClosedError } from "../internal/channel_errors.ts";
import { deferred, Peer, soon } from "./_channel.ts";

/** A host that only counts how it was ended. */
class FakeHost implements Host {
  readonly kind = "worker" as const;
  readonly pid = undefined;
  readonly killGraceMs = 0;
  kills = 0;
  releases = 0;
  kill(): Promise<void> {
    this.kills++;
    return Promise.resolve();
  }
  release(): Promise<void> {
    this.releases++;
    return Promise.resolve();
  }
}

/** What the fake launcher was given, and the actor's end of the channel. */
interface Launched {
  boot: wire.BootMessage;
  events: HostEvents;
  /** The actor's end, played by the test (absent when the real serve() runs there). */
  actor: Peer;
}

interface Harness {
  cell: ActorCell;
  host: FakeHost;
  launched: Promise<Launched>;
  deadLetters: DeadLetter[];
  exits: ActorExit[];
  /** With the real serve(): resolves when it has ended. */
  served: Promise<void>;
}

/**
 * A cell whose launcher opens a queue transport pair: the test plays the
 * actor on the other end, or, given `serves`, the real serve() runs it there.
 */
function harness(
  options: Partial<CellOptions> = {},
  serves?: ActorDefinition<unknown, unknown, Handlers<unknown>>,
  wrap: (parentEnd: Transport) => Transport = (parentEnd) => parentEnd,
): Harness {
  const host = new FakeHost();
  const launched = deferred<Launched>();
  const deadLetters: DeadLetter[] = [];
  const exits: ActorExit[] = [];
  const served = deferred();
  const launch: Launcher = (boot, events) => {
    const [parentEnd, actorEnd] = queueTransportPair();
    if (serves) serve(boot, actorEnd, () => served.resolve(), { actor: serves });
    else launched.resolve({ boot, events, actor: new Peer(actorEnd) });
    return Promise.resolve({ host, transport: wrap(parentEnd) });
  };
  const cell = new ActorCell({
    id: "cell",
    module: "test:cell",
    exportName: undefined,
    args: undefined,
    capacity: 8,
    overflow: "backpressure",
    heartbeatMs: 0,
    hostKind: "worker",
    transportName: "queue",
    owner: 1,
    semaphores: {},
    launch,
    onDeadLetter: (letter) => deadLetters.push(letter),
    onExit: (exit) => exits.push(exit),
    onCall: () => Promise.reject(new Error("no services here")),
    ...options,
  });
  return { cell, host, launched: launched.promise, deadLetters, exits, served: served.promise };
}

/** Starts the cell and plays an actor that says READY with `names`. */
async function running(
  names: string[],
  options: Partial<CellOptions> = {},
  wrap?: (parentEnd: Transport) => Transport,
): Promise<Harness & { actor: Peer; events: HostEvents; boot: wire.BootMessage }> {
  const h = harness(options, undefined, wrap);
  const started = h.cell.start(undefined);
  const { actor, events, boot } = await soon(h.launched, "the launch");
  actor.send([wire.READY, names]);
  await soon(started, "start() to resolve");
  return { ...h, actor, events, boot };
}

/** Ends a played actor through its sentinel and returns the exit. */
async function stopPlayed(h: { cell: ActorCell; actor: Peer }): Promise<ActorExit> {
  const exited = h.cell.stop(2000);
  const sentinel = await h.actor.next("the sentinel");
  assert.deepEqual(sentinel, [wire.STOP]);
  h.actor.send([wire.BYE]);
  const exit = await soon(exited, "the exit");
  await h.actor.untilClosed("the cell to close the channel");
  return exit;
}

/** Ends a played actor by crashing it and waits for the channel to close. */
async function crashPlayed(h: { cell: ActorCell; actor: Peer }): Promise<ActorExit> {
  h.actor.send([wire.CRASH, { name: "Error", message: "boom" }]);
  const exit = await soon(h.cell.exited, "the exit");
  await h.actor.untilClosed("the cell to close the channel");
  return exit;
}

Deno.test("ActorCell.start() launches the actor with its boot message and resolves once it is READY", async () => {
  const h = harness({ capacity: 16, args: { start: 3 } });
  const started = h.cell.start(undefined);
  const { boot, actor } = await soon(h.launched, "the launch");
  assert.deepEqual([boot.actorId, boot.module, boot.capacity, boot.args], [
    "cell",
    "test:cell",
    16,
    { start: 3 },
  ]);
  assert.ok(boot.liveness instanceof SharedArrayBuffer, "a worker actor shares its liveness");
  assert.equal(h.cell.state, "starting");
  actor.send([wire.READY, ["inc"]]);
  await soon(started, "start() to resolve");
  assert.equal(h.cell.state, "running");
  await stopPlayed({ cell: h.cell, actor });
});

Deno.test("ActorCell.tell() and ask() reach the actor in order, and ask() resolves with the reply", async () => {
  const h = await running(["inc", "get"]);
  void h.cell.tell("inc", 1);
  void h.cell.tell("inc", 2);
  const answer = h.cell.ask("get", undefined, undefined);
  // Two tells to one handler travel folded into one run; the ask without payload ends early.
  assert.deepEqual(await h.actor.take(2, "the messages"), [
    [wire.TELLS, "inc", [1, 2]],
    [wire.ASK, 1, "get"],
  ]);
  assert.equal(h.cell.inflight, 3);
  assert.equal(h.cell.pendingAsks, 1);
  h.actor.send([wire.REPLY, 1, 3], [wire.CREDIT, 3]);
  assert.equal(await soon(answer, "the reply"), 3);
  assert.equal(h.cell.inflight, 0);
  assert.equal(h.cell.handled, 3);
  const exit = await stopPlayed(h);
  assert.deepEqual(exit, { id: "cell", reason: "normal", handled: 3 });
});

Deno.test("ActorCell.ask() rejects with a TimeoutError when no reply comes in time, and ignores the late reply", async () => {
  const h = await running(["get"]);
  const answer = h.cell.ask("get", 1, { timeout: 10 });
  // An ask with a timeout may be cancelled: the actor tracks a signal for it.
  assert.deepEqual(await h.actor.next("the ask"), [wire.ABORTABLE_ASK, 1, "get", 1]);
  await assert.rejects(soon(answer, "the timeout"), (error: unknown) => {
    assert.ok(error instanceof DOMException);
    assert.equal(error.name, "TimeoutError");
    return true;
  });
  assert.equal(h.cell.pendingAsks, 0);
  // The actor is told, so the handler's ctx.signal aborts.
  assert.deepEqual(await h.actor.next("the cancel"), [wire.CANCEL, 1, "TimeoutError"]);
  h.actor.send([wire.REPLY, 1, "late"]);
  await stopPlayed(h);
});

Deno.test("ActorCell.ask() rejects with the abort reason when its signal aborts, already or later", async () => {
  const h = await running(["get"]);
  const before = AbortSignal.abort(new Error("aborted before"));
  await assert.rejects(soon(h.cell.ask("get", 1, { signal: before }), "the ask"), {
    message: "aborted before",
  });
  const controller = new AbortController();
  const answer = h.cell.ask("get", 2, { signal: controller.signal });
  // Only the second ask went out.
  assert.deepEqual(await h.actor.next("the ask"), [wire.ABORTABLE_ASK, 1, "get", 2]);
  controller.abort(new Error("aborted while waiting"));
  await assert.rejects(soon(answer, "the ask"), { message: "aborted while waiting" });
  assert.equal(h.cell.pendingAsks, 0);
  assert.deepEqual(await h.actor.next("the cancel"), [wire.CANCEL, 1, "AbortError"]);
  await stopPlayed(h);
});

Deno.test("a FAIL rejects its ask with ActorError, or UnknownMessageError when the actor did not know the name", async () => {
  const h = await running(["get"]);
  const failed = h.cell.ask("get", 1, undefined);
  const unknown = h.cell.ask("get", 2, undefined);
  await h.actor.take(2, "the asks");
  h.actor.send(
    [wire.FAIL, 1, { name: "RangeError", message: "too big" }, false],
    [wire.FAIL, 2, { name: "Error", message: "unknown" }, true],
  );
  await assert.rejects(soon(failed, "the ask"), (error: unknown) => {
    assert.ok(error instanceof ActorError);
    assert.deepEqual([error.messageName, error.remote.name], ["get", "RangeError"]);
    return true;
  });
  await assert.rejects(soon(unknown, "the ask"), (error: unknown) => {
    assert.ok(error instanceof UnknownMessageError);
    assert.deepEqual(error.known, ["get"]);
    return true;
  });
  await stopPlayed(h);
});

Deno.test("ActorCell.tell() to a name the actor did not declare throws UnknownMessageError and sends nothing", async () => {
  const h = await running(["get"]);
  assert.throws(() => h.cell.tell("nope", 1), UnknownMessageError);
  assert.equal(h.cell.inflight, 0);
  await stopPlayed(h);
  assert.deepEqual(h.actor.messages.all, [[wire.STOP]]);
});

Deno.test("a crash the actor reports rejects pending asks with ActorCrashedError, kills the host and counts the lost tells", async () => {
  const h = await running(["get", "inc"]);
  const answer = h.cell.ask("get", undefined, undefined);
  void h.cell.tell("inc", 1);
  void h.cell.tell("inc", 2);
  await h.actor.take(2, "the messages");
  const rejected = assert.rejects(soon(answer, "the ask"), (error: unknown) => {
    assert.ok(error instanceof ActorCrashedError);
    assert.equal(error.reason, "error");
    assert.equal((error.cause as Error).message, "boom");
    return true;
  });
  const exit = await crashPlayed(h);
  await rejected;
  assert.deepEqual([exit.reason, exit.error?.message], ["error", "boom"]);
  assert.deepEqual([h.host.kills, h.host.releases], [1, 0]);
  assert.deepEqual(h.exits, [exit]);
  assert.deepEqual(h.deadLetters, [{
    actorId: "cell",
    messageName: undefined,
    reason: "actor ended (error) before handling them",
    count: 3,
  }]);
});

/**
 * The parent's end of a channel whose actor end went away on its own (a ring
 * or a stream whose peer closed): its sends throw `ConnectionClosedError`,
 * as the ring's and the streams' do, once `gone` is set.
 */
function closingEnd(parentEnd: Transport, state: { gone: boolean }): Transport {
  return {
    maxFrameBytes: parentEnd.maxFrameBytes,
    send: (messages, hints) => {
      if (state.gone) throw new ConnectionClosedError("send", "peer");
      return parentEnd.send(messages, hints);
    },
    flush: () => parentEnd.flush?.(),
    receive: () => parentEnd.receive(),
    close: () => parentEnd.close(),
    stats: () => parentEnd.stats(),
  } as Transport;
}

Deno.test("an ask or a tell that meets a channel its crashing actor already closed waits for the exit: ActorCrashedError and a lost tell, not the channel's error", async () => {
  const state = { gone: false };
  const h = await running(["get", "inc"], {}, (end) => closingEnd(end, state));
  // The actor closed its end as it crashed; its CRASH is still on its way.
  state.gone = true;
  const answer = h.cell.ask("get", undefined, undefined);
  const rejected = assert.rejects(soon(answer, "the ask"), (error: unknown) => {
    assert.ok(error instanceof ActorCrashedError, `got ${error}`);
    assert.equal((error.cause as Error).message, "boom");
    return true;
  });
  // A batch of two (an ask and a tell), sent after the lone ask failed to go.
  await Promise.resolve();
  const second = h.cell.ask("get", undefined, undefined);
  void h.cell.tell("inc", 1);
  const secondRejected = assert.rejects(soon(second, "the second ask"), ActorCrashedError);
  h.actor.send([wire.CRASH, { name: "Error", message: "boom" }]);
  const exit = await soon(h.cell.exited, "the exit");
  await rejected;
  await secondRejected;
  assert.deepEqual([exit.reason, exit.error?.message], ["error", "boom"]);
  assert.deepEqual(h.deadLetters, [{
    actorId: "cell",
    messageName: undefined,
    reason: "actor ended (error) before handling them",
    count: 3, // the two asks and the tell, as when a crash meets them in flight
  }]);
});

Deno.test("a death the host reports lets the channel deliver first what the actor sent before it", async () => {
  const h = await running(["get"]);
  const answer = h.cell.ask("get", undefined, undefined);
  await h.actor.next("the ask");
  h.actor.send([wire.REPLY, 1, "sent before dying"]);
  h.events.died("error", new Error("the worker died"));
  await h.actor.transport.close();
  assert.equal(await soon(answer, "the reply"), "sent before dying");
  const exit = await soon(h.cell.exited, "the exit");
  assert.deepEqual([exit.reason, exit.error?.message], ["error", "the worker died"]);
  await h.actor.untilClosed("the read loop to end");
});

Deno.test("ActorCell.stop() sends the sentinel behind every message, even those waiting for room, and ends normally on BYE", async () => {
  const h = await running(["inc"], { capacity: 1 });
  void h.cell.tell("inc", 1);
  const second = h.cell.tell("inc", 2);
  const exited = h.cell.stop(2000);
  assert.equal(h.cell.state, "stopping");
  assert.throws(() => h.cell.tell("inc", 3), ActorStoppedError);
  assert.deepEqual(await h.actor.next("the first tell"), [wire.TELL, "inc", 1]);
  h.actor.send([wire.CREDIT, 1]);
  await soon(second, "room for the second tell");
  assert.deepEqual(await h.actor.take(2, "the second tell and the sentinel"), [
    [wire.TELL, "inc", 2],
    [wire.STOP],
  ]);
  h.actor.send([wire.CREDIT, 1], [wire.BYE]);
  const exit = await soon(exited, "the exit");
  assert.deepEqual(exit, { id: "cell", reason: "normal", handled: 2 });
  assert.deepEqual([h.host.kills, h.host.releases], [0, 1]);
  assert.deepEqual(h.deadLetters, [{
    actorId: "cell",
    messageName: "inc",
    reason: "actor stopped",
    count: 1,
  }]);
  await h.actor.untilClosed("the cell to close the channel");
});

Deno.test("ActorCell.stop() terminates an actor that does not say BYE within the timeout", async () => {
  const h = await running(["inc"]);
  const exit = await soon(h.cell.stop(10), "the exit");
  assert.deepEqual([exit.reason, h.host.kills], ["timeout", 1]);
  await h.actor.untilClosed("the cell to close the channel");
});

Deno.test("ActorCell.start() rejects with SpawnError when the actor's init failed", async () => {
  const h = harness();
  const started = h.cell.start(undefined);
  const { actor } = await soon(h.launched, "the launch");
  actor.send([wire.INIT_FAILED, { name: "RangeError", message: "init refused" }]);
  await assert.rejects(soon(started, "start()"), (error: unknown) => {
    assert.ok(error instanceof SpawnError);
    assert.equal((error.cause as Error).message, "init refused");
    return true;
  });
  const exit = await soon(h.cell.exited, "the exit");
  assert.equal(exit.reason, "error");
  await actor.untilClosed("the cell to close the channel");
});

Deno.test("ActorCell reports dead letters: a tell the actor could not handle, and one a full mailbox dropped", async () => {
  const h = await running(["inc"], { capacity: 1, overflow: "drop-newest" });
  void h.cell.tell("inc", 1);
  void h.cell.tell("inc", 2);
  assert.deepEqual(await h.actor.next("the first tell"), [wire.TELL, "inc", 1]);
  h.actor.send([wire.DEAD_LETTER, "inc", "handler threw nope"], [wire.CREDIT, 1]);
  await stopPlayed(h);
  assert.deepEqual(h.deadLetters.map((d) => [d.messageName, d.reason, d.count]), [
    ["inc", "mailbox full", 1],
    ["inc", "handler threw nope", 1],
  ]);
});

Deno.test("ActorCell rejects an ask a full mailbox dropped with MailboxFullError", async () => {
  const h = await running(["get"], { capacity: 1, overflow: "drop-newest" });
  const first = h.cell.ask("get", 1, undefined);
  await assert.rejects(soon(h.cell.ask("get", 2, undefined), "the ask"), MailboxFullError);
  await h.actor.next("the first ask");
  h.actor.send([wire.REPLY, 1, "ok"], [wire.CREDIT, 1]);
  assert.equal(await soon(first, "the reply"), "ok");
  await stopPlayed(h);
});

Deno.test("ActorCell answers the actor's CALL with a RESULT, past messages waiting for room", async () => {
  const h = await running(["inc"], {
    capacity: 1,
    onCall: ([service, op, args], actorId) => Promise.resolve({ service, op, args, actorId }),
  });
  void h.cell.tell("inc", 1);
  const waiting = h.cell.tell("inc", 2);
  assert.equal(h.cell.waiting, 1);
  await h.actor.next("the first tell");
  h.actor.send([wire.CALL, 7, "queue", "get", ["jobs"]]);
  assert.deepEqual(await h.actor.next("the RESULT"), [
    wire.RESULT,
    7,
    true,
    { service: "queue", op: "get", args: ["jobs"], actorId: "cell" },
  ]);
  h.actor.send([wire.CREDIT, 1]);
  await soon(waiting, "room for the second tell");
  assert.deepEqual(await h.actor.next("the second tell"), [wire.TELL, "inc", 2]);
  h.actor.send([wire.CREDIT, 1]);
  await stopPlayed(h);
});

Deno.test("ActorCell fails a CALL whose result cannot be sent, instead of leaving the actor waiting", async () => {
  const h = await running(["inc"], {
    onCall: () => Promise.resolve({ handler: () => "a function cannot be cloned" }),
  });
  void h.cell.tell("inc", 1);
  await h.actor.next("the tell");
  h.actor.send([wire.CALL, 4, "queue", "get", ["jobs"]]);
  const result = await h.actor.next("the RESULT");
  assert.deepEqual([result[0], result[1], result[2]], [wire.RESULT, 4, false]);
  assert.equal((result[3] as RemoteErrorInfo).name, "DataCloneError");
  // A RESULT takes no room in the mailbox: failing to send it frees none.
  assert.equal(h.cell.inflight, 1);
  assert.deepEqual(h.deadLetters, []);
  h.actor.send([wire.CREDIT, 1]);
  await stopPlayed(h);
});

const counter = defineActor<unknown, unknown>({
  init: () => ({ count: 0 }),
  handlers: {
    inc(state, n: number) {
      (state as { count: number }).count += n;
    },
    get: (state) => (state as { count: number }).count,
    boom() {
      throw new RangeError("boom");
    },
  },
});

Deno.test("ActorCell and the real serve() over a queue pair: tell, ask, a throwing handler, stop", async () => {
  const h = harness({}, counter);
  await soon(h.cell.start(undefined), "start() to resolve");
  await soon(h.cell.tell("inc", 2), "the tell");
  await soon(h.cell.tell("inc", 3), "the tell");
  assert.equal(await soon(h.cell.ask("get", undefined, undefined), "the count"), 5);
  await assert.rejects(soon(h.cell.ask("boom", undefined, undefined), "the ask"), ActorError);
  assert.equal(await soon(h.cell.ask("get", undefined, undefined), "the count"), 5);
  const exit = await soon(h.cell.stop(2000), "the exit");
  assert.deepEqual(exit, { id: "cell", reason: "normal", handled: 5 });
  assert.deepEqual(h.deadLetters, []);
  await soon(h.served, "serve() to end");
});

Deno.test("ActorCell.kill() rejects every pending ask with ActorCrashedError, the running one and the queued one", async () => {
  const gate = deferred();
  const entered = deferred();
  const blocked = defineActor<unknown, unknown>({
    handlers: {
      async wait() {
        entered.resolve();
        await gate.promise;
      },
    },
  });
  const h = harness({}, blocked);
  await soon(h.cell.start(undefined), "start() to resolve");
  const running = h.cell.ask("wait", undefined, undefined);
  const queued = h.cell.ask("wait", undefined, undefined);
  await soon(entered.promise, "the first handler to start");
  const rejected = [running, queued].map((answer) =>
    assert.rejects(soon(answer, "the ask"), (error: unknown) => {
      assert.ok(error instanceof ActorCrashedError);
      assert.equal(error.reason, "killed");
      return true;
    })
  );
  h.cell.kill(new Error("killed by the test"));
  await Promise.all(rejected);
  const exit = await soon(h.cell.exited, "the exit");
  assert.deepEqual([exit.reason, exit.error?.message, h.host.kills], [
    "killed",
    "killed by the test",
    1,
  ]);
  await soon(h.served, "serve() to end once its channel closed");
  gate.resolve();
});
