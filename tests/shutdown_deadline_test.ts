// One deadline for a whole stop: a shutdown's timeout bounds the whole tree
// (supervisors stop their children one after another, in reverse order, as
// OTP does, out of the one deadline), and a supervised ref's stop takes the
// timeout it is given, as a plain ref's does.
import assert from "node:assert/strict";
import { ActorSystem } from "../mod.ts";
import type { slowStop } from "./fixtures/slow_stop_actor.ts";

const module = new URL("./fixtures/slow_stop_actor.ts", import.meta.url);
const TIMEOUT = 600;

Deno.test("shutdown({ timeout }) stops a whole supervision tree within that timeout, not one per child", async () => {
  await using system = await ActorSystem.start();
  await system.supervise({
    id: "root",
    children: [
      // Started first, stopped last: the ones before it hang, and it still
      // gets its share of the deadline to run its (quick) stop hook.
      { id: "db", module, args: { quick: true } },
      { id: "a", module },
      { id: "b", module },
      { id: "inner", children: [{ id: "c", module }, { id: "d", module }] },
    ],
  });
  const loose = await system.spawn<typeof slowStop>(module, { id: "loose" });
  assert.equal(await loose.ask("ping"), "pong");
  await system.spawn<typeof slowStop>(module, { id: "quick-loose", args: { quick: true } });
  const started = performance.now();
  const result = await system.shutdown({ timeout: TIMEOUT });
  const took = performance.now() - started;
  // Each child alone takes the whole timeout: five in a row took five times it.
  assert.ok(
    took < 2 * TIMEOUT,
    `the shutdown took ${took.toFixed(0)} ms, for a timeout of ${TIMEOUT}`,
  );
  assert.deepEqual(result.terminated.toSorted(), ["a", "b", "c", "d", "loose"]);
  assert.deepEqual(result.stopped.toSorted(), ["db", "quick-loose"]);
});

Deno.test("a supervised ref's stop({ timeout }) takes that timeout, below the child's shutdown", async () => {
  await using system = await ActorSystem.start();
  const root = await system.supervise({
    id: "root",
    children: [{ id: "a", module, shutdown: 30_000 }],
  });
  const started = performance.now();
  const exit = await root.ref<typeof slowStop>("a").stop({ timeout: TIMEOUT });
  const took = performance.now() - started;
  assert.ok(took < 5 * TIMEOUT, `the stop took ${took.toFixed(0)} ms, for a timeout of ${TIMEOUT}`);
  assert.equal(exit.reason, "timeout");
  await system.shutdown({ timeout: 100 });
});
