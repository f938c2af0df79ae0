/**
 * A `Pipe()` end handed to a process actor while its peer end is unused goes
 * over the link the runtime opens to that actor, the pipe bridge's socket
 * (`HAND_OFF_TRANSPORT`): the peer here sends and receives on that link
 * itself, and the actor opens its end straight on the link's other side. No
 * web streams, no pump and no second framing between (the pump over a
 * TransformStream and a socket frame around each pipe frame cost a round
 * trip about twice a socket's). The first tests play both sides in this
 * thread, over two stream transports joined back to back as a link; the
 * last ones hand the end to a real process actor. The resource sanitizer
 * checks that every link is closed at the end.
 */

import assert from "node:assert/strict";
import {
  ActorCrashedError,
  ActorSystem,
  type Connection,
  ConnectionClosedError,
  connectionFromStreams,
  Pipe,
  type PipeEnd,
  type ReadConnection,
  type WriteConnection,
} from "../mod.ts";
import { pipeTransportFromStreams, type Transport } from "../transports/mod.ts";
import {
  HAND_OFF,
  HAND_OFF_TRANSPORT,
  type HandedOffEnd,
  type HandedOffTransport,
  OPEN_TRANSPORT,
} from "../transports/pipe/channel.ts";
import { CONNECTION, openConnections, TRANSPORT } from "../actors/hosts/_connections.ts";
import type { pipePortHolder } from "./fixtures/pipe_port_actor.ts";
import { within } from "./_helpers.ts";
import {
  betweenTwoActors,
  bothWaysThenClose,
  crashMidStream,
  holding,
  sendThenExit,
  stopAfterUnreadValues,
  stopEndsTheWait,
} from "./_pipe_scenarios.ts";

const DEADLINE_MS = 10_000;
const HOLDER = new URL("./fixtures/pipe_port_actor.ts", import.meta.url);

type Offering = {
  [HAND_OFF_TRANSPORT](transport: Transport): HandedOffTransport | undefined;
  [HAND_OFF](): HandedOffEnd;
};

/** Two transports joined back to back, as the two sides of a bridge link. */
function link(): [Transport, Transport] {
  const ab = new TransformStream<Uint8Array, Uint8Array>();
  const ba = new TransformStream<Uint8Array, Uint8Array>();
  return [
    pipeTransportFromStreams(ba.readable, ab.writable),
    pipeTransportFromStreams(ab.readable, ba.writable),
  ];
}

/** Hands `end` off over `near`; fails the test when it goes another way. */
function handOffLink(end: unknown, near: Transport): HandedOffTransport {
  const offer = (end as Offering)[HAND_OFF_TRANSPORT](near);
  assert.ok(offer !== undefined, "the end should go over the link");
  return offer;
}

type OpenTransport = (transport: Transport, receives: boolean, sends: boolean) => unknown;

/**
 * The actor's side of a link, opened as a process actor's bootstrap opens
 * it: with the function `connectionFromStreams` keeps under `OPEN_TRANSPORT`.
 */
function farEnd<T>(offer: HandedOffTransport, far: Transport): Connection<T> {
  const open = (connectionFromStreams as unknown as { [OPEN_TRANSPORT]?: OpenTransport })[
    OPEN_TRANSPORT
  ];
  assert.equal(typeof open, "function");
  return open!(far, offer.receives, offer.sends) as Connection<T>;
}

Deno.test("inside a process actor, an end that came as a link opens on that link, and only with a module that can", () => {
  const transport = { name: "link" };
  const args = {
    end: { [TRANSPORT]: transport, readable: true, writable: false, [CONNECTION]: true },
  };
  const opened: unknown[] = [];
  const open = Object.assign(() => "streams", {
    [OPEN_TRANSPORT]: (...given: unknown[]) => (opened.push(given), "connection"),
  });
  assert.deepEqual(openConnections(args, open), { end: "connection" });
  assert.deepEqual(opened, [[transport, true, false]]);
  assert.throws(
    () => openConnections(args, () => "streams"),
    { name: "TypeError", message: "args.end: no module to open a connection with" },
  );
});

