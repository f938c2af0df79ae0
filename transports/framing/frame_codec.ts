/**
 * How the byte transports (`ring`, `pipe`, `socket`) turn a batch into one
 * frame body and back: the user's codec, plus a JSON-first fast path for the
 * built-in ones (see {@linkcode FrameCodec}).
 *
 * @module
 */

import { type Codec, jsonCodec, v8Codec } from "../codec.ts";
import { type BatchKind, BYTES_KEY, BYTES_KIND, NOT_PLAIN_KIND } from "../../internal/batch.ts";
import { PayloadInspector } from "../../internal/payload.ts";
import { latin1Bytes } from "../../internal/stream_parts.ts";

/**
 * Tells, from a record's first payload byte, whether its bytes may be handed
 * out in a buffer that the ring reader's next `read()` overwrites (the
 * decoder copies everything it keeps, as `JSON.parse` does).
 */
export type ReusePolicy = (firstByte: number) => boolean;

/** The first byte of every V8 serialization (its version tag). */
const V8_VERSION_TAG = 0xff;
/** The first byte of a JSON array, `[`: a plain batch. */
const JSON_ARRAY_START = 0x5b;
/** The first byte of a batch of plain data with byte arrays, `B`. */
const BINARY_TAG = 0x42;
/** Bytes before the JSON text of a binary frame: the tag and the text's length. */
const BINARY_PREFIX_BYTES = 5;
/** Text up to this many characters is converted to and from bytes in JavaScript. */
const SHORT_TEXT = 256;
/** Encoded batches up to this size reuse one scratch buffer. */
const SCRATCH_LIMIT = 1024 * 1024;
/**
 * A binary frame's byte arrays start at offsets that agree, modulo this, with
 * where they start in their own buffers (see {@linkcode FrameCodec}).
 */
const BYTES_ALIGN = 8;
/** What pads a binary frame: up to 7 zero bytes between byte arrays. */
const ZEROS = new Uint8Array(BYTES_ALIGN - 1);
/** A space, which pads the JSON text of a binary frame. */
const SPACE = 0x20;
/** Plain payloads are under 64 levels deep (see `PayloadInspector`); deeper frames are refused. */
const MAX_REVIVE_DEPTH = 100;

function isJsonFrame(firstByte: number): boolean {
  return firstByte === JSON_ARRAY_START;
}

function isBinaryFrame(firstByte: number): boolean {
  return firstByte === BINARY_TAG;
}

/** Whether every character of `text` is ASCII (under 0x80). */
function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function always(): boolean {
  return true;
}

function never(): boolean {
  return false;
}

/** An encoded batch: one array, or parts to write back to back. */
export type Frame = Uint8Array | Uint8Array[];

/**
 * The user's codec plus fast paths for the built-in ones.
 *
 * With {@linkcode v8Codec}, a batch of plain data (`null`, booleans, finite
 * numbers other than `-0`, strings, plain objects and arrays of them, no
 * shared references) travels as JSON text, which encodes about as fast and
 * decodes two to three times faster than V8 serialization here, without its
 * per-call setup, which dominates small batches. If the plain data holds
 * `Uint8Array`s, they travel as raw bytes after the JSON text (a binary
 * frame), so a large payload costs one copy into the ring and one out.
 * Anything else travels as V8 bytes. All three decode to what V8 would give,
 * so the choice is invisible; a frame's first byte tells which it is (`[`,
 * `B` or `0xff`). As with `v8Codec`, a received `Uint8Array` is a view into
 * its frame's buffer.
 */
export class FrameCodec {
  readonly name: string;
  /** Bytes in the last frame {@linkcode encode} returned. */
  length = 0;
  #codec: Codec;
  #scratch = new Uint8Array(0);
  #inspector = new PayloadInspector();
  #blobs: Uint8Array[] = [];
  #blobBytes = 0;
  #encoder = new TextEncoder();
  #decoder = new TextDecoder("utf-8", { fatal: true });

