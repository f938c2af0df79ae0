// The sender's one walk (PayloadInspector) decides whether a payload travels as
// JSON, as JSON with raw bytes, or as V8 bytes: the codec trusts what the sender
// states, and walks an unstated batch with the same inspector.
import assert from "node:assert/strict";
import { PayloadInspector } from "../internal/payload.ts";
import { FrameCodec } from "../transports/framing/frame_codec.ts";
import { type BatchKind, BYTES_KIND, NOT_PLAIN_KIND, PLAIN_KIND } from "../internal/batch.ts";
import { v8Codec } from "../transports/codec.ts";
import { MessageNotCloneableError } from "../mod.ts";

const shared = { s: 1 };
const withExtraKey = Object.assign([1, 2], { extra: true });
const deep: Record<string, unknown> = {};
let cursor = deep;
for (let i = 0; i < 80; i++) cursor = (cursor.next = {}) as Record<string, unknown>;
class Point {
  x = 1;
}
const detached = new Uint8Array(new ArrayBuffer(8));
structuredClone(detached.buffer, { transfer: [detached.buffer] });

const cycle: Record<string, unknown> = {};
cycle.self = cycle;
// The inspector keeps its first 16 objects in a list and the rest in a set.
const manyObjects = Array.from({ length: 40 }, (_, i) => ({ i }));
const lateShared = { s: 2 };
const sharedPastTheList = [...Array.from({ length: 30 }, (_, i) => ({ i })), lateShared, [
  lateShared,
]];
const cyclePastTheList: Record<string, unknown> = { items: manyObjects.map((o) => ({ ...o })) };
(cyclePastTheList.items as Record<string, unknown>[])[35]!.back = cyclePastTheList;
const sharedAcrossTheList = {
  first: shared,
  many: manyObjects.map((o) => ({ ...o })),
  last: shared,
};

/** Each payload, and how JSON (with raw bytes beside it) can carry it exactly, if at all. */
const SAMPLES: [string, unknown, BatchKind][] = [
  ["a string", "héllo", PLAIN_KIND],
  ["a number", 42.5, PLAIN_KIND],
  ["zero", 0, PLAIN_KIND],
  ["minus zero", -0, NOT_PLAIN_KIND],
  ["NaN", NaN, NOT_PLAIN_KIND],
  ["Infinity", Infinity, NOT_PLAIN_KIND],
  ["true", true, PLAIN_KIND],
  ["null", null, PLAIN_KIND],
  ["undefined", undefined, NOT_PLAIN_KIND],
  ["a bigint", 10n, NOT_PLAIN_KIND],
  ["a plain object", { a: 1, b: ["x", { c: null }] }, PLAIN_KIND],
  ["an object with undefined", { a: undefined }, NOT_PLAIN_KIND],
  ["a null-prototype object", Object.assign(Object.create(null), { a: 1 }), PLAIN_KIND],
  ["an array", [1, "two", [3]], PLAIN_KIND],
  ["an array with a hole", [1, , 3], NOT_PLAIN_KIND],
  ["an array with a named key", withExtraKey, NOT_PLAIN_KIND],
  ["a shared reference", { a: shared, b: shared }, NOT_PLAIN_KIND],
  ["a cycle", cycle, NOT_PLAIN_KIND],
  ["forty distinct objects", manyObjects, PLAIN_KIND],
  ["a shared reference past the first 16 objects", sharedPastTheList, NOT_PLAIN_KIND],
  ["a cycle past the first 16 objects", cyclePastTheList, NOT_PLAIN_KIND],
  ["a reference shared by the first and the 43rd object", sharedAcrossTheList, NOT_PLAIN_KIND],
  ["nesting past the JSON depth", deep, NOT_PLAIN_KIND],
  ["a Uint8Array", new Uint8Array([1, 2, 3]), BYTES_KIND],
  ["bytes inside plain data", { id: 1, data: new Uint8Array(16) }, BYTES_KIND],
  ["a Uint8Array on shared memory", new Uint8Array(new SharedArrayBuffer(4)), NOT_PLAIN_KIND],
  ["a Uint16Array", new Uint16Array(2), NOT_PLAIN_KIND],
  ["a Date", new Date(0), NOT_PLAIN_KIND],
  ["a Map", new Map([[1, 2]]), NOT_PLAIN_KIND],
  ["a Set", new Set([1]), NOT_PLAIN_KIND],
  ["an Error", new Error("x"), NOT_PLAIN_KIND],
  ["a key the binary frame uses", { "\u0000bytes": [0, 1] }, NOT_PLAIN_KIND],
  ["bytes and a bigint", { data: new Uint8Array(1), n: 1n }, NOT_PLAIN_KIND],
];

