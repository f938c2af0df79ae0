// The ring buffer pool (transports/ring/_ring_pool.ts): rings come back only
// once the worker's thread has ended, and a reused ring is as good as new.
import assert from "node:assert/strict";
import { connect, type RingConnectOptions } from "../transports/ring/ring.ts";
import { pooledRings, recycleRings, takeRing } from "../transports/ring/_ring_pool.ts";
import type { Transport } from "../transports/transport.ts";

// The actor cases run in a process of their own: see the program's header.
const PROGRAM = new URL("./fixtures/ring_pool_program.ts", import.meta.url);

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

Deno.test("a stopped ring actor's rings go back to the pool once its thread ended, and the next actor uses them, on worker and thread hosts", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-worker-options", PROGRAM.href],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.deepEqual(stdout.trim().split("\n"), ["worker ok", "thread ok"]);
});
