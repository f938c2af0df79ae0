/**
 * A `Pipe()` end handed to a worker or thread actor while its peer end is
 * unused shares a ring pair with that peer (`HAND_OFF_RINGS`): both carry
 * their values over shared memory, and the peer can follow to another
 * worker or thread actor the same way. The first tests play the actor's
 * side in this thread, opened as the worker's bootstrap opens it; the
 * others hand ends to real actors. The sanitizers check that nothing
 * (timer, port, worker) is left behind.
 */

import assert from "node:assert/strict";
import {
  ActorCrashedError,
  type ActorHostKind,
  ActorSystem,
  type Connection,
  ConnectionClosedError,
  connectionFromStreams,
  FrameTooLargeError,
  Pipe,
  type PipeEnd,
  type ReadConnection,
  type WriteConnection,
} from "../mod.ts";
import {
  HAND_OFF,
  HAND_OFF_PORT,
  HAND_OFF_RINGS,
  type HandedOffEnd,
  type HandedOffPort,
  type HandedOffRings,
  OPEN_RINGS,
} from "../transports/pipe/channel.ts";
import { PIPE_RING_BYTES } from "../transports/pipe/_ring_pipe.ts";
import type { pipeRingHolder } from "./fixtures/pipe_ring_actor.ts";
import { within } from "./_helpers.ts";
import {
  betweenTwoActors,
  bothWaysThenClose,
  crashMidStream,
  stopAfterUnreadValues,
  stopEndsTheWait,
} from "./_pipe_scenarios.ts";

const DEADLINE_MS = 10_000;
const HOLDER = new URL("./fixtures/pipe_ring_actor.ts", import.meta.url);

type Offering = {
  [HAND_OFF_RINGS](): HandedOffRings | undefined;
  [HAND_OFF_PORT](): HandedOffPort | undefined;
  [HAND_OFF](): HandedOffEnd;
};

/** Hands `end` off over rings; fails the test when it goes another way. */
function handOffRings(end: unknown): HandedOffRings {
  const offer = (end as Offering)[HAND_OFF_RINGS]();
  assert.ok(offer !== undefined, "the end should go over rings");
  return offer;
}

type OpenRings = (rings: HandedOffRings["rings"], receives: boolean, sends: boolean) => unknown;

/** The actor's side of a ring hand-off, opened as a worker's bootstrap opens it. */
function farEnd<T>(offer: HandedOffRings): Connection<T> {
  const open = (connectionFromStreams as unknown as { [OPEN_RINGS]?: OpenRings })[OPEN_RINGS];
  assert.equal(typeof open, "function");
  return open!(offer.rings, offer.receives, offer.sends) as Connection<T>;
}

/** Whether a promise is still pending once the current macrotask has run. */
async function isPending(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol("pending");
  const later = new Promise((resolve) => setTimeout(() => resolve(marker), 0));
  return await Promise.race([promise.then(() => false, () => false), later]) === marker;
}

Deno.test("a Pipe() end handed off over rings carries values both ways, in order, larger than the ring too", async () => {
  const [mine, theirs] = Pipe<unknown>();
  const offer = handOffRings(theirs);
  assert.equal(offer.receives, true);
  assert.equal(offer.sends, true);
  assert.equal(offer.rings.inbound.byteLength >= PIPE_RING_BYTES, true);
  const far = farEnd<unknown>(offer);
  const big = new Uint8Array(3 * PIPE_RING_BYTES + 5).fill(4); // streamed through the ring
  const values = [1, "two", { three: [3n] }, new Map([["m", new Date(0)]]), big, null];
  const sent = Promise.all(values.map((value) => mine.send(value)));
  for (const value of values) assert.deepEqual(await far.recv({ timeout: DEADLINE_MS }), value);
  await within(sent, DEADLINE_MS, "the sends");
  const back = Promise.all(values.map((value) => far.send(value)));
  for (const value of values) assert.deepEqual(await mine.recv({ timeout: DEADLINE_MS }), value);
  await within(back, DEADLINE_MS, "the sends back");
  // The end went to the actor: here it is no longer usable, nor offered again.
  assert.throws(() => theirs.send("mine?"), TypeError);
  assert.equal((theirs as unknown as Offering)[HAND_OFF_RINGS](), undefined);
  await far.close();
  await assert.rejects(mine.recv({ timeout: DEADLINE_MS }), {
    name: "ConnectionClosedError",
    message: /peer closed/,
  });
  assert.throws(() => mine.send("anyone there?"), ConnectionClosedError);
  await mine.close();
  await offer.settle();
});

Deno.test("over rings, a value the codec cannot encode or one over the frame limit throws at the sender, and the pipe goes on", async () => {
  const [mine, theirs] = Pipe<unknown>();
  const offer = handOffRings(theirs);
  const far = farEnd<unknown>(offer);
  // The same error as on the byte path, from the same codec.
  assert.throws(() => mine.send(() => 1), /could not be cloned/);
  assert.throws(() => far.send(Symbol("s")), /could not be cloned/);
  // Over the pipe's frame limit (64 MiB by default): the typed error, nothing written.
  assert.throws(() => mine.send(new Uint8Array(64 * 1024 * 1024 + 1)), FrameTooLargeError);
  mine.send("still here");
  assert.equal(await far.recv({ timeout: DEADLINE_MS }), "still here");
  await far.close();
  await mine.close();
  await offer.settle();
});

