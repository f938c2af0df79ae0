/**
 * Tests of the `ring` transport beyond the shared conformance suite: a real
 * worker on the other end, wrap-around, records larger than the ring,
 * backpressure, close and peer death, and the fast paths of the default
 * codec against what V8 serialization gives.
 */

import assert from "node:assert/strict";
import { ConnectionClosedError, FrameTooLargeError, ProtocolError } from "../internal/errors.ts";
import { jsonCodec, v8Codec } from "../transports/codec.ts";
import {
  connect,
  type RingConnectOptions,
  ringTransport,
  type RingTransportOptions,
  ringTransportPair,
} from "../transports/ring/ring.ts";
import { allocateRing, RingReader, RingWriter, SKIP_MARK } from "../transports/ring/_ring.ts";
import type { Transport } from "../transports/transport.ts";
import { within } from "./_helpers.ts";

const DEADLINE_MS = 20_000;

/** A control message from the echo worker. */
type Control = "ready" | { ended: number } | { error: string };

/** The parent's end of a ring to a real echo worker, and the worker's control messages. */
interface EchoWorker {
  local: Transport;
  worker: Worker;
  batches: AsyncIterator<unknown[]>;
  control(): Promise<Control>;
  dispose(): Promise<void>;
}

async function startEchoWorker(
  options: RingTransportOptions = {},
  hold = false,
): Promise<EchoWorker> {
  const link = await ringTransport(options).open("worker");
  const worker = new Worker(new URL("./fixtures/ring_echo_worker.ts", import.meta.url), {
    type: "module",
  });
  const inbox: Control[] = [];
  const waiters: ((message: Control) => void)[] = [];
  const deliver = (message: Control) => {
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else inbox.push(message);
  };
  worker.onmessage = (event: MessageEvent<Control>) => deliver(event.data);
  worker.onerror = (event) => {
    event.preventDefault();
    deliver({ error: event.message });
  };
  const control = () => {
    const message = inbox.shift();
    if (message !== undefined) return Promise.resolve(message);
    return new Promise<Control>((resolve) => waiters.push(resolve));
  };
  worker.postMessage({ options: link.remote.options, hold });
  const local = link.local;
  const dispose = async () => {
    await local.close();
    worker.terminate();
  };
  try {
    assert.equal(await within(control(), DEADLINE_MS, "the echo worker to connect"), "ready");
  } catch (error) {
    await dispose();
    throw error;
  }
  return { local, worker, batches: local.receive()[Symbol.asyncIterator](), control, dispose };
}

async function sendAll(transport: Transport, batch: readonly unknown[]): Promise<void> {
  const room = transport.send(batch);
  if (room) await within(room, DEADLINE_MS, "room in the ring");
}

async function nextBatch(batches: AsyncIterator<unknown[]>, what: string): Promise<unknown[]> {
  const result = await within(batches.next(), DEADLINE_MS, what);
  assert.equal(result.done, false, `expected ${what}, but the stream ended`);
  return result.value;
}

function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

/** Whether a promise is still pending once the current microtasks have run. */
async function isPending(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol("pending");
  return await Promise.race([promise.then(() => false), Promise.resolve(marker)]) === marker;
}

Deno.test("ring delivers 100,000 small messages through a worker and back in order", async () => {
  const echo = await startEchoWorker();
  try {
    const total = 100_000;
    const receiving = (async () => {
      let expected = 0;
      while (expected < total) {
        for (const message of await nextBatch(echo.batches, `message ${expected}`)) {
          assert.deepEqual(message, { id: expected, op: "inc", n: expected * 3 });
          expected++;
        }
      }
    })();
    for (let sent = 0, round = 0; sent < total; round++) {
      const size = Math.min(1 + (round * 37) % 300, total - sent);
      const batch = Array.from({ length: size }, (_, i) => {
        const id = sent + i;
        return { id, op: "inc", n: id * 3 };
      });
      sent += size;
      await sendAll(echo.local, batch);
    }
    await within(receiving, DEADLINE_MS, "all 100,000 echoes");
    assert.equal(echo.local.stats().messagesSent, total);
    assert.equal(echo.local.stats().messagesReceived, total);
  } finally {
    await echo.dispose();
  }
});

