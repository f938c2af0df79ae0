// Issue 16 point 2: no promise inside the runtime may reject unhandled, and the
// test suite must fail when one does. In the test process Deno already fails
// the test. Inside an actor an unhandled rejection is the actor's crash, which
// the suite cannot tell from a fixture's deliberate one; so an unhandled
// rejection whose reason is one of Troupe's own errors (what a promise of the
// runtime rejects with) is marked on its way to the parent, and a parent run
// with TROUPE_STRICT_UNHANDLED=1 (the project's test task sets it) reports it
// as an uncaught error, which fails the test that caused it.
import assert from "node:assert/strict";
import { ActorCrashedError, ActorSystem } from "../mod.ts";
import type { probe } from "./fixtures/probe_actor.ts";
import { within } from "./_helpers.ts";
import * as errors from "../internal/errors.ts";
import { TROUPE_ERROR_NAMES } from "../internal/runtime_rejection.ts";

const PROBE = new URL("./fixtures/probe_actor.ts", import.meta.url);
const VAR = "TROUPE_STRICT_UNHANDLED";

/** Runs `body` with the variable set as given, catching what the parent reports as uncaught. */
async function reported(
  strict: boolean,
  body: (system: ActorSystem) => Promise<void>,
): Promise<Error[]> {
  const before = Deno.env.get(VAR);
  if (strict) Deno.env.set(VAR, "1");
  else Deno.env.delete(VAR);
  const seen: Error[] = [];
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    seen.push(event.error);
  };
  globalThis.addEventListener("error", onError);
  try {
    await using system = await ActorSystem.start();
    await body(system);
    // The report is made when the crash arrives, before the ask rejects.
    return seen;
  } finally {
    globalThis.removeEventListener("error", onError);
    if (before === undefined) Deno.env.delete(VAR);
    else Deno.env.set(VAR, before);
  }
}

for (const host of ["worker", "thread", "process"] as const) {
  Deno.test(`${host}: strict, a rejection of one of Troupe's errors inside an actor is reported as uncaught in the parent`, async () => {
    const errors = await reported(true, async (system) => {
      const ref = await system.spawn<typeof probe>(PROBE, { host });
      await assert.rejects(
        within(ref.ask("rejectAsRuntime"), 15_000, "the crash"),
        ActorCrashedError,
      );
    });
    assert.equal(errors.length, 1, `one report, saw ${errors.map(String)}`);
    assert.match(errors[0]!.message, /rejected unhandled inside the runtime/);
    assert.match(errors[0]!.message, /ConnectionClosedError/);
  });

  Deno.test(`${host}: strict, the actor's own unhandled rejection of a plain Error is only its crash`, async () => {
    const errors = await reported(true, async (system) => {
      const ref = await system.spawn<typeof probe>(PROBE, { host });
      await assert.rejects(within(ref.ask("rejectSoon"), 15_000, "the crash"), ActorCrashedError);
    });
    assert.deepEqual(errors, []);
  });
}

Deno.test("not strict, a runtime-looking rejection inside an actor is only its crash", async () => {
  const errors = await reported(false, async (system) => {
    const ref = await system.spawn<typeof probe>(PROBE);
    await assert.rejects(
      within(ref.ask("rejectAsRuntime"), 15_000, "the crash"),
      ActorCrashedError,
    );
  });
  assert.deepEqual(errors, []);
});

Deno.test("the names the actor's side checks are exactly those of Troupe's error classes", () => {
  const classes = (Object.values(errors) as unknown[]).filter((value): value is typeof Error =>
    typeof value === "function" && (value as typeof Error).prototype instanceof Error
  );
  assert.deepEqual([...TROUPE_ERROR_NAMES].sort(), classes.map((c) => c.name).sort());
  // Each class names its instances after itself.
  assert.equal(new errors.ConnectionClosedError("receive", "peer").name, "ConnectionClosedError");
  assert.equal(new errors.QueueClosedError("q").name, "QueueClosedError");
});
