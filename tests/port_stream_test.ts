/**
 * Tests of the byte stream over a `MessagePort` that carries the `pipe`
 * transport to worker actors: order, credit-based backpressure, the ends of
 * each direction, and the transfer of written chunks. Both ends run in this
 * thread over a real `MessageChannel`; the resource sanitizer checks that the
 * ports are closed once both directions are done.
 */

import assert from "node:assert/strict";
import { portStreams } from "../internal/port_streams.ts";
import type { Latin1Reader, Latin1Writer } from "../internal/stream_parts.ts";
import { within } from "./_helpers.ts";

const DEADLINE_MS = 10_000;

function pair(windowBytes?: number) {
  const channel = new MessageChannel();
  return [portStreams(channel.port1, windowBytes), portStreams(channel.port2, windowBytes)];
}

function bytes(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i + seed) & 0xff);
}

/** Whether a promise is still pending once the current macrotask has run. */
async function isPending(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol("pending");
  const later = new Promise((resolve) => setTimeout(() => resolve(marker), 0));
  return await Promise.race([promise.then(() => false, () => false), later]) === marker;
}

async function read(reader: ReadableStreamDefaultReader<Uint8Array>) {
  return await within(reader.read(), DEADLINE_MS, "a chunk");
}

Deno.test("port streams carry chunks in order both ways and end each reader on close", async () => {
  const [a, b] = pair();
  const aw = a!.writable.getWriter(), bw = b!.writable.getWriter();
  const ar = a!.readable.getReader(), br = b!.readable.getReader();
  for (let i = 0; i < 50; i++) {
    await aw.write(bytes(100 + i, i));
    await bw.write(bytes(10, i));
  }
  for (let i = 0; i < 50; i++) {
    assert.deepEqual((await read(br)).value, bytes(100 + i, i));
    assert.deepEqual((await read(ar)).value, bytes(10, i));
  }
  await aw.close();
  assert.deepEqual(await read(br), { value: undefined, done: true });
  await bw.close();
  assert.deepEqual(await read(ar), { value: undefined, done: true });
  await Promise.all([aw.closed, bw.closed, ar.closed, br.closed]);
});

Deno.test("port streams carry small chunks byte for byte, ones that spell an end of stream too", async () => {
  const [a, b] = pair();
  const writer = a!.writable.getWriter();
  const reader = b!.readable.getReader();
  // Under 128 bytes a chunk travels as text: every byte value, a chunk that reads as the
  // end-of-stream marker, the empty chunk and the sizes either side of the limit arrive intact.
  const end = new TextEncoder().encode("\u0000troupe:end");
  const chunks = [
    Uint8Array.from({ length: 256 }, (_, i) => i).subarray(0, 127),
    Uint8Array.from({ length: 127 }, (_, i) => 255 - i),
    end,
    new Uint8Array(0),
    bytes(128, 3),
    bytes(129, 4),
    Uint8Array.from([0, 1]),
  ];
  for (const chunk of chunks) await writer.write(chunk.slice());
  for (const chunk of chunks) assert.deepEqual((await read(reader)).value, chunk);
  await writer.close();
  assert.deepEqual(await read(reader), { value: undefined, done: true });
  await b!.writable.getWriter().close();
  await a!.readable.getReader().cancel();
});

Deno.test("port streams carry small chunks as text to a reader that takes it, bytes otherwise", async () => {
  const [a, b] = pair();
  const writer = a!.writable.getWriter() as unknown as
    & Latin1Writer
    & WritableStreamDefaultWriter<Uint8Array>;
  const reader = b!.readable.getReader() as unknown as
    & Latin1Reader
    & ReadableStreamDefaultReader<Uint8Array>;
  assert.equal(writer.latin1Limit, 127);
  // Text and bytes interleave in order; text of 127 characters travels as text, longer as bytes.
  await writer.writeLatin1("\u0000\u00ffab");
  await writer.write(bytes(3, 1));
  await writer.writeLatin1("x".repeat(128));
  await writer.writeLatin1("y".repeat(127));
  await writer.writeLatin1("pending");
  assert.equal(
    await within(reader.readLatin1(), DEADLINE_MS, "text").then((r) => r.value),
    "\u0000\u00ffab",
  );
  // A small chunk written as bytes travels as text too.
  assert.equal(
    (await within(reader.readLatin1(), DEADLINE_MS, "text")).value,
    "\u0001\u0002\u0003",
  );
  assert.deepEqual(
    (await within(reader.readLatin1(), DEADLINE_MS, "text")).value,
    new Uint8Array(128).fill(0x78),
  );
  assert.equal((await within(reader.readLatin1(), DEADLINE_MS, "text")).value, "y".repeat(127));
  // A plain read() gets a text chunk as its bytes, waiting or not.
  assert.deepEqual((await read(reader)).value, new TextEncoder().encode("pending"));
  const waiting = read(reader);
  await writer.writeLatin1("later");
  assert.deepEqual((await waiting).value, new TextEncoder().encode("later"));
  await writer.close();
  assert.deepEqual(await within(reader.readLatin1(), DEADLINE_MS, "end"), {
    value: undefined,
    done: true,
  });
  await assert.rejects(writer.writeLatin1("x"), /the stream is closed/);
  // The other direction ends too, so the ports close.
  await b!.writable.getWriter().close();
  assert.deepEqual(await read(a!.readable.getReader()), { value: undefined, done: true });
});

