// Lent bytes (`defineActor({ lendBytes: true })`): on the ring transport a
// large byte array arrives as a view of the ring's shared memory, valid while
// its handler runs synchronously; whatever outlives that (a message still in
// the mailbox, a reply, a call's result from the parent) is copied before the
// ring reuses the memory. Other transports copy, as always.
import assert from "node:assert/strict";
import { ActorSystem, defineActor, Pipe } from "../mod.ts";
import { isLent, lendFrom, privatize } from "../internal/lent.ts";
import {
  allocateRing,
  CONTROL_BYTES,
  LEND_MIN_BYTES,
  RECORD_HEADER_BYTES,
  RingReader,
  RingWriter,
} from "../transports/ring/_ring.ts";
import { checksum, type lentActor } from "./fixtures/lent_actor.ts";
import { within } from "./_helpers.ts";

const LENT = new URL("./fixtures/lent_actor.ts", import.meta.url);
const BLOCK = 64 * 1024;

/** A 64 KiB block whose bytes depend on `seed`, so two blocks never checksum alike. */
function block(seed: number): Uint8Array {
  const bytes = new Uint8Array(BLOCK);
  for (let i = 0; i < BLOCK; i++) bytes[i] = (seed * 7 + i * 13 + (i >>> 8)) & 255;
  return bytes;
}

const blocks = Array.from({ length: 64 }, (_, i) => block(i + 1));
const sums = blocks.map(checksum);

for (const host of ["worker", "thread"] as const) {
  Deno.test(`ring (${host}): a lending actor gets 64 KiB blocks as views of the ring, intact while its handler runs`, async () => {
    await using system = await ActorSystem.start();
    const ref = await system.spawn<typeof lentActor>(LENT, { transport: "ring", host });
    // 4 MiB through a 1 MiB ring: every part of it is reused several times over.
    for (let i = 0; i < 256; i++) await ref.tell("check", blocks[i % 64]!);
    const seen = await within(ref.ask("sums"), 20_000, "the checksums");
    assert.deepEqual(seen.sums, Array.from({ length: 256 }, (_, i) => sums[i % 64]));
    // Records that wrap around the ring's end are copied; most are not.
    assert.ok(seen.lent > 128, `${seen.lent} of 256 blocks were lent`);
  });

  Deno.test(`ring (${host}): blocks that wait in the mailbox behind a running handler are copied before the ring moves on`, async () => {
    await using system = await ActorSystem.start();
    const ref = await system.spawn<typeof lentActor>(LENT, { transport: "ring", host });
    const cancel = new AbortController();
    const gate = ref.ask("gate", null, { signal: cancel.signal });
    gate.catch(() => {});
    for (let i = 0; i < 48; i++) await ref.tell("check", blocks[i]!);
    // The cancel travels behind the 48 blocks (3 MiB, three times the ring): by the
    // time it opens the gate, every block waited in the mailbox while the ring moved on.
    cancel.abort();
    await assert.rejects(gate, { name: "AbortError" });
    const seen = await within(ref.ask("sums"), 20_000, "the checksums");
    assert.deepEqual(seen.sums, sums.slice(0, 48));
    assert.equal(seen.lent, 0, "a block that waited is a private copy");
  });

  Deno.test(`ring (${host}): a lent block given back in a reply arrives intact`, async () => {
    await using system = await ActorSystem.start();
    const ref = await system.spawn<typeof lentActor>(LENT, { transport: "ring", host });
    const replies = await within(
      Promise.all(blocks.map((bytes) => ref.ask("echo", bytes))),
      20_000,
      "the echoes",
    );
    assert.deepEqual(replies.map(checksum), sums);
    const nested = await within(
      Promise.all(blocks.map((bytes, tag) => ref.ask("echoNested", { tag, bytes }))),
      20_000,
      "the nested echoes",
    );
    assert.deepEqual(nested.map((reply) => reply.tag), blocks.map((_, tag) => tag));
    assert.deepEqual(nested.map((reply) => checksum(reply.inner[0]!.bytes)), sums);
  });

  Deno.test(`ring (${host}): a streaming handler reads its block intact, though its body runs after the ring moved on`, async () => {
    await using system = await ActorSystem.start();
    const ref = await system.spawn<typeof lentActor>(LENT, { transport: "ring", host });
    const streams = blocks.map(async (bytes) => {
      const items: number[] = [];
      for await (const item of ref.stream("sumStream", bytes)) items.push(item);
      return items;
    });
    // Tells of other blocks behind the streams' calls, so the ring's space is reused.
    for (const bytes of blocks) void ref.tell("check", bytes);
    const items = await within(Promise.all(streams), 20_000, "the streams");
    assert.deepEqual(items, sums.map((sum) => [sum, sum]));
  });

  Deno.test(`ring (${host}): lent blocks a handler sends on down a pipe end arrive intact`, async () => {
    await using system = await ActorSystem.start();
    const [mine, theirs] = Pipe<Uint8Array>();
    await using _end = mine;
    const ref = await system.spawn<typeof lentActor>(LENT, {
      transport: "ring",
      host,
      args: { pipe: theirs },
    });
    for (let i = 0; i < 48; i++) await ref.tell("forward", blocks[i]!);
    const got: number[] = [];
    for (let i = 0; i < 48; i++) got.push(checksum(await mine.recv({ timeout: 20_000 })));
    assert.deepEqual(got, sums.slice(0, 48));
  });

  Deno.test(`ring (${host}): blocks a lending actor takes from a system queue outlive the ring's reuse`, async () => {
    await using system = await ActorSystem.start();
    const queue = system.queue<Uint8Array>("blocks", { capacity: 64 });
    const ref = await system.spawn<typeof lentActor>(LENT, { transport: "ring", host });
    const collected = ref.ask("collect", { name: "blocks", count: 40 });
    for (let i = 0; i < 40; i++) await queue.put(blocks[i]!);
    const seen = await within(collected, 20_000, "the collected blocks");
    assert.deepEqual(seen.sums, sums.slice(0, 40));
    assert.equal(seen.lent, 0);
  });
}