Deno.test("settle() after the actor ended over rings: the peer gets what the actor sent, then ConnectionClosedError, and send() throws", async () => {
  const [mine, theirs] = Pipe<string>();
  const offer = handOffRings(theirs);
  // The actor's side writes two values and goes without closing (a crash).
  const far = farEnd<string>(offer);
  await far.send("last");
  await far.send("words");
  const waiting = mine.recv({ timeout: DEADLINE_MS });
  await offer.settle();
  assert.equal(await waiting, "last");
  assert.equal(await mine.recv({ timeout: DEADLINE_MS }), "words");
  await assert.rejects(mine.recv({ timeout: DEADLINE_MS }), {
    name: "ConnectionClosedError",
    message: /peer closed/,
  });
  assert.throws(() => mine.send("anyone there?"), ConnectionClosedError);
  await mine.close();
  await far.close();
});

Deno.test("settle() over rings ends a send waiting for room, and a recv waiting for a value", async () => {
  const [mine, theirs] = Pipe<Uint8Array>();
  const offer = handOffRings(theirs);
  const far = farEnd<Uint8Array>(offer);
  const receiving = mine.recv({ timeout: DEADLINE_MS });
  // The far side never reads: a send waits once the ring is full.
  let waiting: void | Promise<void> = undefined;
  for (let i = 0; i < 64 && waiting === undefined; i++) waiting = mine.send(new Uint8Array(4096));
  assert.ok(waiting instanceof Promise, "a send should wait once 64 KiB are unread");
  assert.equal(await isPending(waiting), true);
  assert.equal(await isPending(receiving), true);
  await offer.settle();
  await assert.rejects(within(waiting, DEADLINE_MS, "the waiting send"), ConnectionClosedError);
  await assert.rejects(within(receiving, DEADLINE_MS, "the waiting recv"), ConnectionClosedError);
  await mine.close();
  await far.close();
});

Deno.test("a send over rings waits for room once 64 KiB are unread, and resumes as a slow reader reads", async () => {
  const [mine, theirs] = Pipe<Uint8Array>();
  const offer = handOffRings(theirs);
  const far = farEnd<Uint8Array>(offer);
  let sent = 0;
  let waiting: void | Promise<void> = undefined;
  while (waiting === undefined && sent < 64) waiting = mine.send(new Uint8Array(4096).fill(sent++));
  assert.ok(waiting instanceof Promise, "a send should wait once the ring is full");
  assert.ok(sent <= PIPE_RING_BYTES / 4096 + 1, `waited only after ${sent} sends`);
  assert.equal(await isPending(waiting), true);
  // Later sends queue behind it, in order.
  const later = [mine.send(new Uint8Array(4096).fill(sent)), mine.send(new Uint8Array(1).fill(7))];
  for (let i = 0; i <= sent; i++) {
    assert.deepEqual(await far.recv({ timeout: DEADLINE_MS }), new Uint8Array(4096).fill(i));
  }
  assert.deepEqual(await far.recv({ timeout: DEADLINE_MS }), new Uint8Array(1).fill(7));
  await within(Promise.all([waiting, ...later]), DEADLINE_MS, "room after the reads");
  await mine.close();
  await assert.rejects(far.recv({ timeout: DEADLINE_MS }), ConnectionClosedError);
  await assert.rejects(async () => await far.send(new Uint8Array(1)), ConnectionClosedError);
  await far.close();
  await offer.settle();
});

Deno.test("a one-way Pipe() end goes over rings with only its own direction", async () => {
  const [output, input] = Pipe<number>({ duplex: false });
  const offer = handOffRings(input);
  assert.equal(offer.receives, false);
  assert.equal(offer.sends, true);
  const far = farEnd<number>(offer) as WriteConnection<number>;
  assert.throws(() => (far as unknown as Connection<number>).recv(), TypeError);
  for (let i = 0; i < 3; i++) far.send(i);
  await far.close();
  const reader: ReadConnection<number> = output;
  assert.deepEqual(await within(Array.fromAsync(reader), DEADLINE_MS, "the values"), [0, 1, 2]);
  await output.close();
  await offer.settle();
});

Deno.test("an end whose peer was used here, or a pipe with its own limit, does not go over rings", async () => {
  const [mine, theirs] = Pipe<string>();
  mine.send("before");
  assert.equal((theirs as unknown as Offering)[HAND_OFF_RINGS](), undefined);
  const far = connectionFromStreams<string>((theirs as unknown as Offering)[HAND_OFF]() as PipeEnd);
  assert.equal(await far.recv({ timeout: DEADLINE_MS }), "before");
  await far.close();
  await mine.close();
  const [own, limited] = Pipe<string>({ maxFrameBytes: 1024 });
  assert.equal((limited as unknown as Offering)[HAND_OFF_RINGS](), undefined);
  await own.close();
  await limited.close();
});

