/**
 * A `Pipe()` end handed to a worker actor while its peer end is unused goes
 * as a `MessagePort` straight to that peer (`HAND_OFF_PORT`), which then
 * runs its frames over the port: no web streams and no pump in this thread.
 * The first tests play the worker's side in this thread, over the port the
 * hand-off gave (as the worker's bootstrap opens it); the last ones hand the
 * end to a real worker actor, which since the ring hand-off (tried first,
 * `HAND_OFF_RINGS`) gets it over shared memory: tests/pipe_ring_test.ts
 * checks the values, the close and a crash there, on worker and thread
 * actors; these check that a stop or a refused spawn leaves no port open.
 * The resource sanitizer checks that every port is closed at the end.
 */

import assert from "node:assert/strict";
import {
  ActorSystem,
  type Connection,
  ConnectionClosedError,
  connectionFromStreams,
  Pipe,
  type PipeEnd,
  type ReadConnection,
  type WriteConnection,
} from "../mod.ts";
import {
  HAND_OFF,
  HAND_OFF_PORT,
  type HandedOffEnd,
  type HandedOffPort,
  OPEN_PORT,
} from "../transports/pipe/channel.ts";
import { PIPE_END_WINDOW_BYTES, portStreams, webStreamsOver } from "../internal/port_streams.ts";
import type { pipePortHolder } from "./fixtures/pipe_port_actor.ts";
import { within } from "./_helpers.ts";

const DEADLINE_MS = 10_000;
const HOLDER = new URL("./fixtures/pipe_port_actor.ts", import.meta.url);

type Offering = { [HAND_OFF_PORT](): HandedOffPort | undefined; [HAND_OFF](): HandedOffEnd };

/** Hands `end` off as a port; fails the test when it goes another way. */
function handOffPort(end: unknown): HandedOffPort {
  const port = (end as Offering)[HAND_OFF_PORT]();
  assert.ok(port !== undefined, "the end should go as a port");
  return port;
}

type OpenPort = (port: MessagePort, receives: boolean, sends: boolean) => unknown;

/**
 * The worker's side of a handed-off port, opened as the worker's bootstrap
 * opens it: with the function `connectionFromStreams` keeps under `OPEN_PORT`.
 */
function farEnd<T>(offer: HandedOffPort): Connection<T> {
  const open = (connectionFromStreams as unknown as { [OPEN_PORT]?: OpenPort })[OPEN_PORT];
  assert.equal(typeof open, "function");
  return open!(offer.port, offer.receives, offer.sends) as Connection<T>;
}

/** Whether a promise is still pending once the current macrotask has run. */
async function isPending(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol("pending");
  const later = new Promise((resolve) => setTimeout(() => resolve(marker), 0));
  return await Promise.race([promise.then(() => false, () => false), later]) === marker;
}

Deno.test("a Pipe() end handed off as a port carries values both ways, in order, to its unused peer", async () => {
  const [mine, theirs] = Pipe<unknown>();
  const offer = handOffPort(theirs);
  assert.equal(offer.receives, true);
  assert.equal(offer.sends, true);
  const far = farEnd<unknown>(offer);
  const values = [1, "two", { three: [3] }, new Uint8Array(70_000).fill(4), null];
  for (const value of values) mine.send(value);
  for (const value of values) assert.deepEqual(await far.recv({ timeout: DEADLINE_MS }), value);
  // The big one fills the window: the send after it waits until this side reads.
  const sent = Promise.all(values.map((value) => far.send(value)));
  for (const value of values) assert.deepEqual(await mine.recv({ timeout: DEADLINE_MS }), value);
  await within(sent, DEADLINE_MS, "the far side's sends");
  // The end went to the actor: here it is no longer usable.
  assert.throws(() => theirs.send("mine?"), TypeError);
  await far.close();
  await mine.close();
  await offer.settle();
});

Deno.test("when the far end of a port closes, the peer receives everything sent before the close, then ConnectionClosedError", async () => {
  const [mine, theirs] = Pipe<number>();
  const offer = handOffPort(theirs);
  const far = farEnd<number>(offer);
  for (let i = 0; i < 100; i++) far.send(i);
  await far.close();
  const got: number[] = [];
  for (let i = 0; i < 100; i++) got.push(await mine.recv({ timeout: DEADLINE_MS }));
  assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => i));
  await assert.rejects(mine.recv({ timeout: DEADLINE_MS }), {
    name: "ConnectionClosedError",
    message: /peer closed/,
  });
  await mine.close();
  await offer.settle();
});

Deno.test("settle() after the actor ended: the peer gets what the actor sent, then ConnectionClosedError, and send() throws", async () => {
  const [mine, theirs] = Pipe<string>();
  const offer = handOffPort(theirs);
  // The worker's side posts two frames and goes without closing (a crash).
  const parts = portStreams(offer.port, PIPE_END_WINDOW_BYTES);
  const far = connectionFromStreams<string>(
    webStreamsOver(parts, { readable: true, writable: true }) as PipeEnd,
  );
  await far.send("last");
  await far.send("words");
  const waiting = mine.recv({ timeout: DEADLINE_MS });
  await offer.settle();
  assert.equal(await waiting, "last");
  assert.equal(await mine.recv({ timeout: DEADLINE_MS }), "words");
  await assert.rejects(mine.recv({ timeout: DEADLINE_MS }), ConnectionClosedError);
  assert.throws(() => mine.send("anyone there?"), ConnectionClosedError);
  await mine.close();
  await far.close();
});