Deno.test("ring carries odd-sized records across the wrap-around of a 1 KiB ring", async () => {
  const echo = await startEchoWorker({ ringBytes: 1024 });
  try {
    const sent: string[] = [];
    for (let i = 0; i < 300; i++) {
      // Lengths 1 to 1499, odd and even, some larger than the ring itself.
      const text = String.fromCharCode(97 + i % 26).repeat(1 + (i * 97) % 1499);
      sent.push(text);
      await sendAll(echo.local, [i, text]);
      assert.deepEqual(await nextBatch(echo.batches, `record ${i}`), [i, text]);
    }
    // And many at once, so records wrap while the ring is full.
    const many = sent.map((text, i) => echo.local.send([i, text]));
    const echoes = (async () => {
      for (let i = 0; i < sent.length; i++) {
        assert.deepEqual(await nextBatch(echo.batches, `queued record ${i}`), [i, sent[i]]);
      }
    })();
    await within(Promise.all([...many, echoes]), DEADLINE_MS, "the queued records");
  } finally {
    await echo.dispose();
  }
});

Deno.test("ring carries large records that start the ring over instead of wrapping, intact both ways", async () => {
  // 4 to 40 KiB byte arrays through a 64 KiB ring: most would wrap its end, and a record of
  // 4 KiB or more is written from the ring's start when the space it skips is free.
  const echo = await startEchoWorker({ ringBytes: 64 * 1024 });
  try {
    const sizes = Array.from({ length: 200 }, (_, i) => 4096 + (i * 7919) % (36 * 1024));
    for (const [i, size] of sizes.entries()) {
      await sendAll(echo.local, [i, pattern(size, i)]);
      assert.deepEqual(await nextBatch(echo.batches, `record ${i}`), [i, pattern(size, i)]);
    }
    const many = sizes.map((size, i) => echo.local.send([i, pattern(size, i)]));
    const echoes = (async () => {
      for (const [i, size] of sizes.entries()) {
        assert.deepEqual(await nextBatch(echo.batches, `queued record ${i}`), [
          i,
          pattern(size, i),
        ]);
      }
    })();
    await within(Promise.all([...many, echoes]), DEADLINE_MS, "the queued records");
  } finally {
    await echo.dispose();
  }
});

Deno.test("a ring reader waits at a skip mark until the padding after it is there, then reads the record at the start", () => {
  const buffer = allocateRing(1024);
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer, 1024);
  const out: Uint8Array[] = [];
  const le32 = (n: number) => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24];
  // Positions start at 4: the mark's header sits at the data area's offset 4.
  assert.equal(writer.writeRaw(new Uint8Array(le32(SKIP_MARK))), 4);
  assert.equal(reader.read(out), 0, "the padding to the data area's end is not there yet");
  assert.equal(writer.writeRaw(new Uint8Array(1016)), 1016);
  assert.equal(reader.read(out), 1020, "the mark and its padding are consumed");
  assert.equal(out.length, 0);
  // From the start: 4 bytes of padding, the header, the payload.
  assert.equal(writer.writeRaw(new Uint8Array([0, 0, 0, 0, ...le32(5), 1, 2, 3, 4, 5])), 13);
  assert.equal(reader.read(out), 13);
  assert.deepEqual(out.map((payload) => [...payload]), [[1, 2, 3, 4, 5]]);
});

Deno.test("ring round-trips messages of 1 byte, 1 KiB, 1 MiB and 3 times the ring size", async () => {
  const ringBytes = 64 * 1024;
  const echo = await startEchoWorker({ ringBytes });
  try {
    const sizes = [1, 1024, 1024 * 1024, 3 * ringBytes];
    for (const [seed, size] of sizes.entries()) {
      const payload = pattern(size, seed);
      await sendAll(echo.local, [payload]);
      const [echoed] = await nextBatch(echo.batches, `${size} bytes`);
      assert.ok(echoed instanceof Uint8Array);
      assert.deepEqual(echoed, payload);
    }
    // Byte arrays inside objects, and through the V8 path (a Map).
    const nested = { name: "blob", parts: [pattern(3 * ringBytes + 5, 7), pattern(9, 8)] };
    const viaV8 = new Map([["blob", pattern(ringBytes, 9)]]);
    await sendAll(echo.local, [nested, viaV8]);
    assert.deepEqual(await nextBatch(echo.batches, "nested byte arrays"), [nested, viaV8]);
  } finally {
    await echo.dispose();
  }
});

