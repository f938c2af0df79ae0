// A tell that waits gives up on its signal or timeout, wherever it waits: in
// a full pool (`size * capacity` tasks in flight) and in a supervised ref
// whose child is in its restart backoff. Given up, it is never delivered and
// is no dead letter. (The mailbox case runs on every host and transport in
// the conformance suite.)
import assert from "node:assert/strict";
import { ActorSystem, type DeadLetter, type LifecycleEvent } from "../mod.ts";
import type { poolFeaturesWorker } from "./fixtures/pool_features_worker.ts";
import { GATE } from "./fixtures/pool_features_worker.ts";
import type { crashy } from "./fixtures/crashy_actor.ts";
import { within } from "./_helpers.ts";

const POOL_WORKER = new URL("./fixtures/pool_features_worker.ts", import.meta.url);
const CRASHY = new URL("./fixtures/crashy_actor.ts", import.meta.url);

const isTimeout = (e: unknown) => e instanceof DOMException && e.name === "TimeoutError";

Deno.test("a pool's tell gives up waiting for room on its signal or timeout; the task never runs", async () => {
  const letters: DeadLetter[] = [];
  await using system = await ActorSystem.start({ onDeadLetter: (l) => letters.push(l) });
  const flags = new Int32Array(new SharedArrayBuffer(64));
  const pool = await system.pool<typeof poolFeaturesWorker>(POOL_WORKER, {
    size: 1,
    capacity: 2,
    args: { config: "", flags: flags.buffer },
  });
  // Two held tasks fill the pool's bound (1 worker x capacity 2).
  await pool.tell("held", 1);
  await pool.tell("held", 2);
  const controller = new AbortController();
  const reason = new Error("not needed any more");
  const aborted = pool.tell("task", 3, { signal: controller.signal });
  const timedOut = pool.tell("task", 4, { timeout: 20 });
  controller.abort(reason);
  await assert.rejects(aborted, (e) => e === reason);
  await assert.rejects(timedOut, isTimeout);
  await assert.rejects(pool.tell("task", 5, { signal: controller.signal }), (e) => e === reason);
  Atomics.store(flags, GATE, 1);
  Atomics.notify(flags, GATE);
  await within(pool.drain(), 10_000, "the held tasks");
  assert.equal(pool.stats().completed, 2, "only the two held tasks ran");
  // Room again: a tell with options goes through at once.
  await pool.tell("task", 6, { timeout: 1000 });
  await within(pool.drain(), 10_000, "the last task");
  assert.equal(pool.stats().completed, 3);
  await pool.close();
  assert.deepEqual(letters, []);
});

Deno.test("a supervised ref's tell held during the restart backoff gives up on its signal or timeout", async () => {
  const letters: DeadLetter[] = [];
  await using system = await ActorSystem.start({ onDeadLetter: (l) => letters.push(l) });
  const events = system.events();
  const root = await system.supervise({
    id: "root",
    strategy: "one-for-one",
    // A backoff longer than the test: the child stays down while tells wait for it.
    backoff: { initialMs: 60_000, maxMs: 60_000 },
    children: [{ id: "c", module: CRASHY }],
  });
  const ref = root.ref<typeof crashy>("c");
  await ref.tell("inc", 1);
  void ref.tell("crash");
  await within(
    (async () => {
      for await (const event of events as AsyncIterable<LifecycleEvent>) {
        if (event.type === "crashed" && event.id === "c") return;
      }
    })(),
    10_000,
    "the crash",
  );
  const controller = new AbortController();
  const reason = new Error("gave up on c");
  const aborted = ref.tell("inc", 10, { signal: controller.signal });
  const timedOut = ref.tell("inc", 100, { timeout: 20 });
  controller.abort(reason);
  await assert.rejects(aborted, (e) => e === reason);
  await assert.rejects(timedOut, isTimeout);
  await assert.rejects(ref.tell("inc", 1000, { signal: controller.signal }), (e) => e === reason);
  assert.equal(ref.stats().waiting, 0, "nothing is held for the next incarnation");
  await events.return?.();
  await root.stop();
  assert.deepEqual(letters.filter((l) => l.messageName === "inc"), []);
});
