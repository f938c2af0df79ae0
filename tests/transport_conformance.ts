/**
 * The conformance suite every `Transport` passes. A transport's test registers
 * it with one call:
 *
 * ```ts ignore
 * await transportConformance("pipe", openPipePair);
 * ```
 *
 * The opener returns a {@linkcode TransportPairHandle}: two connected ends
 * plus the optional byte-level and peer-death hooks. A hook a transport cannot
 * offer is a {@linkcode Skip} with the reason, and its tests are registered as
 * ignored with that reason in their name.
 *
 * Every wait is bounded by {@linkcode DEADLINE_MS}, so a transport that hangs
 * fails its test within seconds instead of stalling the run.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ConnectionClosedError, FrameTooLargeError, ProtocolError } from "../internal/errors.ts";
import type { Transport } from "../transports/transport.ts";
import { v8Codec } from "../transports/codec.ts";
import { within as withinMs } from "./_helpers.ts";

/** A capability the pair under test does not have, and why. */
export interface Skip {
  /** Why the tests that need it are skipped, such as `"queue carries objects, not bytes"`. */
  readonly skip: string;
}

/** Raw access to the byte stream the end `b` reads, bypassing `a`'s framing. */
export interface RawBytes {
  /**
   * Writes bytes into `b`'s incoming stream. May reject once `b` has closed
   * its end (after a protocol error, for instance).
   */
  write(bytes: Uint8Array): Promise<void>;
  /** Ends `b`'s incoming stream, as a peer that exits would. */
  end(): Promise<void>;
}

/** Two connected ends of a transport under test and the hooks to break them. */
export interface TransportPairHandle {
  /** One end; what it sends arrives at `b`. */
  readonly a: Transport;
  /** The other end; what it sends arrives at `a`. */
  readonly b: Transport;
  /**
   * The frame limit both ends were opened with (byte transports). Must leave
   * room for a 1 MiB message; 2 MiB is a good value.
   */
  readonly maxFrameBytes: number | Skip;
  /** Raw bytes into `b`, to test malformed, oversized and truncated frames. */
  readonly raw: RawBytes | Skip;
  /**
   * Kills `a`'s side abruptly, without a goodbye (a crash): `b`'s `receive()`
   * must then end, or throw `ProtocolError` for a truncated frame.
   */
  readonly kill: (() => Promise<void>) | Skip;
  /** Releases everything: closes both ends, stops workers. Safe after any test. */
  dispose(): Promise<void>;
}

/** How long any single wait in the suite may take before the test fails. */
export const DEADLINE_MS = 20_000;

/** {@linkcode withinMs} with the suite's deadline. */
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  return withinMs(promise, DEADLINE_MS, what);
}

function isSkip(value: unknown): value is Skip {
  return typeof value === "object" && value !== null && "skip" in value;
}

/** Yields to the event loop (a macrotask), so message events and stream reads can run. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Sends a batch, awaiting the backpressure promise when there is one. */
async function sendAll(transport: Transport, batch: readonly unknown[]): Promise<void> {
  const room = transport.send(batch);
  if (room) await room;
}

function frameOf(length: number, body: readonly number[] = []): Uint8Array {
  const bytes = new Uint8Array(4 + body.length);
  new DataView(bytes.buffer).setUint32(0, length, true);
  bytes.set(body, 4);
  return bytes;
}

function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

/** Every value kind the structured-clone codecs must carry. */
function valueKinds(): [string, unknown][] {
  return [
    ["object", { id: 1, op: "inc", nested: { list: [1, "two", null] } }],
    ["array", [1, "two", [3, [4]], true, null]],
    ["Map", new Map<unknown, unknown>([[1, "one"], ["two", { n: 2 }]])],
    ["Set", new Set([1, "a", 3n])],
    ["Date", new Date(1_700_000_000_000)],
    ["Uint8Array", new Uint8Array([0, 1, 254, 255])],
    ["Float64Array", new Float64Array([1.5, -0.25, Number.MAX_VALUE])],
    ["Int32Array", new Int32Array([-1, 2 ** 31 - 1])],
    ["BigInt64Array", new BigInt64Array([1n, -(2n ** 63n)])],
    ["ArrayBuffer", new Uint8Array([9, 8, 7]).buffer],
    ["bigint", 123_456_789_012_345_678_901_234_567_890n],
    ["undefined", undefined],
    ["undefined property", { present: undefined }],
    ["string", "héllo, 世界 🎉"],
    ["numbers", [0, -0, NaN, Infinity, 2 ** 53 - 1]],
  ];
}

