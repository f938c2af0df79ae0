// The core's extensions (`actors/core/extension.ts`): a worker that crashed
// runs on, for its extensions to finish, until the parent's ends of them
// closed, within `EXTENSION_CRASH_MS`; then it is terminated.
import assert from "node:assert/strict";
import { ActorSystem } from "../mod.ts";
import { targetOf } from "../actors/core/actor_ref.ts";
import type { ActorCell } from "../actors/core/cell.ts";
import { EXTENSION_CRASH_MS } from "../actors/core/extension.ts";
import { within } from "./_helpers.ts";
import type { inActorProbe } from "./fixtures/in_actor_probe.ts";

const PROBE = new URL("./fixtures/in_actor_probe.ts", import.meta.url);
const EXTENSION = new URL("./fixtures/crash_extension.ts", import.meta.url).href;

/** Whether the flag at `at` was raised within `ms` (a timer keeps the event loop alive meanwhile). */
async function raised(flags: Int32Array, at: number, ms: number): Promise<boolean> {
  const waiting = Atomics.waitAsync(flags, at, 0, ms);
  if (!waiting.async) return waiting.value !== "timed-out";
  return await within(waiting.value, ms + 1000, `flag ${at}`) !== "timed-out";
}

/** A probe actor with the crash extension loaded (its `extend` answered by a round trip). */
async function extended(system: ActorSystem) {
  const ref = await system.spawn<typeof inActorProbe>(PROBE, { args: {} });
  const cell = targetOf(ref) as ActorCell;
  const flags = new Int32Array(new SharedArrayBuffer(12));
  const end = cell.extend(EXTENSION, { flags: flags.buffer }, () => {});
  assert.ok(end !== undefined);
  // In order with the channel: once this is answered, the extension is loaded... or loading.
  assert.equal(await ref.ask("echo", 1), 1);
  return { ref, cell, flags, end };
}

Deno.test("extension: a crashed worker runs on until the extension's end closes", async () => {
  await using system = await ActorSystem.start();
  const { ref, cell, flags, end } = await extended(system);
  let exited = false;
  void cell.exited.then(() => exited = true);
  ref.tell("crashSoon", undefined);
  assert.ok(await raised(flags, 0, 10_000), "the extension heard of the crash");
  // The thread runs on: a timer of its own fires 50 ms after the crash.
  assert.ok(await raised(flags, 2, 10_000), "the crashed thread ran on");
  assert.equal(exited, false);
  end.close();
  const exit = await within(cell.exited, 5000, "the exit");
  assert.equal(exit.reason, "error");
  assert.match(String(exit.error), /crashed on purpose/);
});

Deno.test("extension: a crashed worker whose extension's end stays open is terminated within the bound", async () => {
  await using system = await ActorSystem.start();
  const { ref, cell, flags } = await extended(system);
  ref.tell("crashSoon", undefined);
  assert.ok(await raised(flags, 0, 10_000), "the extension heard of the crash");
  const heard = performance.now();
  const exit = await within(cell.exited, 5000, "the exit");
  const took = performance.now() - heard;
  console.log(`  exit ${took.toFixed(0)} ms after the crash`);
  assert.equal(exit.reason, "error");
  // It waited for the end, at most the bound (timers may fire a little early or late).
  assert.ok(took > EXTENSION_CRASH_MS * 0.9, `${took} ms`);
  // It ran on meanwhile (its 50 ms timer fired), and was then ended.
  assert.equal(Atomics.load(flags, 2), 1);
});
