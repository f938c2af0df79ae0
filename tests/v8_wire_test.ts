// The JavaScript reader and writer of V8's serialization format against
// node:v8 itself: what one writes the other reads, value for value.
import assert from "node:assert/strict";
import * as v8 from "node:v8";
import { decode, encode, UNSUPPORTED } from "../transports/_v8_wire.ts";
import { v8Codec } from "../transports/codec.ts";

/** A deterministic pseudo-random generator, so a failure can be replayed. */
function random(seed: number): () => number {
  return () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
}

function generator(seed: number): (depth: number) => unknown {
  const rnd = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
  const text = (): string => {
    const length = Math.floor(rnd() * (rnd() < 0.1 ? 200 : 8));
    let s = "";
    for (let i = 0; i < length; i++) {
      const r = rnd();
      s += String.fromCharCode(
        r < 0.6
          ? 32 + Math.floor(rnd() * 95) // ASCII
          : r < 0.8
          ? 128 + Math.floor(rnd() * 128) // Latin-1
          : r < 0.95
          ? 256 + Math.floor(rnd() * 60000) // two-byte
          : 0xd800 + Math.floor(rnd() * 2048), // lone surrogates
      );
    }
    return s;
  };
  const numbers = [0, -0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 53, NaN, Infinity];
  const bigints = [0n, 1n, -1n, 2n ** 64n, -(2n ** 64n) + 1n, 2n ** 63n, -(2n ** 200n)];
  const value = (depth: number): unknown => {
    const r = rnd();
    if (depth > 4 || r < 0.35) {
      if (rnd() < 0.1) return pick(bigints);
      return pick([undefined, null, true, false, pick(numbers), (rnd() - 0.5) * 1e9, text()]);
    }
    if (r < 0.55) {
      const object: Record<string, unknown> = rnd() < 0.1 ? Object.create(null) : {};
      for (let i = Math.floor(rnd() * 5); i > 0; i--) {
        object[rnd() < 0.2 ? String(Math.floor(rnd() * 10)) : text()] = value(depth + 1);
      }
      return object;
    }
    if (r < 0.75) return Array.from({ length: Math.floor(rnd() * 6) }, () => value(depth + 1));
    if (r < 0.8) return new Date(rnd() < 0.1 ? NaN : Math.floor(rnd() * 1e12));
    if (r < 0.87) {
      return new Map(Array.from({ length: Math.floor(rnd() * 4) }, () => [value(depth + 1), 1]));
    }
    if (r < 0.92) return new Set(Array.from({ length: Math.floor(rnd() * 4) }, () => text()));
    // Left to node:v8: a holey array, bytes, an array with a named property.
    if (r < 0.96) return [1, , 3];
    if (r < 0.98) return new Uint8Array([1, 2, 3]);
    return Object.assign([1, 2], { extra: "x" });
  };
  return value;
}

Deno.test("V8 format: values written in JavaScript read back the same in node:v8 and in JavaScript", () => {
  const value = generator(1);
  let written = 0;
  for (let i = 0; i < 1500; i++) {
    const batch = [value(0), value(0)];
    const expected = v8.deserialize(v8.serialize(batch));
    const bytes = encode(batch);
    if (bytes === UNSUPPORTED) continue;
    written++;
    assert.deepStrictEqual(v8.deserialize(bytes), expected);
    assert.deepStrictEqual(decode(bytes), expected);
  }
  assert.ok(written > 600, `only ${written} of 1500 batches were written in JavaScript`);
});

Deno.test("V8 format: what node:v8 writes reads back the same in JavaScript", () => {
  const value = generator(2);
  let read = 0;
  for (let i = 0; i < 1500; i++) {
    const bytes = v8.serialize([value(0), value(0)]);
    const decoded = decode(bytes);
    if (decoded === UNSUPPORTED) continue;
    read++;
    assert.deepStrictEqual(decoded, v8.deserialize(bytes));
  }
  assert.ok(read > 600, `only ${read} of 1500 batches were read in JavaScript`);
});

Deno.test("V8 format: shared and circular references, __proto__ keys and long strings", () => {
  const shared = { s: 1 };
  const circular: Record<string, unknown> = { a: 1 };
  circular.self = circular;
  const [a, b, c] = decode(encode([shared, shared, circular]) as Uint8Array) as Record<
    string,
    unknown
  >[];
  assert.equal(a, b);
  assert.equal(c!.self, c);
  const [own] = decode(encode([JSON.parse('{"__proto__": 5}')]) as Uint8Array) as object[];
  assert.equal(Object.getPrototypeOf(own), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(own, "__proto__")?.value, 5);
  for (const s of ["a".repeat(100_000), "é".repeat(5000) + "x", "日".repeat(10_000), "a\ud800"]) {
    assert.equal(v8.deserialize(encode([s]) as Uint8Array)[0], s);
    assert.deepEqual(decode(v8.serialize([s])), [s]);
    assert.deepEqual(decode(encode([s]) as Uint8Array), [s]);
  }
});

Deno.test("V8 format: truncated or corrupted bytes are read as node:v8 reads them, or left to it", () => {
  const rnd = random(3);
  const samples = [
    [1, "a", { b: [2, 3] }, new Map([[1, { x: null }]]), new Set([1n]), new Date(5), "日本", true],
    [{ a: { b: { c: [1.5, -0, undefined] } } }],
  ].map((sample) => new Uint8Array(v8.serialize(sample)));
  for (let i = 0; i < 6000; i++) {
    const sample = samples[i % samples.length]!;
    let bytes: Uint8Array;
    if (rnd() < 0.4) bytes = sample.slice(0, Math.floor(rnd() * sample.length));
    else {
      bytes = sample.slice();
      bytes[Math.floor(rnd() * bytes.length)] = Math.floor(rnd() * 256);
    }
    const decoded = decode(bytes);
    if (decoded === UNSUPPORTED) continue;
    assert.deepStrictEqual(decoded, v8.deserialize(bytes), `bytes ${bytes.join(",")}`);
  }
});

Deno.test("v8Codec hands what the JavaScript format leaves out to node:v8, which throws as before", () => {
  const batch = [new Uint8Array([1, 2]), new RangeError("x"), /re/g, [1, , 3]];
  assert.equal(encode(batch), UNSUPPORTED);
  assert.deepStrictEqual(
    v8Codec.decode(v8Codec.encode(batch)),
    v8.deserialize(v8.serialize(batch)),
  );
  assert.throws(() => v8Codec.encode([() => 1]), /could not be cloned/);
  assert.throws(() => v8Codec.decode(new Uint8Array([0xff, 0x0f, 0x6f])));
});
