import assert from "node:assert/strict";
import { ActorCrashedError, ActorSystem, type LifecycleEvent } from "../mod.ts";
import type { semaphoreUser } from "./fixtures/semaphore_actor.ts";
import { eventually, within } from "./_helpers.ts";

const USER = new URL("./fixtures/semaphore_actor.ts", import.meta.url);

Deno.test("Semaphore(2) with three worker actors: measured peak concurrency is exactly 2", async () => {
  await using system = await ActorSystem.start();
  system.semaphore("db", 2);
  const flags = new Int32Array(new SharedArrayBuffer(16));
  const actors = await Promise.all(
    [1, 2, 3].map((i) =>
      system.spawn<typeof semaphoreUser>(USER, {
        id: `u${i}`,
        args: flags.buffer as SharedArrayBuffer,
      })
    ),
  );
  for (let round = 0; round < 5; round++) {
    Atomics.store(flags, 3, 0);
    await within(Promise.all(actors.map((a) => a.ask("critical", 3))), 15_000, "round");
  }
  assert.equal(Atomics.load(flags, 1), 2);
  assert.equal(Atomics.load(flags, 0), 0);
});

for (const host of ["worker", "process"] as const) {
  Deno.test(`[${host}] a third holder waits until one of two permits is released`, async () => {
    await using system = await ActorSystem.start();
    const db = system.semaphore("db", 2);
    const [a, b, c] = await Promise.all(
      [1, 2, 3].map((i) =>
        system.spawn<typeof semaphoreUser>(USER, { id: `h${i}`, host, onLog: () => {} })
      ),
    );
    const order: string[] = [];
    await a!.ask("hold");
    await b!.ask("hold");
    order.push("a and b hold");
    const third = c!.ask("hold").then(() => order.push("c holds"));
    // c's acquire is queued (not granted) while a and b hold both permits.
    await eventually(() => db.waiting === 1, 15_000, "the third holder to queue");
    assert.equal(db.available, 0);
    // a's reply and c's grant race back to the parent: only the request
    // to release is ordered before c's grant.
    order.push("a releases");
    await a!.ask("release");
    await within(third, 15_000, "the third holder");
    assert.deepEqual(order, ["a and b hold", "a releases", "c holds"]);
    assert.equal(db.available, 0);
  });

  Deno.test(`[${host}] a permit held by an actor that crashes is given back to a waiter`, async () => {
    await using system = await ActorSystem.start();
    const db = system.semaphore("db", 1);
    const events = system.events();
    const holder = await system.spawn<typeof semaphoreUser>(USER, {
      id: "holder",
      host,
      onLog: () => {},
    });
    const waiter = await system.spawn<typeof semaphoreUser>(USER, { id: "waiter", host });
    await assert.rejects(holder.ask("holdThenCrash"), ActorCrashedError);
    // The waiter learns that its predecessor died holding the permit (EOWNERDEAD).
    assert.equal(await within(waiter.ask("hold"), 15_000, "the waiter to get the permit"), true);
    assert.equal(db.available, 0);
    await waiter.ask("release");
    assert.equal(await waiter.ask("hold"), false, "a permit released normally carries no news");
    let recovered: LifecycleEvent | undefined;
    while (!recovered) {
      const { value } = await within(events.next(), 15_000, "the recovery event");
      if (value?.type === "permits-recovered") recovered = value;
    }
    assert.deepEqual(
      { id: recovered.id, permits: (recovered as { permits: number }).permits },
      { id: "holder", permits: 1 },
    );
    await events.return?.();
  });
}

Deno.test("a permit the parent waits for comes back when its holder is stopped", async () => {
  await using system = await ActorSystem.start();
  const db = system.semaphore("db", 1);
  const holder = await system.spawn<typeof semaphoreUser>(USER);
  await holder.ask("hold");
  const waiting = db.acquire({ timeout: 15_000 });
  await holder.stop();
  const permit = await waiting;
  permit.release();
  assert.equal(db.available, 1);
});

Deno.test("system.semaphore() refuses a second definition with other permits", async () => {
  await using system = await ActorSystem.start();
  system.semaphore("db", 2);
  assert.throws(() => system.semaphore("db", 3), /exists with 2 permits, not 3/);
});