/** What the codec picks for a one-message batch when nobody states the kind. */
function codecChoice(value: unknown): BatchKind {
  const frame = new FrameCodec(v8Codec).encode([[0, "name", value]]);
  const first = Array.isArray(frame) ? frame[0]![0] : frame[0];
  if (first === 0x5b) return PLAIN_KIND;
  if (first === 0x42) return BYTES_KIND;
  assert.equal(first, 0xff);
  return NOT_PLAIN_KIND;
}

function inspectorChoice(value: unknown): BatchKind {
  const inspector = new PayloadInspector();
  inspector.inspect(value, "payload");
  const kind = inspector.kind;
  return kind & NOT_PLAIN_KIND ? NOT_PLAIN_KIND : kind & BYTES_KIND ? BYTES_KIND : PLAIN_KIND;
}

for (const [name, value, expected] of SAMPLES) {
  Deno.test(`the sender's walk and the codec both judge ${name}`, () => {
    assert.equal(inspectorChoice(value), expected);
    assert.equal(codecChoice(value), expected);
  });
}

Deno.test("one inspector judges each payload afresh, and names a bad field by its path", () => {
  const inspector = new PayloadInspector();
  inspector.inspect({ a: 1n }, "payload");
  assert.equal(inspector.kind, NOT_PLAIN_KIND);
  inspector.inspect({ a: 1 }, "payload");
  assert.equal(inspector.kind, PLAIN_KIND);
  assert.throws(
    () => inspector.inspect({ list: [1, { fn() {} }] }, "payload"),
    (error: unknown) =>
      error instanceof MessageNotCloneableError && error.message.includes("payload.list[1].fn"),
  );
  assert.throws(
    () => inspector.inspect({ at: new Point() }, "payload"),
    (error: unknown) =>
      error instanceof MessageNotCloneableError && error.message.includes("payload.at") &&
      error.message.includes("Point"),
  );
  assert.throws(
    () => inspector.inspect({ bytes: detached }, "payload"),
    (error: unknown) =>
      error instanceof MessageNotCloneableError && error.message.includes("payload.bytes") &&
      error.message.includes("detached"),
  );
  // Still usable after a throw: its state was reset.
  inspector.inspect({ a: shared }, "payload");
  assert.equal(inspector.kind, PLAIN_KIND);
});

Deno.test("a getter that sends from inside a walk neither spoils nor takes that walk's verdict", () => {
  const inspector = new PayloadInspector();
  let inner: number | undefined;
  const payload = {
    n: 1n,
    get sends() {
      inspector.inspect({ x: 1 }, "payload");
      inner = inspector.kind;
      return 1;
    },
  };
  inspector.inspect(payload, "payload");
  assert.equal(inner, PLAIN_KIND);
  assert.equal(inspector.kind, NOT_PLAIN_KIND);
});