Deno.test("a port writer waits once a window is unread and resumes as the reader reads", async () => {
  const [a, b] = pair(1024);
  const writer = a!.writable.getWriter();
  const reader = b!.readable.getReader();
  await writer.write(bytes(512, 1));
  assert.equal(writer.desiredSize, 512);
  await writer.write(bytes(512, 2));
  assert.equal(writer.desiredSize, 0);
  const ready = writer.ready;
  assert.equal(await isPending(ready), true, "ready waits while a window is in flight");
  // Reading a quarter window or more gives credit back.
  assert.deepEqual((await read(reader)).value, bytes(512, 1));
  await within(ready, DEADLINE_MS, "room after the read");
  assert.equal(writer.desiredSize, 512);
  assert.deepEqual((await read(reader)).value, bytes(512, 2));
  await writer.close();
  await reader.cancel();
  await b!.writable.getWriter().close();
  await a!.readable.getReader().cancel();
});

Deno.test("a chunk larger than the window goes alone, and the writer waits for its credit", async () => {
  const [a, b] = pair(1024);
  const writer = a!.writable.getWriter();
  const reader = b!.readable.getReader();
  await writer.write(bytes(5000, 3));
  assert.ok(writer.desiredSize! < 0);
  const ready = writer.ready;
  assert.equal(await isPending(ready), true);
  assert.deepEqual((await read(reader)).value, bytes(5000, 3));
  await within(ready, DEADLINE_MS, "room after the large read");
  await writer.close();
  assert.equal((await read(reader)).done, true);
  await b!.writable.getWriter().close();
  await a!.readable.getReader().cancel();
});

Deno.test("write() transfers a large chunk's buffer and copies a small one", async () => {
  const [a, b] = pair();
  const writer = a!.writable.getWriter();
  const reader = b!.readable.getReader();
  const chunk = bytes(64 * 1024, 5);
  await writer.write(chunk);
  assert.equal(chunk.byteLength, 0, "the sender's view is detached");
  assert.deepEqual((await read(reader)).value, bytes(64 * 1024, 5));
  // A small view of a larger buffer: only its own bytes travel.
  const small = bytes(4096, 6).subarray(10, 20);
  await writer.write(small);
  assert.equal(small.length, 10);
  const { value } = await read(reader);
  assert.deepEqual(value, bytes(4096, 6).subarray(10, 20));
  assert.equal(value!.buffer.byteLength, 10);
  await writer.close();
  await reader.cancel();
  await b!.writable.getWriter().close();
  await a!.readable.getReader().cancel();
});

Deno.test("cancelling a port reader fails the peer's writer; aborting a writer fails the peer's reader", async () => {
  const [a, b] = pair();
  const aw = a!.writable.getWriter(), bw = b!.writable.getWriter();
  const ar = a!.readable.getReader(), br = b!.readable.getReader();
  await br.cancel();
  await assert.rejects(within(aw.closed, DEADLINE_MS, "the writer to fail"), /cancelled/);
  await assert.rejects(aw.write(bytes(4, 0)), /cancelled/);
  assert.equal(aw.desiredSize, null);
  const pending = ar.read();
  await bw.abort();
  await assert.rejects(within(pending, DEADLINE_MS, "the reader to fail"), /aborted/);
  await assert.rejects(ar.closed, /aborted/);
  await assert.rejects(bw.write(bytes(4, 0)), /aborted/);
});

Deno.test("a port reader hands over what arrived before the writer closed, then ends", async () => {
  const [a, b] = pair();
  const writer = a!.writable.getWriter();
  const reader = b!.readable.getReader();
  await writer.write(bytes(3, 7));
  await writer.write(bytes(5, 8));
  await writer.close();
  await assert.rejects(writer.write(bytes(1, 0)), /closed/);
  assert.deepEqual((await read(reader)).value, bytes(3, 7));
  assert.deepEqual((await read(reader)).value, bytes(5, 8));
  assert.equal((await read(reader)).done, true);
  assert.equal((await read(reader)).done, true);
  assert.throws(() => b!.readable.getReader(), /locked/);
  await b!.writable.getWriter().close();
  await a!.readable.getReader().cancel();
});

Deno.test("a chunk that cannot be deserialized fails the port reader", async () => {
  const channel = new MessageChannel();
  const a = portStreams(channel.port1), b = portStreams(channel.port2);
  const reader = b.readable.getReader();
  const pending = reader.read();
  // What the platform dispatches when a message does not deserialize.
  channel.port2.dispatchEvent(new MessageEvent("messageerror"));
  await assert.rejects(within(pending, DEADLINE_MS, "the reader to fail"), /deserialized/);
  await assert.rejects(reader.closed, /deserialized/);
  await assert.rejects(reader.read(), /deserialized/);
  await b.writable.getWriter().close();
  await a.writable.getWriter().close();
  await a.readable.getReader().cancel();
});