Deno.test("the peer of an end handed off over rings follows over the same rings, or as streams bridged to them", async () => {
  const [first, second] = Pipe<string>();
  const a = farEnd<string>(handOffRings(first));
  // Over the same rings: nothing of this pipe runs here any more.
  assert.equal((second as unknown as Offering)[HAND_OFF_PORT](), undefined);
  const b = farEnd<string>(handOffRings(second));
  a.send("to b");
  assert.equal(await b.recv({ timeout: DEADLINE_MS }), "to b");
  b.send("to a");
  assert.equal(await a.recv({ timeout: DEADLINE_MS }), "to a");
  await b.close();
  await assert.rejects(a.recv({ timeout: DEADLINE_MS }), ConnectionClosedError);
  await a.close();

  // As streams in the pipe's framing (how it goes to a process actor).
  const [mine, theirs] = Pipe<string>();
  const offer = handOffRings(mine);
  const far = farEnd<string>(offer);
  const streams = (theirs as unknown as Offering)[HAND_OFF]();
  const near = connectionFromStreams<string>(streams as PipeEnd);
  near.send("there");
  assert.equal(await far.recv({ timeout: DEADLINE_MS }), "there");
  far.send("back");
  assert.equal(await near.recv({ timeout: DEADLINE_MS }), "back");
  await far.close();
  await assert.rejects(near.recv({ timeout: DEADLINE_MS }), ConnectionClosedError);
  await near.close();
  await offer.settle();
});

for (const host of ["worker", "thread"] as ActorHostKind[]) {
  Deno.test(`[${host}] a Pipe() end over rings: values both ways, then the actor's close ends the parent's end`, () =>
    bothWaysThenClose(host));

  Deno.test(`[${host}] an actor that crashes mid-stream on a Pipe() end over rings: the parent gets what it sent, then ConnectionClosedError`, () =>
    crashMidStream(host));

  Deno.test(`[${host}] an actor that stops while the parent waits on a Pipe() end over rings ends the wait`, () =>
    stopEndsTheWait(host));

  Deno.test(`[${host}] an actor stopped with 1000 values on a Pipe() end over rings unread: all arrive, then the close`, () =>
    stopAfterUnreadValues(host));

  Deno.test(`[${host}] an actor stopped with 1000 values unread on a pumped Pipe() end (its peer was used): all arrive, then the close`, () =>
    stopAfterUnreadValues(host, true));

  Deno.test(`[${host}] an actor that crashes mid-stream on a pumped Pipe() end (its peer was used): the parent gets what it sent, then the close`, () =>
    crashMidStream(host, true));

  for (const end of ["stop", "crash"] as const) {
    Deno.test(`[${host}] a Pipe() between two actors: what one sent before its ${end} reaches the other, then the close`, () =>
      betweenTwoActors(host, end));
  }
}

Deno.test("[worker and thread] a Pipe() between two actors runs over its rings, and one's crash ends the other's end", async () => {
  await using system = await ActorSystem.start();
  const [left, right] = Pipe<number>();
  const a = await system.spawn<typeof pipeRingHolder>(HOLDER, {
    host: "worker",
    args: { end: left },
  });
  const b = await system.spawn<typeof pipeRingHolder>(HOLDER, {
    host: "thread",
    args: { end: right },
  });
  const values = Array.from({ length: 500 }, (_, i) => i);
  const taken = b.ask("take", values.length);
  await a.ask("send", values);
  assert.deepEqual(await taken, values);
  const echoed = b.ask("echo", 2);
  await a.ask("send", [41, 42]);
  assert.deepEqual(await a.ask("take", 2), [41, 42]);
  await echoed;
  // b waits on its end; a crashes with values b has not read yet.
  await a.ask("send", [1, 2, 3]);
  await assert.rejects(a.ask("crash"), ActorCrashedError);
  await within(system.watch(a), DEADLINE_MS, "the crashed actor's exit");
  assert.deepEqual(await b.ask("drain"), { count: 3, error: "ConnectionClosedError" });
  // Neither end is usable here.
  assert.throws(() => left.send(0), TypeError);
  assert.throws(() => right.recv(), TypeError);
});

Deno.test("[worker and process] a Pipe() whose first end went to a worker over rings reaches a process actor bridged to bytes", async () => {
  await using system = await ActorSystem.start();
  const [left, right] = Pipe<string>();
  const a = await system.spawn<typeof pipeRingHolder>(HOLDER, {
    host: "worker",
    args: { end: left },
  });
  const b = await system.spawn<typeof pipeRingHolder>(HOLDER, {
    host: "process",
    args: { end: right },
  });
  const taken = b.ask("take", 2);
  await a.ask("send", ["from", "worker"]);
  assert.deepEqual(await taken, ["from", "worker"]);
  const back = a.ask("take", 1);
  await b.ask("send", ["from process"]);
  assert.deepEqual(await back, ["from process"]);
  await b.ask("close");
  assert.deepEqual(await a.ask("drain"), { count: 0, error: "ConnectionClosedError" });
});