const copying = [["worker", "queue"], ["worker", "pipe"], ["process", "pipe"]] as const;
for (const [host, transport] of copying) {
  Deno.test(`${host}/${transport}: a lending actor runs unchanged and gets private copies`, async () => {
    await using system = await ActorSystem.start();
    const ref = await system.spawn<typeof lentActor>(LENT, { transport, host });
    for (let i = 0; i < 16; i++) await ref.tell("check", blocks[i]!);
    assert.deepEqual(await within(ref.ask("sums"), 20_000, "the checksums"), {
      sums: sums.slice(0, 16),
      lent: 0,
    });
    assert.equal(checksum(await ref.ask("echo", blocks[3]!)), sums[3]);
  });
}

Deno.test("ring: an actor that does not lend never sees shared memory", async () => {
  await using system = await ActorSystem.start();
  const ECHO = new URL("./faults/fixtures/fault_actor.ts", import.meta.url).href;
  const ref = await system.spawn(ECHO, { transport: "ring" });
  const echoed = await ref.ask("echo", blocks[5]) as Uint8Array;
  assert.equal(echoed.buffer instanceof SharedArrayBuffer, false);
  assert.equal(checksum(echoed), sums[5]);
});

Deno.test("defineActor refuses a lendBytes that is not a boolean", () => {
  assert.throws(
    () => defineActor({ handlers: {}, lendBytes: "yes" as unknown as boolean }),
    { name: "TypeError", message: /lendBytes must be a boolean, received string/ },
  );
});

