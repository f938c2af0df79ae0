// The ring buffer pool (transports/ring/_ring_pool.ts): rings come back only
// once the worker's thread has ended, and a reused ring is as good as new.
import assert from "node:assert/strict";
import { ActorSystem } from "../mod.ts";
import { connect, type RingConnectOptions } from "../transports/ring/ring.ts";
import { pooledRings, recycleRings, takeRing } from "../transports/ring/_ring_pool.ts";
import type { Transport } from "../transports/transport.ts";

const ECHO = new URL("./faults/fixtures/fault_actor.ts", import.meta.url).href;

function pair(a: SharedArrayBuffer, b: SharedArrayBuffer): [Transport, Transport] {
  const options = (
    inbound: SharedArrayBuffer,
    outbound: SharedArrayBuffer,
  ): RingConnectOptions => ({
    inbound,
    outbound,
    maxFrameBytes: 4096,
    spinMs: 0,
    codec: "v8",
  });
  return [connect(options(a, b)) as Transport, connect(options(b, a)) as Transport];
}

async function first(transport: Transport): Promise<unknown[] | undefined> {
  for await (const batch of transport.receive()) return batch;
  return undefined;
}

Deno.test("a recycled ring starts empty and open: the next pair over it sees only its own records", async () => {
  const a = takeRing(1024), b = takeRing(1024);
  const [x, y] = pair(a, b);
  // Leave unread records and both close flags behind.
  await x.send(["stale", 1]);
  await x.send(["stale", 2]);
  await x.close();
  await y.close();
  const before = pooledRings();
  recycleRings(a, b);
  assert.equal(pooledRings(), before + 2);
  const c = takeRing(1024), d = takeRing(1024);
  assert.ok(new Set([a, b]).has(c) && new Set([a, b]).has(d), "the same buffers come back");
  const [p, q] = pair(c, d);
  await p.send(["fresh"]);
  assert.deepEqual(await first(q), ["fresh"]);
  await q.send(["back"]);
  assert.deepEqual(await first(p), ["back"]);
  await p.close();
  await q.close();
});

for (const host of ["worker", "thread"] as const) {
  Deno.test(`a stopped ring ${host} actor's rings go back to the pool once its thread ended, and the next actor uses them`, async () => {
    await using system = await ActorSystem.start();
    // Rings an earlier test left in the pool: the spawn may take them.
    const one = await system.spawn(ECHO, { id: "one", transport: "ring", host });
    const start = pooledRings();
    assert.equal(await one.ask("echo", "hi"), "hi");
    await one.stop();
    // The thread ends 2 to 4 ms after terminate(); the host looks every 2 ms for 200 ms.
    const deadline = performance.now() + 2000;
    while (pooledRings() < start + 2 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(pooledRings(), start + 2, "both rings are back");
    const two = await system.spawn(ECHO, { id: "two", transport: "ring", host });
    assert.equal(pooledRings(), start, "the next actor took them");
    const big = new Uint8Array(300_000).map((_, i) => i & 255);
    const echoed = await two.ask("echo", big) as Uint8Array;
    assert.ok(echoed.length === big.length && echoed.every((v, i) => v === (i & 255)));
    await two.stop();
  });
}