function assertSameError(actual: unknown, expected: Error, path: string): void {
  assert.ok(actual instanceof Error, `${path} should be an Error, got ${actual}`);
  assert.equal(actual.name, expected.name, `${path}.name`);
  assert.equal(actual.message, expected.message, `${path}.message`);
  if (expected.cause instanceof Error) {
    assertSameError(actual.cause, expected.cause, `${path}.cause`);
  } else {
    assert.deepEqual(actual.cause, expected.cause, `${path}.cause`);
  }
}

/** Reads the next batch with a bound. */
async function nextBatch(
  iterator: AsyncIterator<unknown[]>,
  what = "the next batch",
): Promise<unknown[]> {
  const result = await within(iterator.next(), what);
  assert.equal(result.done, false, `expected ${what}, but the stream ended`);
  return result.value as unknown[];
}

/** Reads until the stream ends or throws; returns how it finished. */
async function drain(
  iterator: AsyncIterator<unknown[]>,
  what: string,
): Promise<{ messages: unknown[]; error?: unknown }> {
  const messages: unknown[] = [];
  try {
    while (true) {
      const result = await within(iterator.next(), what);
      if (result.done) return { messages };
      messages.push(...result.value);
    }
  } catch (error) {
    return { messages, error };
  }
}

type Requirement = "maxFrameBytes" | "raw" | "kill";

interface Case {
  name: string;
  needs?: Requirement;
  run(pair: TransportPairHandle): Promise<void>;
}