Deno.test("a Pipe() end handed off over a link carries values both ways, in order, to its unused peer", async () => {
  const [mine, theirs] = Pipe<unknown>();
  const [near, far] = link();
  const offer = handOffLink(theirs, near);
  assert.deepEqual([offer.receives, offer.sends], [true, true]);
  const actor = farEnd<unknown>(offer, far);
  // The end went to the actor: here it is no longer usable.
  assert.throws(() => theirs.send("mine?"), TypeError);
  const big = new Uint8Array(1 << 20).fill(3);
  // Not awaited: the link in memory has no room until the actor reads.
  for (const value of ["one", { two: 2n }, big]) mine.send(value);
  assert.equal(await actor.recv({ timeout: DEADLINE_MS }), "one");
  assert.deepEqual(await actor.recv({ timeout: DEADLINE_MS }), { two: 2n });
  assert.deepEqual(await actor.recv({ timeout: DEADLINE_MS }), big);
  await actor.send("back");
  assert.equal(await mine.recv({ timeout: DEADLINE_MS }), "back");
  await actor.close();
  await assert.rejects(mine.recv({ timeout: DEADLINE_MS }), {
    name: "ConnectionClosedError",
    message: /peer closed/,
  });
  await mine.close();
  await offer.settle();
});

Deno.test("settle() after the actor ended on a link: the peer gets what the actor sent, then ConnectionClosedError, and send() throws", async () => {
  const [mine, theirs] = Pipe<string>();
  const [near, far] = link();
  const offer = handOffLink(theirs, near);
  const actor = farEnd<string>(offer, far);
  // The actor sends and goes without closing (a crash): nobody here was reading.
  actor.send("last");
  actor.send("words");
  await offer.settle();
  assert.throws(() => mine.send("anyone there?"), ConnectionClosedError);
  assert.equal(await mine.recv({ timeout: DEADLINE_MS }), "last");
  assert.equal(await mine.recv({ timeout: DEADLINE_MS }), "words");
  await assert.rejects(mine.recv({ timeout: DEADLINE_MS }), {
    name: "ConnectionClosedError",
    message: /peer closed/,
  });
  // settle() closed the link here: the actor's side sees the end of it.
  await assert.rejects(actor.recv({ timeout: DEADLINE_MS }), ConnectionClosedError);
  await mine.close();
  await far.close();
});

Deno.test("settle() on a link ends a recv waiting for a value", async () => {
  const [mine, theirs] = Pipe<string>();
  const [near, far] = link();
  const offer = handOffLink(theirs, near);
  const waiting = mine.recv({ timeout: DEADLINE_MS });
  await offer.settle();
  await assert.rejects(within(waiting, DEADLINE_MS, "the waiting recv"), ConnectionClosedError);
  await mine.close();
  await far.close();
});

Deno.test("a one-way Pipe() end goes over a link with only its own direction", async () => {
  const [output, input] = Pipe<number>({ duplex: false });
  const [near, far] = link();
  const offer = handOffLink(input, near);
  assert.deepEqual([offer.receives, offer.sends], [false, true]);
  const actor = farEnd<number>(offer, far) as unknown as WriteConnection<number>;
  const received = Array.fromAsync(output);
  for (let i = 0; i < 3; i++) await actor.send(i);
  await actor.close();
  assert.deepEqual(await within(received, DEADLINE_MS, "the reader"), [0, 1, 2]);
  await output.close();
  await offer.settle();
});

Deno.test("an end whose peer was used here, or a pipe with its own limit, does not go over a link", async () => {
  const [near, far] = link();
  const [mine, theirs] = Pipe<string>();
  mine.send("used");
  assert.equal((theirs as unknown as Offering)[HAND_OFF_TRANSPORT](near), undefined);
  const [custom] = Pipe<string>({ maxFrameBytes: 1024 });
  assert.equal((custom as unknown as Offering)[HAND_OFF_TRANSPORT](near), undefined);
  // Not taken: the link is still the caller's to close.
  await Promise.all([near.close(), far.close(), mine.close(), theirs.close(), custom.close()]);
});

