// The sender's one walk (PayloadInspector) must judge every payload exactly as
// the byte transports' codec would on its own, since the codec trusts it.
import assert from "node:assert/strict";
import { PayloadInspector } from "../actors/_protocol.ts";
import {
  BATCH_KIND,
  type BatchKind,
  BYTES_KIND,
  FrameCodec,
  NOT_PLAIN_KIND,
  PLAIN_KIND,
} from "../transports/_frame_codec.ts";
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

const SAMPLES: Record<string, unknown> = {
  "a string": "héllo",
  "a number": 42.5,
  "zero": 0,
  "minus zero": -0,
  "NaN": NaN,
  "Infinity": Infinity,
  "true": true,
  "null": null,
  "undefined": undefined,
  "a bigint": 10n,
  "a plain object": { a: 1, b: ["x", { c: null }] },
  "an object with undefined": { a: undefined },
  "a null-prototype object": Object.assign(Object.create(null), { a: 1 }),
  "an array": [1, "two", [3]],
  "an array with a hole": [1, , 3],
  "an array with a named key": withExtraKey,
  "a shared reference": { a: shared, b: shared },
  "a cycle": (() => {
    const o: Record<string, unknown> = {};
    o.self = o;
    return o;
  })(),
  "nesting past the JSON depth": deep,
  "a Uint8Array": new Uint8Array([1, 2, 3]),
  "bytes inside plain data": { id: 1, data: new Uint8Array(16) },
  "a Uint8Array on shared memory": new Uint8Array(new SharedArrayBuffer(4)),
  "a Uint16Array": new Uint16Array(2),
  "a Date": new Date(0),
  "a Map": new Map([[1, 2]]),
  "a Set": new Set([1]),
  "an Error": new Error("x"),
  "a key the binary frame uses": { "\u0000bytes": [0, 1] },
  "bytes and a bigint": { data: new Uint8Array(1), n: 1n },
};

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

for (const [name, value] of Object.entries(SAMPLES)) {
  Deno.test(`the sender's walk and the codec agree on ${name}`, () => {
    assert.equal(inspectorChoice(value), codecChoice(value));
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

Deno.test("a stated batch kind is trusted: the codec does not walk the batch again", () => {
  const codec = new FrameCodec(v8Codec);
  const batch: unknown[] & { [BATCH_KIND]?: BatchKind } = [[0, "name", { a: 1 }]];
  batch[BATCH_KIND] = NOT_PLAIN_KIND;
  const frame = codec.encode(batch) as Uint8Array;
  assert.equal(frame[0], 0xff, "stated not plain: V8 bytes although the data is plain");
  assert.deepEqual(codec.decode(frame.slice()), [[0, "name", { a: 1 }]]);
  batch[BATCH_KIND] = PLAIN_KIND;
  assert.equal((codec.encode(batch) as Uint8Array)[0], 0x5b);
});