const cases: Case[] = [
  {
    name: "delivers 100,000 messages in order across many batches, none lost",
    async run({ a, b }) {
      const total = 100_000;
      const iterator = b.receive()[Symbol.asyncIterator]();
      const receiving = (async () => {
        let expected = 0;
        while (expected < total) {
          const batch = await nextBatch(iterator, `message ${expected} of ${total}`);
          for (const message of batch) {
            assert.deepEqual(message, { id: expected, op: "inc" }, `message ${expected}`);
            expected++;
          }
        }
      })();
      let sent = 0;
      for (let round = 0; sent < total; round++) {
        const size = Math.min(1 + (round * 37) % 400, total - sent);
        const batch = new Array(size);
        for (let i = 0; i < size; i++) batch[i] = { id: sent + i, op: "inc" };
        const room = a.send(batch);
        sent += size;
        if (room) await within(room, "room to send");
        else if (round % 64 === 63) await yieldToEventLoop();
      }
      await within(receiving, "all 100,000 messages");
      assert.equal(a.stats().messagesSent, total);
      assert.equal(b.stats().messagesReceived, total);
    },
  },
  {
    name: "carries batches in both directions at once",
    async run({ a, b }) {
      const fromA = b.receive()[Symbol.asyncIterator]();
      const fromB = a.receive()[Symbol.asyncIterator]();
      a.send(["ping", 1]);
      b.send(["pong", 2]);
      assert.deepEqual(await nextBatch(fromA), ["ping", 1]);
      assert.deepEqual(await nextBatch(fromB), ["pong", 2]);
    },
  },
  {
    name: "carries messages of 1 byte, 1 KiB and 1 MiB intact",
    async run({ a, b }) {
      const iterator = b.receive()[Symbol.asyncIterator]();
      const sizes = [1, 1024, 1024 * 1024];
      const payloads = sizes.map((size, seed) => pattern(size, seed));
      // Receive while sending: a pipe holds little, so a sender that waits for room needs a reader.
      const receiving = (async () => {
        for (const payload of payloads) {
          assert.deepEqual(await nextBatch(iterator, `${payload.length} bytes`), [payload]);
        }
        assert.deepEqual(await nextBatch(iterator, "the three sizes together"), payloads);
      })();
      const sending = (async () => {
        for (const payload of payloads) await sendAll(a, [payload]);
        await sendAll(a, payloads);
      })();
      await within(Promise.all([sending, receiving]), "the messages to cross");
    },
  },
  {
    name:
      "round-trips every value kind: objects, collections, dates, binary, bigint, undefined, errors",
    async run({ a, b }) {
      const iterator = b.receive()[Symbol.asyncIterator]();
      const kinds = valueKinds();
      const error = new Error("outer", { cause: new TypeError("inner", { cause: "root" }) });
      const range = new RangeError("too big");
      a.send([...kinds.map(([, value]) => value), error, range]);
      const batch = await nextBatch(iterator);
      assert.equal(batch.length, kinds.length + 2);
      kinds.forEach(([kind, value], i) => assert.deepEqual(batch[i], value, kind));
      assert.ok(batch[2] instanceof Map && batch[3] instanceof Set && batch[4] instanceof Date);
      assert.ok(batch[9] instanceof ArrayBuffer, "ArrayBuffer stays an ArrayBuffer");
      assert.ok("present" in (batch[12] as object), "an undefined property is kept");
      assertSameError(batch[kinds.length], error, "error");
      assertSameError(batch[kinds.length + 1], range, "range error");
    },
  },
  {
    name: "decodes plain data, byte arrays and everything else exactly as V8 serialization does",
    async run({ a, b }) {
      const iterator = b.receive()[Symbol.asyncIterator]();
      const shared = { n: 1 };
      const cyclic: Record<string, unknown> = { name: "loop" };
      cyclic.self = cyclic;
      class Point {
        constructor(public x: number) {}
      }
      const batches: unknown[][] = [
        // Plain data (the JSON fast path of the byte transports).
        [{ id: 1, op: "inc", n: 3 }, [1, "two", null, true, { deep: [{ deeper: "" }] }], "", 0],
        [
          "\u2028\ud800 lone",
          "ü🎉",
          2 ** 53 + 2,
          1e-300,
          Object.assign(Object.create(null), { a: 1 }),
        ],
        // Plain data with byte arrays (a binary frame), nested and as views.
        [
          {
            bytes: new Uint8Array([1, 2, 3]),
            list: [new Uint8Array(0), { deeper: pattern(300, 7) }],
          },
          new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]).subarray(2, 5),
          { "\u0000bytes": [0, 1] },
        ],
        // Anything else (V8 serialization).
        [new Map([[1, { n: 2 }]]), new Date(0), 5n, new Set(["s"]), { at: new Date(1) }],
        [{ payload: new Map([["k", new Uint8Array([9])]]) }, -0, NaN, Infinity, undefined],
        [{ present: undefined }, [1, , 3], Object.assign([1, 2], { extra: "kept" }), new Point(2)],
        [
          new Float64Array([1.5]),
          /re/g,
          JSON.parse('{"__proto__": {"p": true}, "constructor": 1}'),
        ],
        [shared, shared, { again: shared }],
        [cyclic],
        [],
      ];
      for (const batch of batches) {
        const expected = v8Codec.decode(v8Codec.encode(batch));
        await sendAll(a, batch);
        assert.deepEqual(await nextBatch(iterator), expected);
      }
      await sendAll(a, [shared, { again: shared }]);
      const [first, second] = (await nextBatch(iterator)) as [unknown, { again: unknown }];
      assert.equal(first, second.again, "a shared reference stays shared");
      await sendAll(a, [cyclic]);
      const [loop] = (await nextBatch(iterator)) as Record<string, unknown>[];
      assert.equal(loop!.self, loop, "a cycle stays a cycle");
    },
  },
  {
    name: "sends copies: byte arrays and objects changed right after send() arrive as sent",
    async run({ a, b }) {
      const iterator = b.receive()[Symbol.asyncIterator]();
      const bytes = pattern(4000, 3);
      const plain = { list: [1, 2] };
      const room = a.send([bytes, { nested: bytes.subarray(0, 10) }, plain]);
      bytes.fill(0);
      plain.list.push(3);
      const batch = await nextBatch(iterator);
      if (room) await within(room, "room");
      assert.deepEqual(batch, [pattern(4000, 3), { nested: pattern(10, 3) }, { list: [1, 2] }]);
    },
  },
  {
    name: "throws at the sender for a function and sends nothing of that batch",
    async run({ a, b }) {
      const iterator = b.receive()[Symbol.asyncIterator]();
      assert.throws(() => a.send(["before", { callback: () => 1 }]));
      assert.throws(() => a.send([Symbol("nope")]));
      a.send(["after"]);
      assert.deepEqual(await nextBatch(iterator), ["after"]);
      assert.equal(a.stats().messagesSent, 1);
    },
  },
  {
    name: "ends the receiver in order when the sender closes mid-stream",
    async run({ a, b }) {
      const iterator = b.receive()[Symbol.asyncIterator]();
      const halfway = Promise.withResolvers<void>();
      const receiving = (async () => {
        const got: number[] = [];
        while (true) {
          const result = await within(iterator.next(), "the receiver to end");
          if (result.done) return got;
          got.push(...(result.value as number[]));
          if (got.length >= 1_000) halfway.resolve();
        }
      })();
      let sent = 0;
      const sending = (async () => {
        for (let round = 0; round < 100_000; round++) {
          const batch = Array.from({ length: 10 }, (_, i) => sent + i);
          const room = a.send(batch);
          sent += batch.length;
          if (room) await room;
          else if (round % 16 === 15) await yieldToEventLoop();
        }
      })();
      await within(Promise.race([halfway.promise, sending]), "1,000 messages to arrive");
      await within(a.close(), "a.close()");
      const sendError = await within(sending.then(() => undefined, (error) => error), "the sender");
      assert.ok(sendError instanceof Error, "send() after close() throws");
      const got = await receiving;
      assert.ok(got.length >= 1_000 && got.length <= sent);
      got.forEach((n, i) => assert.equal(n, i));
      await within(a.close(), "a second a.close()");
    },
  },
  {
    name: "stops the sender without hanging when the receiver closes mid-stream",
    async run({ a, b }) {
      const iterator = b.receive()[Symbol.asyncIterator]();
      const halfway = Promise.withResolvers<void>();
      const receiving = (async () => {
        let count = 0;
        while (count < 1_000) {
          count += (await nextBatch(iterator, "1,000 messages")).length;
        }
        halfway.resolve();
      })();
      receiving.catch(halfway.reject);
      let sent = 0;
      const sending = (async () => {
        for (let round = 0; round < 20_000; round++) {
          const room = a.send(Array.from({ length: 10 }, (_, i) => sent + i));
          sent += 10;
          if (room) await room;
          else if (round % 16 === 15) await yieldToEventLoop();
        }
      })();
      await within(Promise.race([halfway.promise, sending]), "1,000 messages to arrive");
      await within(b.close(), "b.close()");
      // The sender either finishes (the channel dropped what it could not deliver) or
      // fails; it must not hang.
      await within(sending.catch(() => {}), "the sender to stop");
    },
  },
  {
    name: "ends or fails the receiver with ProtocolError when the peer dies mid-stream",
    needs: "kill",
    async run(pair) {
      const { a, b } = pair;
      const kill = pair.kill as () => Promise<void>;
      const iterator = b.receive()[Symbol.asyncIterator]();
      a.send([1, 2, 3]);
      assert.deepEqual(await nextBatch(iterator), [1, 2, 3]);
      a.send(Array.from({ length: 1000 }, (_, i) => i));
      await within(kill(), "kill()");
      const { messages, error } = await drain(iterator, "the receiver to notice the death");
      if (error !== undefined) assert.ok(error instanceof ProtocolError, `got ${error}`);
      assert.ok(messages.length === 0 || messages.length === 1000);
    },
  },
  {
    name: "throws FrameTooLargeError at the sender for an oversized batch and sends nothing",
    needs: "maxFrameBytes",
    async run(pair) {
      const { a, b } = pair;
      const limit = pair.maxFrameBytes as number;
      const iterator = b.receive()[Symbol.asyncIterator]();
      assert.throws(() => a.send([new Uint8Array(limit + 1)]), (error: unknown) => {
        assert.ok(error instanceof FrameTooLargeError, `got ${error}`);
        assert.equal(error.limit, limit);
        assert.ok(error.size > limit);
        return true;
      });
      a.send(["after"]);
      assert.deepEqual(await nextBatch(iterator), ["after"]);
    },
  },
  {
    name: "raises ProtocolError for an oversized length prefix before its body arrives",
    needs: "raw",
    async run(pair) {
      const { b } = pair;
      const raw = pair.raw as RawBytes;
      const iterator = b.receive()[Symbol.asyncIterator]();
      const next = iterator.next();
      // Only the prefix is written: the error must not wait for (or allocate) the body.
      raw.write(frameOf(0xffff_fff0)).catch(() => {});
      await within(assert.rejects(next, ProtocolError), "ProtocolError");
    },
  },
  {
    name: "raises ProtocolError for a frame whose bytes do not decode",
    needs: "raw",
    async run(pair) {
      const { b } = pair;
      const raw = pair.raw as RawBytes;
      const iterator = b.receive()[Symbol.asyncIterator]();
      const next = iterator.next();
      raw.write(frameOf(8, [0xff, 0xff, 0x00, 0xc1, 0xfe, 0x80, 0x81, 0x82])).catch(() => {});
      await within(assert.rejects(next, ProtocolError), "ProtocolError");
    },
  },
  {
    name: "raises ProtocolError for a stream that ends inside a frame",
    needs: "raw",
    async run(pair) {
      const { b } = pair;
      const raw = pair.raw as RawBytes;
      const iterator = b.receive()[Symbol.asyncIterator]();
      const next = iterator.next();
      raw.write(frameOf(100, Array.from({ length: 10 }, (_, i) => i))).catch(() => {});
      raw.end().catch(() => {});
      await within(assert.rejects(next, ProtocolError), "ProtocolError");
    },
  },
  {
    name: "close() is idempotent, ends the peer's receive() and makes send() throw",
    async run({ a, b }) {
      const iterator = b.receive()[Symbol.asyncIterator]();
      a.send(["last"]);
      await within(a.close(), "a.close()");
      await within(a.close(), "a second a.close()");
      assert.throws(
        () => a.send(["too late"]),
        (error: unknown) => error instanceof ConnectionClosedError && error.closedBy === "local",
      );
      const { messages, error } = await drain(iterator, "b's receive() to end");
      assert.equal(error, undefined);
      assert.deepEqual(messages, ["last"]);
    },
  },
  {
    name:
      "send() after the peer closed throws ConnectionClosedError or drops the batch, never another error",
    async run({ a, b }) {
      const iterator = a.receive()[Symbol.asyncIterator]();
      await within(b.close(), "b.close()");
      const { error } = await drain(iterator, "a's receive() to end");
      assert.equal(error, undefined);
      // A transport that can tell throws at once; one that cannot drops the
      // batch, and a wait for room may reject when the peer is gone.
      for (let i = 0; i < 3; i++) {
        try {
          await a.send(["after the peer closed"]);
        } catch (error) {
          assert.ok(error instanceof ConnectionClosedError, `got ${error}`);
          assert.equal(error.closedBy, "peer");
        }
      }
    },
  },
];

