// maxYoungMiB: a bound on a thread or process actor's young generation, so a
// busy long-running actor's memory stays flat (V8's own sizing lets it grow).
import assert from "node:assert/strict";
import { ActorSystem } from "../mod.ts";
import type { youngActor } from "./fixtures/young_actor.ts";

const YOUNG = new URL("./fixtures/young_actor.ts", import.meta.url);
/** Enough churn that V8's own sizing grows the young generation well past the bound. */
const CHURN = 3_000_000;

for (const host of ["thread", "process"] as const) {
  Deno.test(`a ${host} actor's young generation stays within maxYoungMiB, and grows without it`, async () => {
    await using system = await ActorSystem.start();
    const bounded = await system.spawn<typeof youngActor>(YOUNG, { host, maxYoungMiB: 6 });
    const free = await system.spawn<typeof youngActor>(YOUNG, { host });
    const [small, large] = await Promise.all([
      bounded.ask("churn", CHURN, { timeout: 60_000 }),
      free.ask("churn", CHURN, { timeout: 60_000 }),
    ]);
    assert.ok(small > 0 && small <= 12, `bounded: ${small} MiB of new space`);
    assert.ok(large >= 16, `V8's own sizing: ${large} MiB of new space`);
  });
}

Deno.test("a process actor's child gets maxYoungMiB as a third of it in --max-semi-space-size", async () => {
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof youngActor>(YOUNG, { host: "process", maxYoungMiB: 12 });
  const argv = Deno.readTextFileSync(`/proc/${ref.stats().pid}/cmdline`).split("\u0000");
  const flags = argv.find((arg) => arg.startsWith("--v8-flags="));
  assert.match(flags ?? "", /--max-semi-space-size=4(,|$)/);
});

Deno.test("maxYoungMiB is refused for a worker actor and outside 3 to 1024", async () => {
  await using system = await ActorSystem.start();
  await assert.rejects(
    system.spawn(YOUNG, { maxYoungMiB: 8 }),
    (error: unknown) =>
      error instanceof TypeError &&
      /maxYoungMiB needs host "thread" or "process"; a worker actor shares/.test(error.message),
  );
  for (const wrong of [2, 8.5, 2048, Number.NaN]) {
    await assert.rejects(
      system.spawn(YOUNG, { host: "thread", maxYoungMiB: wrong }),
      (error: unknown) =>
        error instanceof RangeError &&
        error.message ===
          `Cannot spawn actor: maxYoungMiB must be an integer from 3 to 1024, received ${wrong}`,
    );
  }
  assert.equal(system.stats().actors, 0);
});