Deno.test("ring send() waits while the ring is full and completes once the peer reads", async () => {
  const echo = await startEchoWorker({ ringBytes: 4096 }, true);
  try {
    const sent: number[][] = [];
    let room: void | Promise<void>;
    do {
      const batch = Array.from({ length: 50 }, (_, i) => sent.length * 50 + i);
      sent.push(batch);
      room = echo.local.send(batch);
    } while (room === undefined && sent.length < 10_000);
    assert.ok(room instanceof Promise, "the ring never filled");
    assert.ok(await isPending(room), "send() resolved although the worker reads nothing");
    // Sends made while one waits queue behind it, in order.
    const later = echo.local.send([-1]);
    assert.ok(later instanceof Promise);
    echo.worker.postMessage("go");
    await within(Promise.all([room, later]), DEADLINE_MS, "the full ring to drain");
    for (const batch of sent) assert.deepEqual(await nextBatch(echo.batches, "an echo"), batch);
    assert.deepEqual(await nextBatch(echo.batches, "the last echo"), [-1]);
  } finally {
    await echo.dispose();
  }
});

Deno.test("ring close() ends the worker's receive() after what was sent", async () => {
  const echo = await startEchoWorker();
  try {
    echo.local.send(["one"]);
    echo.local.send(["two"]);
    assert.deepEqual(await nextBatch(echo.batches, "the first echo"), ["one"]);
    await echo.local.close();
    assert.deepEqual(await within(echo.control(), DEADLINE_MS, "the worker's receive to end"), {
      ended: 2,
    });
    assert.throws(
      () => echo.local.send(["three"]),
      (error: unknown) => error instanceof ConnectionClosedError && error.closedBy === "local",
    );
  } finally {
    await echo.dispose();
  }
});

Deno.test("ring ends the parent's receive() when the worker closes its end", async () => {
  const echo = await startEchoWorker();
  try {
    await sendAll(echo.local, ["hello"]);
    assert.deepEqual(await nextBatch(echo.batches, "the echo"), ["hello"]);
    echo.worker.postMessage("close");
    const result = await within(echo.batches.next(), DEADLINE_MS, "the parent's receive to end");
    assert.equal(result.done, true);
    // Sends to a peer that closed fail at once instead of filling the ring.
    assert.throws(
      () => echo.local.send(["refused"]),
      (error: unknown) => error instanceof ConnectionClosedError && error.closedBy === "peer",
    );
  } finally {
    await echo.dispose();
  }
});

Deno.test("ring close() after the worker died ends receive() and settles a waiting send", async () => {
  const echo = await startEchoWorker({ ringBytes: 4096 }, true);
  try {
    const pending = echo.batches.next();
    let room: void | Promise<void> = undefined;
    for (let i = 0; room === undefined && i < 10_000; i++) {
      room = echo.local.send([i, "x".repeat(100)]);
    }
    assert.ok(room instanceof Promise, "the ring never filled");
    echo.worker.terminate();
    // Nothing in shared memory changes when a worker dies: the owner declares it.
    await echo.local.close();
    await within(room, DEADLINE_MS, "the waiting send to settle");
    assert.equal((await within(pending, DEADLINE_MS, "receive() to end")).done, true);
  } finally {
    await echo.dispose();
  }
});