/**
 * Registers the conformance tests for one transport.
 *
 * Opens one pair first to learn which hooks it offers; tests whose hook is a
 * {@linkcode Skip} are registered as ignored, with the reason in their name.
 *
 * @param name The transport's name in test names, such as `"pipe (worker)"`.
 * @param open Opens a fresh connected pair; called once per test.
 */
export async function transportConformance(
  name: string,
  open: () => Promise<TransportPairHandle>,
): Promise<void> {
  const probe = await within(open(), `${name}: opening a pair`);
  const skips = new Map<Requirement, string>();
  for (const requirement of ["maxFrameBytes", "raw", "kill"] as const) {
    const hook = probe[requirement];
    if (isSkip(hook)) skips.set(requirement, hook.skip);
  }
  await within(probe.dispose(), `${name}: disposing the probe pair`);

  for (const testCase of cases) {
    const skip = testCase.needs ? skips.get(testCase.needs) : undefined;
    Deno.test({
      name: `${name}: ${testCase.name}${skip ? ` (skipped: ${skip})` : ""}`,
      ignore: skip !== undefined,
      async fn() {
        const pair = await within(open(), "opening a pair");
        try {
          await testCase.run(pair);
        } finally {
          await within(pair.dispose(), "dispose()");
        }
      },
    });
  }
}