Deno.test("the peer of an end handed off over a link can be handed on, as streams bridged to it", async () => {
  const [mine, theirs] = Pipe<string>();
  const [near, far] = link();
  const offer = handOffLink(theirs, near);
  // Its partner gone, the peer can only go as streams (there is no other unused end).
  const [spare] = link();
  assert.equal((mine as unknown as Offering)[HAND_OFF_TRANSPORT](spare), undefined);
  await spare.close();
  const streams = (mine as unknown as Offering)[HAND_OFF]();
  const onward = connectionFromStreams<string>(streams as PipeEnd);
  const actor = farEnd<string>(offer, far);
  onward.send("there");
  assert.equal(await actor.recv({ timeout: DEADLINE_MS }), "there");
  await actor.send("back");
  assert.equal(await onward.recv({ timeout: DEADLINE_MS }), "back");
  await actor.close();
  await assert.rejects(onward.recv({ timeout: DEADLINE_MS }), ConnectionClosedError);
  await onward.close();
  await offer.settle();
});

Deno.test("[process] a Pipe() end over its link: values both ways, then the actor's close ends the parent's end", () =>
  bothWaysThenClose("process"));

Deno.test("[process] an actor that crashes on a Pipe() end over its link: the parent's end closes", async () => {
  const { system, mine, ref } = await holding<number>("process");
  await using _ = system;
  await ref.ask("send", [1, 2]);
  assert.equal(await mine.recv({ timeout: DEADLINE_MS }), 1);
  assert.equal(await mine.recv({ timeout: DEADLINE_MS }), 2);
  // Not a timeout: the parent learns at once that nobody will ever send.
  const waiting = assert.rejects(mine.recv({ timeout: DEADLINE_MS }), {
    name: "ConnectionClosedError",
    message: /peer closed/,
  });
  await assert.rejects(ref.ask("crash"), ActorCrashedError);
  await within(system.watch(ref), DEADLINE_MS, "the actor's exit");
  await waiting;
  assert.throws(() => mine.send(-1), ConnectionClosedError);
  await mine.close();
});

Deno.test("[process] an actor that crashes mid-stream on a Pipe() end over its link: every value it sent arrives, then the close", () =>
  crashMidStream("process"));

Deno.test("[process] an actor that sends on its Pipe() end and calls Deno.exit(): what it sent arrives, then recv() rejects", () =>
  sendThenExit("process"));

Deno.test("[process] an actor that stops while the parent waits on a Pipe() end over its link ends the wait", () =>
  stopEndsTheWait("process"));

Deno.test("[process] an actor stopped with 1000 values on a Pipe() end over its link unread: all arrive, then the close", () =>
  stopAfterUnreadValues("process"));

Deno.test("[process] an actor stopped with 1000 values unread on a pumped Pipe() end (its peer was used): all arrive, then the close", () =>
  stopAfterUnreadValues("process", true));

Deno.test("[process] an actor that crashes mid-stream on a pumped Pipe() end (its peer was used): every value it sent arrives, then the close", () =>
  crashMidStream("process", true));

for (const end of ["stop", "crash"] as const) {
  Deno.test(`[process] a Pipe() between two process actors: what one sent before its ${end} reaches the other, then the close`, () =>
    betweenTwoActors("process", end));
}

Deno.test("[process] an actor that stops with its Pipe() end open: what it sent is received, then recv() rejects", async () => {
  const { system, mine, ref } = await holding<string>("process");
  await using _ = system;
  mine.send("never read");
  await ref.ask("send", ["last", "words"]);
  assert.equal((await ref.stop()).reason, "normal");
  assert.equal(await mine.recv({ timeout: DEADLINE_MS }), "last");
  assert.equal(await mine.recv({ timeout: DEADLINE_MS }), "words");
  await assert.rejects(mine.recv({ timeout: DEADLINE_MS }), ConnectionClosedError);
  assert.throws(() => mine.send("anyone there?"), ConnectionClosedError);
  await mine.close();
});

Deno.test("[process] a one-way Pipe() end over its link: the actor sends, the parent reads until the actor stops", async () => {
  await using system = await ActorSystem.start();
  const [output, input] = Pipe<number>({ duplex: false });
  const ref = await system.spawn<typeof pipePortHolder>(HOLDER, {
    host: "process",
    args: { end: input as unknown as Connection<unknown> },
  });
  await using reader: ReadConnection<number> = output;
  await ref.ask("send", [1, 2, 3]);
  const received = Array.fromAsync(reader);
  await ref.stop(); // the actor never closed its end: stopping it does
  assert.deepEqual(await within(received, DEADLINE_MS, "the reader to end"), [1, 2, 3]);
});
