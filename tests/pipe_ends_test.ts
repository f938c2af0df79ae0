import assert from "node:assert/strict";
import {
  ActorCrashedError,
  ActorSystem,
  ConnectionClosedError,
  connectionFromStreams,
  type PipeEnd,
  pipeEnds,
  SpawnError,
} from "../mod.ts";
import type { pipeHolder } from "./fixtures/pipe_end_actor.ts";
import { within } from "./_helpers.ts";

const HOLDER = new URL("./fixtures/pipe_end_actor.ts", import.meta.url);
const DEADLINE_MS = 20_000;

/** An actor of `host` holding one end of a duplex pipe, and the parent's end, open. */
async function holding(system: ActorSystem, host: "worker" | "process" | "thread", label: string) {
  const [mine, theirs] = pipeEnds();
  const ref = await system.spawn<typeof pipeHolder>(HOLDER, { host, args: { label, end: theirs } });
  const parent = connectionFromStreams<unknown>(mine);
  return { ref, parent, [Symbol.asyncDispose]: () => parent.close() };
}

for (const host of ["worker", "process", "thread"] as const) {
  Deno.test(`[${host}] a pipe end in spawn args reaches the actor and carries values both ways`, async () => {
    await using system = await ActorSystem.start();
    await using held = await holding(system, host, "nested");
    const { ref, parent } = held;
    const big = new Uint8Array(3 << 20).fill(7); // several chunks on the way
    const echoed = ref.ask("echo", 3);
    for (const value of ["one", { two: 2 }, big]) await parent.send(value);
    assert.equal(await parent.recv({ timeout: DEADLINE_MS }), "one");
    assert.deepEqual(await parent.recv({ timeout: DEADLINE_MS }), { two: 2 });
    assert.deepEqual(await parent.recv({ timeout: DEADLINE_MS }), big);
    await echoed;
    await ref.ask("close");
    await assert.rejects(parent.recv({ timeout: DEADLINE_MS }), ConnectionClosedError);
  });

  Deno.test(`[${host}] when the actor holding a pipe end crashes, the parent's end closes`, async () => {
    await using system = await ActorSystem.start();
    await using held = await holding(system, host, "crashy");
    const { ref, parent } = held;
    // Not a timeout: the parent learns at once that nobody will ever send.
    const waiting = assert.rejects(parent.recv({ timeout: DEADLINE_MS }), {
      name: "ConnectionClosedError",
      message: /peer closed/,
    });
    await assert.rejects(ref.ask("crash"), ActorCrashedError);
    await within(system.watch(ref), DEADLINE_MS, "the actor's exit");
    await waiting;
    assert.throws(() => parent.send("anyone there?"), ConnectionClosedError);
  });

  Deno.test(`[${host}] what the actor sent before it stopped is received, then recv() rejects`, async () => {
    await using system = await ActorSystem.start();
    await using held = await holding(system, host, "last words");
    const { ref, parent } = held;
    await ref.ask("send", ["last", { words: true }]);
    assert.equal((await ref.stop()).reason, "normal");
    // Nobody was receiving while the actor stopped: its values wait here.
    assert.equal(await parent.recv({ timeout: DEADLINE_MS }), "last");
    assert.deepEqual(await parent.recv({ timeout: DEADLINE_MS }), { words: true });
    await assert.rejects(parent.recv({ timeout: DEADLINE_MS }), ConnectionClosedError);
    await assert.rejects(parent.recv({ timeout: DEADLINE_MS }), ConnectionClosedError);
  });

  Deno.test(`[${host}] a one-way end: the actor sends, the parent reads until the actor stops`, async () => {
    await using system = await ActorSystem.start();
    const [output, input] = pipeEnds({ duplex: false });
    const ref = await system.spawn<typeof pipeHolder>(HOLDER, {
      host,
      args: { label: "one-way", end: input as unknown as PipeEnd },
    });
    await using reader = connectionFromStreams<number>(output);
    await ref.ask("send", [1, 2, 3]);
    const received = Array.fromAsync(reader);
    await ref.stop(); // the actor never closed its end: stopping it does
    assert.deepEqual(await within(received, DEADLINE_MS, "the reader to end"), [1, 2, 3]);
  });
}

Deno.test("a pipe end goes to one actor, once: a second spawn with it fails and says where", async () => {
  await using system = await ActorSystem.start();
  const [mine, theirs] = pipeEnds();
  await system.spawn<typeof pipeHolder>(HOLDER, { args: { label: "first", end: theirs } });
  const error = await system.spawn<typeof pipeHolder>(HOLDER, {
    args: { label: "second", end: theirs },
  }).catch((e) => e);
  assert.ok(error instanceof SpawnError, `expected SpawnError, got ${error}`);
  assert.match(String(error.cause), /args\.end is a pipe end already in use/);
  await connectionFromStreams(mine).close();
});
