/**
 * Codecs turn messages into bytes for the byte transports (`pipe`, `ring`,
 * `socket`). The default, {@linkcode v8Codec}, round-trips what structured
 * clone does. {@linkcode jsonCodec} is for peers in other languages.
 *
 * @module
 */

import { decode as decodeV8, encode as encodeV8, UNSUPPORTED } from "./_v8_wire.ts";

type V8 = typeof import("node:v8");

/** Batches of up to this many messages are encoded in JavaScript when they can be. */
const JS_ENCODE_MAX = 4;

let v8: V8 | undefined;

/**
 * `node:v8`, loaded on first use: importing it starts Deno's Node layer,
 * which costs every worker tens of milliseconds and megabytes even when
 * its actor never encodes a byte. Common values do not need it at all:
 * `_v8_wire.ts` writes and reads them in V8's format itself.
 */
function loadV8(): V8 {
  v8 ??= (globalThis as unknown as {
    process: { getBuiltinModule(name: string): unknown };
  }).process.getBuiltinModule("node:v8") as V8;
  return v8;
}

/**
 * Encodes one batch of messages to bytes and back.
 *
 * @example A codec that only carries strings
 * ```ts
 * import type { Codec } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const lines: Codec = {
 *   name: "lines",
 *   encode: (batch) => new TextEncoder().encode(batch.join("\n")),
 *   decode: (bytes) => new TextDecoder().decode(bytes).split("\n"),
 * };
 * assert.deepEqual(lines.decode(lines.encode(["a", "b"])), ["a", "b"]);
 * ```
 */
export interface Codec {
  /** A short name for stats and errors. */
  readonly name: string;
  /**
   * Encodes a batch. Throws when a message cannot be encoded.
   *
   * @param batch The messages, in order.
   * @returns The encoded bytes.
   */
  encode(batch: readonly unknown[]): Uint8Array;
  /**
   * Decodes bytes written by `encode`. Throws when they are malformed.
   *
   * @param bytes The encoded batch.
   * @returns The messages, in order.
   */
  decode(bytes: Uint8Array): unknown[];
}

/**
 * The V8 structured-serialization codec (`node:v8`'s format): objects,
 * arrays, Map, Set, Date, RegExp, typed arrays, ArrayBuffer, bigint,
 * undefined and errors round-trip as they do through `postMessage`. Plain
 * data, Date, Map and Set are decoded, and encoded in batches of up to four
 * messages, without loading `node:v8` (which starts Deno's Node layer); the
 * rest goes through `node:v8`. The bytes are V8's format either way.
 *
 * @example
 * ```ts
 * import { v8Codec } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const [value] = v8Codec.decode(v8Codec.encode([new Map([[1, 2n]])]));
 * assert.deepEqual(value, new Map([[1, 2n]]));
 * ```
 */
export const v8Codec: Codec = {
  name: "v8",
  encode(batch: readonly unknown[]): Uint8Array {
    // Past a few messages node:v8 encodes faster (its setup is paid once per
    // batch, its per-message work is native); fewer, as a fresh actor's
    // first replies are, are faster here and need no Node layer.
    if (batch.length <= JS_ENCODE_MAX) {
      const bytes = encodeV8(batch);
      if (bytes !== UNSUPPORTED) return bytes;
    }
    return loadV8().serialize(batch);
  },
  decode(bytes: Uint8Array): unknown[] {
    let value = decodeV8(bytes);
    if (value === UNSUPPORTED) value = loadV8().deserialize(bytes);
    if (!Array.isArray(value)) throw new TypeError("Cannot decode batch: expected an array");
    return value;
  },
};

/**
 * A JSON codec for peers that are not Deno. Carries only what JSON carries;
 * decoded objects have no prototype keys such as `constructor` or
 * `__proto__`, so untrusted input cannot pollute prototypes.
 *
 * @example
 * ```ts
 * import { jsonCodec } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(jsonCodec.decode(jsonCodec.encode([{ a: 1 }])), [{ a: 1 }]);
 * ```
 */
export const jsonCodec: Codec = {
  name: "json",
  encode(batch: readonly unknown[]): Uint8Array {
    return encoder.encode(JSON.stringify(batch));
  },
  decode(bytes: Uint8Array): unknown[] {
    const value = JSON.parse(decoder.decode(bytes), dropPrototypeKeys);
    if (!Array.isArray(value)) throw new TypeError("Cannot decode batch: expected an array");
    return value;
  },
};

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function dropPrototypeKeys(key: string, value: unknown): unknown {
  return key === "__proto__" || key === "constructor" || key === "prototype" ? undefined : value;
}