Deno.test("a batch kind passed to the codec is trusted: it does not walk the batch again", () => {
  const codec = new FrameCodec(v8Codec);
  const batch: unknown[] = [[0, "name", { a: 1 }]];
  const frame = codec.encode(batch, NOT_PLAIN_KIND) as Uint8Array;
  assert.equal(frame[0], 0xff, "stated not plain: V8 bytes although the data is plain");
  assert.deepEqual(codec.decode(frame.slice()), [[0, "name", { a: 1 }]]);
  assert.equal((codec.encode(batch, PLAIN_KIND) as Uint8Array)[0], 0x5b);
  assert.equal((codec.encode(batch) as Uint8Array)[0], 0x5b, "no kind: the codec walks it");
});

Deno.test("one inspector reused: nothing of a walk, failed or not, leaks into the next", () => {
  const inspector = new PayloadInspector();
  // Each earlier payload walks the same objects as the plain one, then fails or is not plain:
  // an object remembered from it would make the plain payload look shared.
  const plain = { list: manyObjects, one: shared };
  const before = [
    { list: manyObjects, one: shared, again: shared },
    [shared, manyObjects, () => {}],
    { list: manyObjects, deep: [{ one: shared, f: Symbol() }] },
    [manyObjects, 10n],
  ];
  for (const payload of before) {
    try {
      inspector.inspect(payload, "before");
      assert.ok(inspector.kind & NOT_PLAIN_KIND);
    } catch (error) {
      assert.ok(error instanceof MessageNotCloneableError);
    }
    inspector.inspect(plain, "payload");
    assert.equal(inspector.kind, PLAIN_KIND);
    // The path of a later error names only that payload's keys.
    assert.throws(
      () => inspector.inspect({ a: [1, { b: () => {} }] }, "payload"),
      (error: Error) =>
        error instanceof MessageNotCloneableError && /payload\.a\[1\]\.b\b/.test(error.message),
    );
  }
});

Deno.test("an inspector for a byte channel refuses shared memory by its path; the queue's takes it", () => {
  const shared = new SharedArrayBuffer(8);
  const payload = { job: { counter: new Int32Array(shared) }, raw: shared };
  const forBytes = new PayloadInspector();
  forBytes.refuseShared = true;
  assert.throws(
    () => forBytes.inspect(payload, "payload"),
    (error: unknown) =>
      error instanceof MessageNotCloneableError && /payload\.job\.counter/.test(error.message) &&
      /SharedArrayBuffer/.test(error.message),
  );
  assert.throws(() => forBytes.inspect({ raw: shared }, "payload"), /payload\.raw/);
  assert.ok(new PayloadInspector().inspect(payload, "payload") > 0);
});

Deno.test("encodeText() gives short ASCII JSON as text, and what encode() gives otherwise", () => {
  const codec = new FrameCodec(v8Codec);
  const text = codec.encodeText([[0, "name", { a: 1 }]], PLAIN_KIND, 100);
  assert.equal(text, '[[0,"name",{"a":1}]]');
  assert.equal(codec.length, text.length);
  assert.deepEqual(codec.decodeText(text as string), [[0, "name", { a: 1 }]]);
  const bytes = (frame: unknown) => (frame as Uint8Array).slice();
  // Too long for the limit, not ASCII, not plain: bytes, decoded alike from text of them.
  const long = bytes(codec.encodeText([[0, "name", { a: 1 }]], PLAIN_KIND, 10));
  assert.equal(long[0], 0x5b);
  const accented = bytes(codec.encodeText([[0, "é"]], PLAIN_KIND, 100));
  assert.deepEqual(accented, new TextEncoder().encode('[[0,"é"]]'));
  assert.equal(codec.length, accented.length);
  const map = bytes(codec.encodeText([[0, new Map([[1, 2]])]], undefined, 100));
  assert.equal(map[0], 0xff);
  for (const [frame, batch] of [[accented, [[0, "é"]]], [map, [[0, new Map([[1, 2]])]]]] as const) {
    assert.deepEqual(codec.decodeText(String.fromCharCode(...frame)), batch);
  }
  assert.throws(() => codec.decodeText('{"a":1}'), /expected an array|not V8 serialization/);
  assert.throws(() => codec.decodeText("[1"), SyntaxError);
});