  constructor(codec: Codec) {
    this.#codec = codec;
    this.name = codec.name;
    this.reusable = codec === v8Codec ? isJsonFrame : codec === jsonCodec ? always : never;
    this.lendable = codec === v8Codec ? isBinaryFrame : undefined;
  }

  /**
   * Which frames decode without keeping their bytes (JSON text), so the
   * reader may hand them over in a reused buffer. None for a custom codec.
   */
  readonly reusable: ReusePolicy;

  /**
   * Which frames may be decoded straight from shared memory that is reused
   * later (binary frames, whose byte arrays are then views of it), for a
   * receiver that lends; `undefined` when the codec has none (JSON, custom).
   */
  readonly lendable: ReusePolicy | undefined;

  /**
   * Encodes a batch and sets {@linkcode length}. The bytes may live in a
   * scratch buffer, or be the caller's own byte arrays, until the next call:
   * pass the frame through {@linkcode keep} to hold on to it.
   *
   * @param batch The messages.
   * @param kind What the sender found in them (`SendHints.kind`), if it walked them all.
   */
  encode(batch: readonly unknown[], kind?: BatchKind): Frame {
    const codec = this.#codec;
    let frame: Frame;
    if (codec === v8Codec) {
      const found = kind ?? this.#kindOf(batch);
      if (found & NOT_PLAIN_KIND) frame = codec.encode(batch);
      else if (found & BYTES_KIND) return this.#binary(batch);
      else frame = this.#utf8(JSON.stringify(batch), 0);
    } else if (codec === jsonCodec) {
      frame = this.#utf8(JSON.stringify(batch), 0);
    } else {
      frame = codec.encode(batch);
    }
    this.length = frame.length;
    return frame;
  }

  /**
   * {@linkcode encode}, but a frame that is JSON text of ASCII only and at
   * most `most` characters long comes as that text (one character per byte,
   * the bytes `encode` would give), for a byte stream that carries small
   * chunks as text. Sets {@linkcode length} either way.
   *
   * @param batch The messages.
   * @param kind What the sender found in them, if it walked them all.
   * @param most The longest text to give as text.
   */
  encodeText(batch: readonly unknown[], kind: BatchKind | undefined, most: number): Frame | string {
    const codec = this.#codec;
    if (codec === v8Codec) {
      const found = kind ?? this.#kindOf(batch);
      if (found & NOT_PLAIN_KIND) return this.#set(codec.encode(batch));
      if (found & BYTES_KIND) return this.#binary(batch);
    } else if (codec !== jsonCodec) return this.#set(codec.encode(batch));
    const text = JSON.stringify(batch);
    if (text.length <= most && isAscii(text)) {
      this.length = text.length;
      return text;
    }
    return this.#set(this.#utf8(text, 0));
  }

