// One Pipe API: an end of `Pipe()` in spawn args reaches the actor as a
// ready connection, on every host and over the transports they use.
import assert from "node:assert/strict";
import {
  ActorCrashedError,
  type ActorHostKind,
  ActorSystem,
  ConnectionClosedError,
  connectionFromStreams,
  Pipe,
  pipeEnds,
} from "../mod.ts";
import type { pipeHolder } from "./fixtures/pipe_end_actor.ts";
import type { pipePeer } from "./fixtures/pipe_connection_actor.ts";

const PEER = new URL("./fixtures/pipe_connection_actor.ts", import.meta.url);
const HOLDER = new URL("./fixtures/pipe_end_actor.ts", import.meta.url);
const ROUTES: [ActorHostKind, string][] = [
  ["worker", "queue"],
  ["worker", "ring"],
  ["process", "pipe"],
  ["process", "socket"],
  ["thread", "queue"],
  ["thread", "ring"],
];

for (const [host, transport] of ROUTES) {
  Deno.test(`[${transport} on ${host}] a Pipe() end handed to an actor arrives as a connection`, async () => {
    await using system = await ActorSystem.start();
    const [mine, theirs] = Pipe<string>();
    const [logs, log] = Pipe<string>({ duplex: false });
    const ref = await system.spawn<typeof pipePeer>(PEER, {
      host,
      transport,
      args: { end: theirs, log },
    });
    assert.equal(await ref.ask("kind"), true);
    const shouted = ref.ask("shout");
    await mine.send("hello");
    assert.equal(await mine.recv({ timeout: 10_000 }), "HELLO");
    assert.equal(await shouted, "hello");
    assert.equal(await logs.recv({ timeout: 10_000 }), "shouted hello");
    // The end went to the actor: here it is no longer usable.
    assert.throws(() => theirs.send("mine?"), TypeError);
    assert.throws(() => theirs.recv(), TypeError);
    await ref.ask("close");
    await assert.rejects(mine.recv({ timeout: 10_000 }), ConnectionClosedError);
    await mine.close();
    await logs.close();
  });
}

Deno.test("a Pipe() end already used here, or handed off once, is refused at spawn with a TypeError", async () => {
  await using system = await ActorSystem.start();
  const [mine, theirs] = Pipe<string>();
  // Used here: a receive opened it (nothing is sent, so nothing is left unread).
  await assert.rejects(mine.recv({ timeout: 1 }), { name: "TimeoutError" });
  await assert.rejects(
    system.spawn<typeof pipePeer>(PEER, { args: { end: mine } }),
    /args\.end: Cannot hand this pipe end to an actor: it was used here already/,
  );
  const ref = await system.spawn<typeof pipePeer>(PEER, { args: { end: theirs } });
  await assert.rejects(
    system.spawn<typeof pipePeer>(PEER, { args: { end: theirs } }),
    /went to another one already/,
  );
  const [custom] = Pipe<string>({ maxFrameBytes: 1024 });
  await assert.rejects(
    system.spawn<typeof pipePeer>(PEER, { args: { end: custom } }),
    /its own codec or frame limit/,
  );
  await ref.stop();
  await mine.close();
  await custom.close();
});

// Was a defect: a worker actor that stopped with bytes still unread on its
// pipe end left one MessagePort of the transferred web stream open here (the
// resource sanitizer saw it), for a `Pipe()` end and a `pipeEnds()` end
// alike. A worker's ends now travel as ports the parent closes itself.
Deno.test("a worker actor that stops with unread pipe data leaves no port open", async () => {
  await using system = await ActorSystem.start();
  const [mine, theirs] = Pipe<string>();
  mine.send("never read");
  const ref = await system.spawn<typeof pipePeer>(PEER, { args: { end: theirs } });
  await ref.stop();
  await assert.rejects(mine.recv({ timeout: 10_000 }), ConnectionClosedError);
  await mine.close();
});

Deno.test("a worker actor that crashes with unread pipeEnds() data leaves no port open", async () => {
  await using system = await ActorSystem.start();
  const [here, there] = pipeEnds();
  const mine = connectionFromStreams<string>(here);
  mine.send("never read");
  const ref = await system.spawn<typeof pipeHolder>(HOLDER, {
    args: { label: "crash", end: there },
  });
  await ref.ask("send", ["before the crash"]);
  assert.equal(await mine.recv({ timeout: 10_000 }), "before the crash");
  await assert.rejects(ref.ask("crash"), ActorCrashedError);
  await assert.rejects(mine.recv({ timeout: 10_000 }), ConnectionClosedError);
  await mine.close();
});