Deno.test("privatize copies lent arrays and leaves the rest, and the caller's objects, alone", () => {
  const memory = new SharedArrayBuffer(8);
  lendFrom(memory);
  const shared = new Uint8Array(memory).fill(3);
  const own = new Uint8Array(4);
  // The user's own shared memory is not lent: it stays shared.
  const users = new Uint8Array(new SharedArrayBuffer(8));
  const plain = { a: 1, list: [own, "x"], users };
  assert.equal(privatize(plain), plain, "nothing lent: the same object");
  assert.equal(isLent(users), false);
  const frozen = Object.freeze({ keep: own, lent: Object.freeze([shared]) });
  const copy = privatize(frozen) as { keep: Uint8Array; lent: Uint8Array[] };
  assert.notEqual(copy, frozen);
  assert.equal(frozen.lent[0], shared, "the caller's object is unchanged");
  assert.equal(copy.keep, own);
  assert.equal(isLent(copy.lent[0]), false);
  assert.deepEqual([...copy.lent[0]!], [3, 3, 3, 3, 3, 3, 3, 3]);
  const withProto = privatize({ ["__proto__"]: shared }) as Record<string, unknown>;
  assert.ok(Object.hasOwn(withProto, "__proto__") && !isLent(withProto["__proto__"]));
});

Deno.test("a ring reader lends whole records, holds their space until each is given back, and a record that would wrap starts the ring over when it can", () => {
  const buffer = allocateRing(64 * 1024);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer, 64 * 1024);
  reader.lend((first) => first === 0x42);
  const record = (fill: number) => new Uint8Array(20_000).fill(fill);
  const tagged = (fill: number) => {
    const bytes = record(fill);
    bytes[0] = 0x42;
    return bytes;
  };
  const write = (bytes: Uint8Array) => writer.write(bytes, bytes.length, 0);
  assert.equal(write(tagged(1)), 20_000 + RECORD_HEADER_BYTES);
  assert.equal(write(record(2)), 20_000 + RECORD_HEADER_BYTES); // not lendable: copied
  assert.equal(write(tagged(3)), 20_000 + RECORD_HEADER_BYTES);
  const out: Uint8Array[] = [];
  reader.read(out);
  assert.deepEqual(out.map(isLent), [true, false, true]);
  // Both loans hold the ring: the writer has room for little more than 4 KiB.
  assert.equal(writer.hasRoom(8 * 1024), false);
  reader.returnLoan();
  // The first loan and the copied record after it are free; the third record is still held.
  assert.equal(writer.hasRoom(40_000), true);
  assert.equal(writer.hasRoom(50_000), false);
  reader.returnLoan();
  assert.equal(writer.hasRoom(60_000), true);
  // The next record would wrap around the ring's end: it is written from the
  // start instead (the space it skips is free), and lent.
  assert.equal(write(tagged(4)), 20_000 + RECORD_HEADER_BYTES);
  out.length = 0;
  reader.read(out);
  assert.equal(out.length, 1);
  assert.equal(isLent(out[0]), true);
  // Its header is at the data area's offset 4, its payload at 8.
  assert.equal(out[0]!.byteOffset, CONTROL_BYTES + RECORD_HEADER_BYTES * 2);
  assert.equal(out[0]![1], 4);
  // With that loan out, a record that would wrap finds no room to skip: it
  // wraps, streams in two parts, and is copied.
  const big = new Uint8Array(30_000).fill(6);
  big[0] = 0x42;
  assert.equal(write(big), 30_000 + RECORD_HEADER_BYTES);
  const wraps = tagged(7);
  const first = write(wraps);
  assert.ok(first > 0 && first < 20_000 + RECORD_HEADER_BYTES, `wrote ${first} of it`);
  out.length = 0;
  reader.read(out); // the 30,000 bytes (lent) and the start of the wrapping record
  assert.deepEqual(out.map(isLent), [true]);
  assert.equal(out[0]![1], 6);
  reader.returnLoan(); // the 20,000 bytes at the start
  reader.returnLoan(); // the 30,000
  assert.equal(writer.write(wraps, wraps.length, first), 20_000 + RECORD_HEADER_BYTES);
  out.length = 0;
  reader.read(out);
  assert.equal(out.length, 1);
  assert.equal(isLent(out[0]), false);
  assert.equal(out[0]![1], 7);
  assert.equal(out[0]![19_999], 7);
  // A record under the lending size is copied too.
  const small = new Uint8Array(LEND_MIN_BYTES - 8).fill(5);
  small[0] = 0x42;
  write(small);
  out.length = 0;
  reader.read(out);
  assert.equal(isLent(out[0]), false);
});
