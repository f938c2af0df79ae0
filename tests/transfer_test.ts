// tell(name, bytes, { transfer }): on the queue transport the buffers move to
// the actor (zero-copy: detached here once sent); on a transport that encodes
// bytes they are copied. The actor gets the same bytes either way, in order,
// a batch of such tells included; a transfer list no channel could move is a
// TypeError at the call, and nothing is sent.
import assert from "node:assert/strict";
import { ActorSystem } from "../mod.ts";
import type { bytesActor } from "./fixtures/bytes_actor.ts";

const ACTOR = new URL("./fixtures/bytes_actor.ts", import.meta.url);

function block(fill: number, size = 64 * 1024): Uint8Array<ArrayBuffer> {
  return new Uint8Array(size).fill(fill);
}

const detached = (buffer: ArrayBuffer) => (buffer as ArrayBuffer & { detached: boolean }).detached;

for (const host of ["worker", "thread"] as const) {
  Deno.test(`tell with transfer moves the buffers on queue (${host}): detached here, whole there`, async () => {
    await using system = await ActorSystem.start();
    const ref = await system.spawn<typeof bytesActor>(ACTOR, { host, transport: "queue" });
    const blocks = [1, 2, 3, 4].map((n) => block(n));
    // One tick: the four tells travel in one batch with one transfer list.
    await Promise.all(blocks.map((b) => ref.tell("take", b, { transfer: [b.buffer] })));
    assert.deepEqual(await ref.ask("totals"), { sum: 64 * 1024 * 10, count: 4 });
    for (const b of blocks) assert.ok(detached(b.buffer), "moved, not copied");
  });
}

for (
  const [host, transport] of [["worker", "pipe"], ["process", "pipe"], ["worker", "ring"]] as const
) {
  Deno.test(`tell with transfer copies the bytes on ${transport} (${host}); the actor gets them`, async () => {
    await using system = await ActorSystem.start();
    const ref = await system.spawn<typeof bytesActor>(ACTOR, { host, transport });
    const b = block(7);
    await ref.tell("take", b, { transfer: [b.buffer] });
    assert.deepEqual(await ref.ask("totals"), { sum: 64 * 1024 * 7, count: 1 });
    assert.ok(!detached(b.buffer), "copied: left as it was");
  });
}

Deno.test("a transfer list no channel could move is a TypeError at the call; nothing is sent", async () => {
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof bytesActor>(ACTOR, { transport: "queue" });
  const b = block(1, 16);
  const shared = new SharedArrayBuffer(16);
  const gone = block(1, 16);
  structuredClone(gone.buffer, { transfer: [gone.buffer] });
  const refusals: [string, unknown][] = [
    ["twice", [b.buffer, b.buffer]],
    ["shared", [shared]],
    ["detached", [gone.buffer]],
    ["not an array", b.buffer],
  ];
  for (const [why, transfer] of refusals) {
    assert.throws(
      () => ref.tell("take", b, { transfer: transfer as ArrayBuffer[] }),
      TypeError,
      why,
    );
  }
  assert.ok(!detached(b.buffer));
  assert.deepEqual(await ref.ask("totals"), { sum: 0, count: 0 });
});
