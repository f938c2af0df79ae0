// End-to-end scenarios of a `Pipe()` end handed to an actor while its peer
// here is unused, shared by the files of each way an end travels: over rings
// to a worker or thread actor (tests/pipe_ring_test.ts), over the bridge's
// link to a process actor (tests/pipe_link_test.ts). The same guarantees,
// so the same assertions.
import assert from "node:assert/strict";
import {
  ActorCrashedError,
  type ActorHostKind,
  ActorSystem,
  ConnectionClosedError,
  Pipe,
} from "../mod.ts";
import type { pipeRingHolder } from "./fixtures/pipe_ring_actor.ts";
import { within } from "./_helpers.ts";

const DEADLINE_MS = 10_000;
const HOLDER = new URL("./fixtures/pipe_ring_actor.ts", import.meta.url);

/**
 * A system, and an actor on `host` holding the far end of a fresh `Pipe()` whose near end is
 * `mine`. With `usedPeer`, `mine` sends `usedPeer.value` (which the actor does not read)
 * before the hand-off: the end then travels the pumped way, not over rings or the link.
 */
export async function holding<T>(host: ActorHostKind, usedPeer?: { value: T }) {
  const system = await ActorSystem.start();
  const [mine, theirs] = Pipe<T>();
  if (usedPeer) await mine.send(usedPeer.value);
  const ref = await system.spawn<typeof pipeRingHolder>(HOLDER, { host, args: { end: theirs } });
  return { system, mine, ref };
}

/** Values go both ways, a large one too; then the actor's close ends the parent's end. */
export async function bothWaysThenClose(host: ActorHostKind): Promise<void> {
  const { system, mine, ref } = await holding<unknown>(host);
  await using _ = system;
  const big = new Uint8Array(3 << 20).fill(7); // many rings' or socket reads' worth
  const echoed = ref.ask("echo", 3);
  for (const value of ["one", { two: 2n }, big]) await mine.send(value);
  assert.equal(await mine.recv({ timeout: DEADLINE_MS }), "one");
  assert.deepEqual(await mine.recv({ timeout: DEADLINE_MS }), { two: 2n });
  assert.deepEqual(await mine.recv({ timeout: DEADLINE_MS }), big);
  await echoed;
  await ref.ask("send", ["after", "echo"]);
  await ref.ask("close");
  assert.equal(await mine.recv({ timeout: DEADLINE_MS }), "after");
  assert.equal(await mine.recv({ timeout: DEADLINE_MS }), "echo");
  await assert.rejects(mine.recv({ timeout: DEADLINE_MS }), ConnectionClosedError);
  await mine.close();
}

/**
 * The actor sends 1000 values and crashes while the parent reads slowly: all arrive, then the
 * close (with `pumped`, on an end whose peer was used before the hand-off).
 */
export async function crashMidStream(host: ActorHostKind, pumped = false): Promise<void> {
  const { system, mine, ref } = await holding<number>(host, pumped ? { value: -1 } : undefined);
  await using _ = system;
  const values = Array.from({ length: 1000 }, (_, i) => i);
  await ref.ask("send", values);
  // The parent reads slowly: a few values, then the crash, then the rest.
  for (let i = 0; i < 3; i++) assert.equal(await mine.recv({ timeout: DEADLINE_MS }), i);
  await assert.rejects(ref.ask("crash"), ActorCrashedError);
  await within(system.watch(ref), DEADLINE_MS, "the actor's exit");
  for (let i = 3; i < values.length; i++) {
    assert.equal(await mine.recv({ timeout: DEADLINE_MS }), i);
  }
  await assert.rejects(mine.recv({ timeout: DEADLINE_MS }), {
    name: "ConnectionClosedError",
    message: /peer closed/,
  });
  assert.throws(() => mine.send(-1), ConnectionClosedError);
  await mine.close();
}

/**
 * The actor sends 1000 values nobody reads yet, then is stopped: all arrive, then the close
 * (with `pumped`, on an end whose peer was used before the hand-off).
 */
export async function stopAfterUnreadValues(host: ActorHostKind, pumped = false): Promise<void> {
  const { system, mine, ref } = await holding<number>(host, pumped ? { value: -1 } : undefined);
  await using _ = system;
  const values = Array.from({ length: 1000 }, (_, i) => i);
  await ref.ask("send", values);
  assert.equal((await ref.stop()).reason, "normal");
  for (const value of values) assert.equal(await mine.recv({ timeout: DEADLINE_MS }), value);
  await assert.rejects(mine.recv({ timeout: DEADLINE_MS }), ConnectionClosedError);
  await mine.close();
}

/**
 * A `Pipe()` between two actors on `host`: one sends 1000 values the other has not read yet and
 * then stops or crashes; the other reads all of them, then the close.
 */
export async function betweenTwoActors(host: ActorHostKind, end: "stop" | "crash"): Promise<void> {
  await using system = await ActorSystem.start();
  const [left, right] = Pipe<number>();
  const sender = await system.spawn<typeof pipeRingHolder>(HOLDER, { host, args: { end: left } });
  const reader = await system.spawn<typeof pipeRingHolder>(HOLDER, { host, args: { end: right } });
  await sender.ask("send", Array.from({ length: 1000 }, (_, i) => i));
  if (end === "stop") assert.equal((await sender.stop()).reason, "normal");
  else {
    await assert.rejects(sender.ask("crash"), ActorCrashedError);
    await within(system.watch(sender), DEADLINE_MS, "the sender's exit");
  }
  assert.deepEqual(await reader.ask("drain", undefined, { timeout: 2 * DEADLINE_MS }), {
    count: 1000,
    error: "ConnectionClosedError",
  });
}

/** The actor stops while the parent waits on its end: the wait ends, and sends fail. */
export async function stopEndsTheWait(host: ActorHostKind): Promise<void> {
  const { system, mine, ref } = await holding<string>(host);
  await using _ = system;
  mine.send("never read");
  // Handled now: the end may close before stop() resolves (a process's link does).
  const waiting = assert.rejects(mine.recv({ timeout: DEADLINE_MS }), ConnectionClosedError);
  await ref.stop();
  await waiting;
  assert.throws(() => mine.send("anyone there?"), ConnectionClosedError);
  await mine.close();
}

/** The actor sends without waiting, then calls `Deno.exit()`: what it sent arrives, then the close. */
export async function sendThenExit(host: ActorHostKind): Promise<void> {
  const { system, mine, ref } = await holding<number>(host);
  await using _ = system;
  const values = Array.from({ length: 1000 }, (_, i) => i);
  await ref.ask("sendThenExit", values).catch(() => {});
  await within(system.watch(ref).catch(() => {}), DEADLINE_MS, "the actor's exit");
  const got: number[] = [];
  const closed = await (async () => {
    while (true) got.push(await mine.recv({ timeout: DEADLINE_MS }));
  })().catch((error) => error);
  assert.equal(closed.name, "ConnectionClosedError");
  assert.deepEqual(got, values);
  await mine.close();
}