Deno.test("ring throws at the sender for a function and writes nothing of that batch", async () => {
  const [a, b] = ringTransportPair();
  try {
    const batches = b.receive()[Symbol.asyncIterator]();
    assert.throws(() => a.send([{ ok: 1 }, { callback: () => 1 }]));
    assert.throws(() => a.send([Symbol("nope")]));
    assert.equal(a.stats().batchesSent, 0);
    a.send(["after"]);
    assert.deepEqual(await nextBatch(batches, "the next batch"), ["after"]);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("ring throws FrameTooLargeError at the sender above maxFrameBytes", async () => {
  const [a, b] = ringTransportPair({ maxFrameBytes: 1000, ringBytes: 1024 });
  try {
    const batches = b.receive()[Symbol.asyncIterator]();
    assert.throws(() => a.send(["x".repeat(1000)]), (error: unknown) => {
      assert.ok(error instanceof FrameTooLargeError);
      assert.equal(error.limit, 1000);
      assert.ok(error.size > 1000);
      return true;
    });
    assert.throws(() => a.send([new Uint8Array(1000)]), FrameTooLargeError);
    a.send(["fits"]);
    assert.deepEqual(await nextBatch(batches, "the next batch"), ["fits"]);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("ring receive() throws ProtocolError for a record above its own limit", async () => {
  const link = await ringTransport({ maxFrameBytes: 100_000 }).open("worker");
  const options = link.remote.options as RingConnectOptions;
  const remote = await connect({ ...options, maxFrameBytes: 100, spinMs: 0 });
  try {
    const batches = remote.receive()[Symbol.asyncIterator]();
    link.local.send(["x".repeat(500)]);
    await within(assert.rejects(batches.next(), ProtocolError), DEADLINE_MS, "ProtocolError");
  } finally {
    await link.local.close();
    await remote.close();
  }
});

Deno.test("ring fast paths decode exactly what V8 serialization does", async () => {
  const shared = { n: 1 };
  const cyclic: Record<string, unknown> = { name: "loop" };
  cyclic.self = cyclic;
  const holey = [1, , 3];
  const named = Object.assign([1, 2], { extra: "kept" });
  class Point {
    constructor(public x: number) {}
  }
  const view = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]).subarray(2, 5);
  const nullProto = Object.assign(Object.create(null), { a: 1 });
  const protoKey = JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1}');
  // Own "__proto__" keys (as JSON.parse makes them) that hold byte arrays.
  const protoBytes = JSON.parse('{"__proto__": 0, "n": [{"__proto__": 1}]}');
  Object.defineProperty(protoBytes, "__proto__", { value: new Uint8Array([9]) });
  Object.defineProperty(protoBytes.n[0], "__proto__", { value: new Uint8Array([7, 8]) });
  const batches: unknown[][] = [
    [{ id: 1, op: "inc", n: 3 }, [1, "two", null, true, { deep: [{ deeper: "" }] }], "", 0],
    [-0, NaN, Infinity, -Infinity, 2 ** 53 + 2, 1e-300, "\u2028\ud800 lone", "ü🎉"],
    [{ present: undefined }, [undefined], holey, named, new Point(2), nullProto, protoKey],
    [shared, shared, { again: shared }],
    [cyclic],
    [view, { bytes: new Uint8Array(0) }, [new Uint8Array([255])], { "\u0000bytes": [0, 1] }],
    [protoBytes, "after"],
    [new Date(0), new Map([[1, 2]]), new Set(["s"]), 5n, new Float64Array([1.5]), /re/g],
    [new Error("boom", { cause: "why" })],
    [],
  ];
  const [a, b] = ringTransportPair();
  try {
    const received = b.receive()[Symbol.asyncIterator]();
    for (const batch of batches) {
      a.send(batch);
      const got = await nextBatch(received, "a batch");
      const expected = v8Codec.decode(v8Codec.encode(batch));
      assert.deepEqual(got, expected);
      if (batch[0] === protoBytes) {
        const [object] = got as Record<string, unknown>[];
        assert.equal(Object.getPrototypeOf(object), Object.prototype);
        assert.deepEqual(
          Object.getOwnPropertyDescriptor(object, "__proto__")?.value,
          new Uint8Array([9]),
        );
      }
    }
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("ring keeps shared references, cycles and fresh copies of byte arrays", async () => {
  const [a, b] = ringTransportPair();
  try {
    const received = b.receive()[Symbol.asyncIterator]();
    const shared = { n: 1 };
    a.send([shared, shared]);
    const [first, second] = await nextBatch(received, "shared references");
    assert.equal(first, second);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    a.send([cyclic]);
    const [loop] = (await nextBatch(received, "a cycle")) as Record<string, unknown>[];
    assert.equal(loop!.self, loop);
    // A byte array is copied at send(), even when the send waits for room.
    const [c, d] = ringTransportPair({ ringBytes: 1024 });
    try {
      const fromC = d.receive()[Symbol.asyncIterator]();
      const bytes = pattern(4000, 1);
      const room = c.send([bytes]);
      bytes.fill(0);
      const [copy] = await nextBatch(fromC, "the byte array");
      await room;
      assert.deepEqual(copy, pattern(4000, 1));
    } finally {
      await c.close();
      await d.close();
    }
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("ring delivers byte arrays aligned modulo 8 as they were sent, on the fast path", async () => {
  const [a, b] = ringTransportPair({ ringBytes: 4096 });
  try {
    const received = b.receive()[Symbol.asyncIterator]();
    const base = pattern(8 * 1024, 3);
    // Views at every offset modulo 8, odd lengths, text of odd lengths between
    // them, some larger than the ring (streamed), some behind odd records.
    for (let round = 0; round < 3; round++) {
      a.send(["x".repeat(round * 3 + 1)]);
      await nextBatch(received, "an odd record");
      const views = Array.from(
        { length: 8 },
        (_, i) => base.subarray(i, i + 1 + i * 7 + round * 1500),
      );
      const batch = views.map((view, i) => ({ label: "é".repeat(i), view }));
      const sent = b.stats().bytesReceived;
      // Larger than the ring: send() completes only as the receiver reads.
      const sending = a.send(batch);
      const got = (await nextBatch(received, "the views")) as { view: Uint8Array }[];
      await sending;
      assert.ok(b.stats().bytesReceived > sent);
      for (let i = 0; i < views.length; i++) {
        assert.deepEqual(got[i]!.view, views[i]);
        assert.equal(got[i]!.view.byteOffset % 8, views[i]!.byteOffset % 8, `view ${i}`);
      }
    }
    // An 8-aligned array arrives 8-aligned, so wider views of it work.
    const doubles = new Float64Array([1.5, -2, Math.PI]);
    a.send([{ raw: new Uint8Array(doubles.buffer) }]);
    const [{ raw }] = (await nextBatch(received, "the doubles")) as { raw: Uint8Array }[];
    assert.deepEqual(new Float64Array(raw.buffer, raw.byteOffset, 3), doubles);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("ring keeps every received 64 KiB array intact while later batches share its buffer", async () => {
  const [a, b] = ringTransportPair();
  try {
    const received = b.receive()[Symbol.asyncIterator]();
    // Batches of two 64 KiB arrays: records just over 128 KiB, carved from
    // the receiver's pooled chunks. Every array is kept until the end, so a
    // chunk handed out twice would show in an earlier one.
    const kept: Uint8Array[] = [];
    for (let i = 0; i < 24; i++) {
      const sending = a.send([pattern(65536, 2 * i), pattern(65536, 2 * i + 1)]);
      const batch = (await nextBatch(received, `batch ${i}`)) as Uint8Array[];
      await sending;
      assert.equal(batch.length, 2);
      kept.push(...batch);
    }
    // Seven such records fit a 1 MiB chunk: 24 batches take 4 chunks, not 24 buffers.
    const buffers = new Set(kept.map((bytes) => bytes.buffer));
    assert.ok(buffers.size <= 6, `24 batches arrived in ${buffers.size} buffers`);
    kept.forEach((bytes, i) => assert.deepEqual(bytes, pattern(65536, i), `array ${i}`));
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("ring carries the JSON codec and a custom codec loaded in the worker", async () => {
  const [a, b] = ringTransportPair({ codec: jsonCodec });
  try {
    const received = b.receive()[Symbol.asyncIterator]();
    a.send([JSON.parse('{"a": 1, "__proto__": {"b": 2}}'), [1, "x"]]);
    assert.deepEqual(await nextBatch(received, "a JSON batch"), [{ a: 1 }, [1, "x"]]);
  } finally {
    await a.close();
    await b.close();
  }
  const codecModule = new URL("./fixtures/ring_codec.ts", import.meta.url).href;
  const { codec } = await import(codecModule);
  const echo = await startEchoWorker({ codec, codecModule });
  try {
    await sendAll(echo.local, ["one line", "another"]);
    assert.deepEqual(await nextBatch(echo.batches, "the echo"), ["one line", "another"]);
    assert.throws(() => echo.local.send([{ not: "a string" }]), TypeError);
  } finally {
    await echo.dispose();
  }
});

Deno.test("ringTransport() reaches workers only and validates its options", async () => {
  const factory = ringTransport();
  assert.equal(factory.name, "ring");
  assert.deepEqual(factory.hosts, ["worker"]);
  await assert.rejects(factory.open("process"), TypeError);
  assert.throws(() => ringTransport({ ringBytes: 1000 }), RangeError);
  assert.throws(() => ringTransport({ ringBytes: 512 }), RangeError);
  assert.throws(() => ringTransport({ maxFrameBytes: 0 }), RangeError);
  assert.throws(() => ringTransport({ spinMs: -1 }), RangeError);
  const custom = { name: "custom", encode: () => new Uint8Array(), decode: () => [] };
  assert.throws(() => ringTransport({ codec: custom }), TypeError);
  assert.throws(() => connect({} as RingConnectOptions), TypeError);
});