Deno.test("settle() ends a send waiting for room, and a peer never used still gets what was sent", async () => {
  const [mine, theirs] = Pipe<Uint8Array>();
  const offer = handOffPort(theirs);
  const far = farEnd<Uint8Array>(offer);
  await far.send(new Uint8Array([9]));
  // The far side never reads: sends wait once the window is full.
  let waiting: void | Promise<void> = undefined;
  for (let i = 0; i < 64 && waiting === undefined; i++) {
    waiting = mine.send(new Uint8Array(4096));
    await Promise.resolve(); // the frame is written on a microtask
  }
  assert.ok(waiting instanceof Promise, "a send should wait once 64 KiB are in flight");
  assert.equal(await isPending(waiting), true);
  await offer.settle();
  await assert.rejects(within(waiting, DEADLINE_MS, "the waiting send"), ConnectionClosedError);
  assert.deepEqual(await mine.recv({ timeout: DEADLINE_MS }), new Uint8Array([9]));
  await assert.rejects(mine.recv({ timeout: DEADLINE_MS }), ConnectionClosedError);
  await mine.close();
  await far.close();
});

Deno.test("a send through a port waits for room once 64 KiB are unread, and resumes when the far side reads", async () => {
  const [mine, theirs] = Pipe<Uint8Array>();
  const offer = handOffPort(theirs);
  const far = farEnd<Uint8Array>(offer);
  let sent = 0;
  let waiting: void | Promise<void> = undefined;
  while (waiting === undefined && sent < 64) {
    waiting = mine.send(new Uint8Array(4096).fill(sent));
    sent++;
    await Promise.resolve(); // the frame is written on a microtask
  }
  assert.ok(waiting instanceof Promise, "a send should wait once the window is full");
  assert.ok(sent <= PIPE_END_WINDOW_BYTES / 4096 + 1, `waited only after ${sent} sends`);
  assert.equal(await isPending(waiting), true);
  for (let i = 0; i < sent; i++) {
    assert.deepEqual(await far.recv({ timeout: DEADLINE_MS }), new Uint8Array(4096).fill(i));
  }
  await within(waiting, DEADLINE_MS, "room after the reads");
  await mine.close();
  await assert.rejects(far.recv({ timeout: DEADLINE_MS }), ConnectionClosedError);
  await far.close();
  await offer.settle();
});

Deno.test("a one-way Pipe() end goes as a port with only its own direction", async () => {
  const [output, input] = Pipe<number>({ duplex: false });
  const offer = handOffPort(input);
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

Deno.test("an end whose peer was used here goes as streams, not as a port", async () => {
  const [mine, theirs] = Pipe<string>();
  mine.send("before");
  assert.equal((theirs as unknown as Offering)[HAND_OFF_PORT](), undefined);
  const streams = (theirs as unknown as Offering)[HAND_OFF]();
  const far = connectionFromStreams<string>(streams as PipeEnd);
  assert.equal(await far.recv({ timeout: DEADLINE_MS }), "before");
  await far.close();
  await mine.close();
});

Deno.test("a Pipe() with its own frame limit is not handed off as a port", async () => {
  const [mine, theirs] = Pipe<string>({ maxFrameBytes: 1024 });
  assert.equal((theirs as unknown as Offering)[HAND_OFF_PORT](), undefined);
  assert.throws(() => (theirs as unknown as Offering)[HAND_OFF](), /its own codec or frame limit/);
  await mine.close();
  await theirs.close();
});

Deno.test("the peer of an end handed off as a port can be handed on, as web streams over the port", async () => {
  const [mine, theirs] = Pipe<string>();
  const offer = handOffPort(theirs);
  assert.equal((mine as unknown as Offering)[HAND_OFF_PORT](), undefined);
  const streams = (mine as unknown as Offering)[HAND_OFF]();
  assert.ok(streams.readable instanceof ReadableStream);
  assert.ok(streams.writable instanceof WritableStream);
  const near = connectionFromStreams<string>(streams as PipeEnd);
  const far = farEnd<string>(offer);
  near.send("there");
  assert.equal(await far.recv({ timeout: DEADLINE_MS }), "there");
  far.send("back");
  assert.equal(await near.recv({ timeout: DEADLINE_MS }), "back");
  await far.close();
  await assert.rejects(near.recv({ timeout: DEADLINE_MS }), ConnectionClosedError);
  await near.close();
  await offer.settle();
});

Deno.test("[worker] an actor that stops with values unread on a Pipe() end handed as a port leaves no port open", async () => {
  await using system = await ActorSystem.start();
  const [mine, theirs] = Pipe<string>();
  const ref = await system.spawn<typeof pipePortHolder>(HOLDER, { args: { end: theirs } });
  mine.send("never read");
  await ref.stop();
  await assert.rejects(mine.recv({ timeout: DEADLINE_MS }), ConnectionClosedError);
  await mine.close();
});

Deno.test("[worker] a spawn refused over another end leaves no port open for an end that went as a port", async () => {
  await using system = await ActorSystem.start();
  const [mine, theirs] = Pipe<string>();
  const [custom, other] = Pipe<string>({ maxFrameBytes: 1024 });
  await assert.rejects(
    // An extra end the actor does not declare: only the refusal is under test.
    system.spawn<typeof pipePortHolder>(HOLDER, {
      args: { end: theirs, also: custom } as { end: typeof theirs },
    }),
    /its own codec or frame limit/,
  );
  // The end that went as a port is gone with the refused spawn: its peer here ends.
  await assert.rejects(mine.recv({ timeout: DEADLINE_MS }), ConnectionClosedError);
  await mine.close();
  await custom.close();
  await other.close();
});