  #set(frame: Uint8Array): Uint8Array {
    this.length = frame.length;
    return frame;
  }

  /**
   * {@linkcode decode} of a frame that came as text, one character per byte
   * (latin1): a JSON frame of ASCII only is parsed as it is, anything else
   * is decoded from its bytes.
   *
   * @param text The frame, one character per byte.
   */
  decodeText(text: string): unknown[] {
    if (this.#codec !== v8Codec || text.charCodeAt(0) !== JSON_ARRAY_START || !isAscii(text)) {
      return this.decode(latin1Bytes(text));
    }
    const value = JSON.parse(text);
    if (!Array.isArray(value)) throw new TypeError("Cannot decode batch: expected an array");
    return value;
  }

  /**
   * Copies what is left to write of a frame from {@linkcode encode}, so that
   * later calls and the caller's edits to its byte arrays leave it alone.
   *
   * @param frame The frame.
   * @param written Payload bytes already in the ring.
   * @returns The bytes still to write, and how many payload bytes precede them.
   */
  keep(frame: Frame, written: number): { rest: Uint8Array; base: number } {
    if (!Array.isArray(frame)) {
      if (frame.buffer !== this.#scratch.buffer) return { rest: frame, base: 0 };
      return { rest: frame.slice(written), base: written };
    }
    const rest = new Uint8Array(this.length - written);
    let at = 0, skip = written;
    for (const part of frame) {
      if (skip >= part.length) {
        skip -= part.length;
        continue;
      }
      rest.set(skip === 0 ? part : part.subarray(skip), at);
      at += part.length - skip;
      skip = 0;
    }
    return { rest, base: written };
  }

  /**
   * Drops the scratch buffer (up to 1 MiB once large batches were encoded),
   * for an end that will encode no more. Encoding after it still works.
   */
  release(): void {
    this.#scratch = new Uint8Array(0);
    this.#blobs = [];
  }

  decode(bytes: Uint8Array): unknown[] {
    const codec = this.#codec;
    if (codec !== v8Codec || bytes[0] === V8_VERSION_TAG) return codec.decode(bytes);
    let value: unknown;
    if (bytes[0] === JSON_ARRAY_START) {
      value = JSON.parse(this.#text(bytes));
    } else if (bytes[0] === BINARY_TAG && bytes.length >= BINARY_PREFIX_BYTES) {
      value = this.#decodeBinary(bytes);
    } else {
      throw new TypeError(
        "Cannot decode batch: it is not V8 serialization, JSON or a binary frame",
      );
    }
    if (!Array.isArray(value)) throw new TypeError("Cannot decode batch: expected an array");
    return value;
  }

  /** UTF-8 of `text` after `prefix` free bytes, in the scratch buffer when it fits. */
  #utf8(text: string, prefix: number): Uint8Array {
    const most = prefix + text.length * 3;
    if (most > SCRATCH_LIMIT) {
      const encoded = this.#encoder.encode(text);
      if (prefix === 0) return encoded;
      const bytes = new Uint8Array(prefix + encoded.length);
      bytes.set(encoded, prefix);
      return bytes;
    }
    if (this.#scratch.length < most) {
      this.#scratch = new Uint8Array(
        Math.max(most, Math.min(this.#scratch.length * 2, SCRATCH_LIMIT)),
      );
    }
    const scratch = this.#scratch;
    if (text.length <= SHORT_TEXT) {
      // Short ASCII text: a loop beats the call into the runtime.
      let i = 0;
      for (; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (code > 0x7f) break;
        scratch[prefix + i] = code;
      }
      if (i === text.length) return scratch.subarray(0, prefix + i);
    }
    const { written } = this.#encoder.encodeInto(text, scratch.subarray(prefix));
    return scratch.subarray(0, prefix + written);
  }

  /** UTF-8 bytes to text, with a loop for short ASCII (as {@linkcode #utf8} does). */
  #text(bytes: Uint8Array): string {
    if (bytes.length <= SHORT_TEXT) {
      let ascii = true;
      for (let i = 0; i < bytes.length; i++) {
        if (bytes[i]! > 0x7f) {
          ascii = false;
          break;
        }
      }
      if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
    }
    return this.#decoder.decode(bytes);
  }

  /**
   * A binary frame: `B`, the JSON text's length (u32 little-endian), the
   * JSON text with each byte array replaced by `{"\u0000bytes": [offset,
   * length]}`, then the byte arrays.
   *
   * Alignment: the text ends in spaces up to a multiple of 8 bytes, and each
   * byte array starts at an offset that agrees modulo 8 with its own
   * `byteOffset`, after up to 7 zero bytes. Copies between shared and
   * non-shared memory (the ring's) run word by word only when source and
   * target agree modulo 8, and seven times slower byte by byte otherwise; the
   * ring starts every frame 8-aligned, so each array lands in the ring, and
   * arrives, aligned as it was sent.
   */
  #binary(batch: readonly unknown[]): Frame {
    const blobs: Uint8Array[] = (this.#blobs = []);
    this.#blobBytes = 0;
    const text = JSON.stringify(batch, this.#replaceBytes);
    let head = this.#utf8(text, BINARY_PREFIX_BYTES);
    const pad = -head.length & (BYTES_ALIGN - 1);
    if (pad > 0) {
      const end = head.byteOffset + head.length;
      head = end + pad <= head.buffer.byteLength
        ? new Uint8Array(head.buffer, head.byteOffset, head.length + pad)
        : copyInto(new Uint8Array(head.length + pad), head);
      head.fill(SPACE, head.length - pad);
    }
    const textBytes = head.length - BINARY_PREFIX_BYTES;
    head[0] = BINARY_TAG;
    head[1] = textBytes;
    head[2] = textBytes >>> 8;
    head[3] = textBytes >>> 16;
    head[4] = textBytes >>> 24;
    this.#blobs = [];
    this.length = head.length + this.#blobBytes;
    return [head, ...blobs];
  }

  #replaceBytes = (_key: string, value: unknown): unknown => {
    if (!(value instanceof Uint8Array)) return value;
    const gap = (value.byteOffset - this.#blobBytes) & (BYTES_ALIGN - 1);
    if (gap > 0) {
      this.#blobs.push(ZEROS.subarray(0, gap));
      this.#blobBytes += gap;
    }
    const placeholder = { [BYTES_KEY]: [this.#blobBytes, value.length] };
    this.#blobs.push(value);
    this.#blobBytes += value.length;
    return placeholder;
  };

  #decodeBinary(bytes: Uint8Array): unknown {
    const textBytes = (bytes[1]! | (bytes[2]! << 8) | (bytes[3]! << 16) | (bytes[4]! << 24)) >>> 0;
    const base = BINARY_PREFIX_BYTES + textBytes;
    if (base > bytes.length) {
      throw new TypeError("Cannot decode batch: a binary frame is truncated");
    }
    // A plain parse and then a walk that swaps the placeholders: several times
    // faster than a reviver, which V8 calls for every value.
    const value = JSON.parse(this.#decoder.decode(bytes.subarray(BINARY_PREFIX_BYTES, base)));
    return typeof value === "object" && value !== null
      ? revivePlaceholders(value, bytes, base, 0)
      : value;
  }

  /**
   * What a batch nobody stated a kind for holds: the sender's own walk
   * (`PayloadInspector`), over the whole batch so that an object shared by
   * two messages keeps its identity. What that walk refuses, V8 judges.
   */
  #kindOf(batch: readonly unknown[]): BatchKind {
    const inspector = this.#inspector;
    try {
      inspector.inspect(batch, "batch");
    } catch {
      return NOT_PLAIN_KIND;
    }
    return inspector.kind;
  }
}

/** Copies `bytes` to the start of `target` and returns `target`. */
function copyInto(target: Uint8Array, bytes: Uint8Array): Uint8Array {
  target.set(bytes);
  return target;
}

/**
 * Replaces, in place, each placeholder `{"\u0000bytes": [offset, length]}`
 * under `value` (parsed JSON) with a view of `frame` at `base + offset`.
 * Senders refuse the placeholder key in their own data, so every object
 * that holds it is a placeholder.
 *
 * @returns `value`, or the view when `value` itself is a placeholder.
 */
function revivePlaceholders(
  value: object,
  frame: Uint8Array,
  base: number,
  depth: number,
): unknown {
  if (depth > MAX_REVIVE_DEPTH) throw new TypeError("Cannot decode batch: nested too deeply");
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (typeof item === "object" && item !== null) {
        value[i] = revivePlaceholders(item, frame, base, depth + 1);
      }
    }
    return value;
  }
  const record = value as Record<string, unknown>;
  const ref = record[BYTES_KEY];
  if (ref !== undefined) {
    const [offset, length] = Array.isArray(ref) ? ref : [];
    const start = base + offset;
    if (!(offset >= 0 && length >= 0 && start + length <= frame.length)) {
      throw new TypeError("Cannot decode batch: a byte array lies outside its frame");
    }
    return frame.subarray(start, start + length);
  }
  for (const key in record) {
    const item = record[key];
    if (typeof item !== "object" || item === null) continue;
    const revived = revivePlaceholders(item, frame, base, depth + 1);
    if (revived === item) continue;
    // An own "__proto__" key from JSON.parse must stay an own property.
    if (key === "__proto__") {
      Object.defineProperty(record, key, {
        value: revived,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    } else record[key] = revived;
  }
  return value;
}
