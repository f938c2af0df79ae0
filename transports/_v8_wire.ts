// V8's serialization format (what `node:v8` serialize/deserialize and
// structured clone use), written and read in plain JavaScript for the values
// messages are usually made of. `v8Codec` tries these first and hands
// anything else to `node:v8`, which a fresh actor then never loads for a
// common message: in Deno 2.9, reaching `node:v8` starts the Node
// compatibility layer, tens of milliseconds and several MiB.
//
// Written here: undefined, null, booleans, numbers, strings, bigints, plain
// objects (prototype Object.prototype or null), dense arrays (up to
// MAX_ARRAY items, no holes, no extra properties), Date, Map and Set, with
// shared and circular references. Read here: the same, plus holey and sparse
// arrays. Everything else (typed arrays and buffers, errors, regular
// expressions, boxed primitives, class instances, ...) makes `encode` or
// `decode` return UNSUPPORTED, and the caller falls back to `node:v8`. The
// bytes are V8's own format, so either side may use either implementation.

/** What `encode` and `decode` return for a value they leave to `node:v8`. */
export const UNSUPPORTED: unique symbol = Symbol("unsupported");

const VERSION = 15;
/** Longer arrays go to node:v8: checking them for extra properties costs a key per item. */
const MAX_ARRAY = 4096;
/** Deeper values go to node:v8 rather than risk this thread's stack. */
const MAX_DEPTH = 1000;

// Tags (v8/src/objects/value-serializer.cc).
const T_VERSION = 0xff;
const T_PADDING = 0x00;
const T_UNDEFINED = 0x5f; // _
const T_NULL = 0x30; // 0
const T_TRUE = 0x54; // T
const T_FALSE = 0x46; // F
const T_INT32 = 0x49; // I
const T_UINT32 = 0x55; // U
const T_DOUBLE = 0x4e; // N
const T_BIGINT = 0x5a; // Z
const T_UTF8_STRING = 0x53; // S
const T_ONE_BYTE_STRING = 0x22; // "
const T_TWO_BYTE_STRING = 0x63; // c
const T_OBJECT_REFERENCE = 0x5e; // ^
const T_BEGIN_OBJECT = 0x6f; // o
const T_END_OBJECT = 0x7b; // {
const T_BEGIN_SPARSE_ARRAY = 0x61; // a
const T_END_SPARSE_ARRAY = 0x40; // @
const T_BEGIN_DENSE_ARRAY = 0x41; // A
const T_END_DENSE_ARRAY = 0x24; // $
const T_THE_HOLE = 0x2d; // -
const T_DATE = 0x44; // D
const T_BEGIN_MAP = 0x3b; // ;
const T_END_MAP = 0x3a; // :
const T_BEGIN_SET = 0x27; // '
const T_END_SET = 0x2c; // ,

/** Thrown inside encode/decode to give up; never escapes this module. */
const GIVE_UP = { giveUp: true };

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

// ---------------------------------------------------------------------------
// Writing.

let out = new Uint8Array(1024);
let view = new DataView(out.buffer);
let pos = 0;
const ids = new Map<object, number>();

function reserve(n: number): void {
  if (pos + n <= out.length) return;
  let size = out.length * 2;
  while (size < pos + n) size *= 2;
  const bigger = new Uint8Array(size);
  bigger.set(out.subarray(0, pos));
  out = bigger;
  view = new DataView(out.buffer);
}

function writeVarint(value: number): void {
  reserve(5);
  while (value >= 0x80) {
    out[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  out[pos++] = value;
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value >>>= 7;
    size++;
  }
  return size;
}

function writeDouble(value: number): void {
  reserve(8);
  view.setFloat64(pos, value, true);
  pos += 8;
}

function writeString(value: string): void {
  const length = value.length;
  // Mostly ASCII: let the UTF-8 encoder copy it, and keep it if it was all ASCII.
  if (length > 32) {
    reserve(1 + 5 + length);
    const start = pos + 1 + varintSize(length);
    const { read, written } = utf8.encodeInto(value, out.subarray(start, start + length));
    if (read === length && written === length) {
      out[pos++] = T_ONE_BYTE_STRING;
      writeVarint(length);
      pos += length;
      return;
    }
  }
  let oneByte = true;
  for (let i = 0; i < length; i++) {
    if (value.charCodeAt(i) > 0xff) {
      oneByte = false;
      break;
    }
  }
  if (oneByte) {
    reserve(1 + 5 + length);
    out[pos++] = T_ONE_BYTE_STRING;
    writeVarint(length);
    for (let i = 0; i < length; i++) out[pos++] = value.charCodeAt(i);
    return;
  }
  const bytes = length * 2;
  reserve(2 + 5 + bytes);
  // V8 aligns two-byte string data to an even offset.
  if ((pos + 1 + varintSize(bytes)) & 1) out[pos++] = T_PADDING;
  out[pos++] = T_TWO_BYTE_STRING;
  writeVarint(bytes);
  for (let i = 0; i < length; i++) {
    const code = value.charCodeAt(i);
    out[pos++] = code & 0xff;
    out[pos++] = code >>> 8;
  }
}

function writeBigInt(value: bigint): void {
  const negative = value < 0n;
  let magnitude = negative ? -value : value;
  const digits: bigint[] = [];
  while (magnitude > 0n) {
    digits.push(BigInt.asUintN(64, magnitude));
    magnitude >>= 64n;
  }
  const bytes = digits.length * 8;
  reserve(1 + 5 + bytes);
  out[pos++] = T_BIGINT;
  writeVarint(bytes * 2 + (negative ? 1 : 0));
  for (const digit of digits) {
    view.setBigUint64(pos, digit, true);
    pos += 8;
  }
}

function writeValue(value: unknown, depth: number): void {
  switch (typeof value) {
    case "undefined":
      reserve(1);
      out[pos++] = T_UNDEFINED;
      return;
    case "boolean":
      reserve(1);
      out[pos++] = value ? T_TRUE : T_FALSE;
      return;
    case "number":
      if ((value | 0) === value && !Object.is(value, -0)) {
        reserve(1);
        out[pos++] = T_INT32;
        writeVarint(((value << 1) ^ (value >> 31)) >>> 0);
      } else {
        reserve(1);
        out[pos++] = T_DOUBLE;
        writeDouble(value);
      }
      return;
    case "string":
      writeString(value);
      return;
    case "bigint":
      writeBigInt(value);
      return;
    case "object":
      if (value === null) {
        reserve(1);
        out[pos++] = T_NULL;
        return;
      }
      writeObject(value, depth);
      return;
    default:
      // Functions and symbols: node:v8 throws its DataCloneError.
      throw GIVE_UP;
  }
}

function writeObject(value: object, depth: number): void {
  const id = ids.get(value);
  if (id !== undefined) {
    reserve(1);
    out[pos++] = T_OBJECT_REFERENCE;
    writeVarint(id);
    return;
  }
  if (depth > MAX_DEPTH) throw GIVE_UP;
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    ids.set(value, ids.size);
    const keys = Object.keys(value);
    reserve(1);
    out[pos++] = T_BEGIN_OBJECT;
    for (const key of keys) {
      writeString(key);
      writeValue((value as Record<string, unknown>)[key], depth + 1);
    }
    reserve(1);
    out[pos++] = T_END_OBJECT;
    writeVarint(keys.length);
    return;
  }
  if (proto === Array.prototype && Array.isArray(value)) {
    const length = value.length;
    if (length > MAX_ARRAY || Object.keys(value).length !== length) throw GIVE_UP;
    ids.set(value, ids.size);
    reserve(1);
    out[pos++] = T_BEGIN_DENSE_ARRAY;
    writeVarint(length);
    for (let i = 0; i < length; i++) {
      const item = value[i];
      if (item === undefined && !(i in value)) throw GIVE_UP; // a hole
      writeValue(item, depth + 1);
    }
    reserve(1);
    out[pos++] = T_END_DENSE_ARRAY;
    writeVarint(0);
    writeVarint(length);
    return;
  }
  if (proto === Date.prototype && value instanceof Date) {
    ids.set(value, ids.size);
    reserve(1);
    out[pos++] = T_DATE;
    writeDouble(value.getTime());
    return;
  }
  if (proto === Map.prototype && value instanceof Map) {
    ids.set(value, ids.size);
    reserve(1);
    out[pos++] = T_BEGIN_MAP;
    // Like V8: the entries as they were when the map was first reached.
    const entries = [...value];
    for (const [k, v] of entries) {
      writeValue(k, depth + 1);
      writeValue(v, depth + 1);
    }
    reserve(1);
    out[pos++] = T_END_MAP;
    writeVarint(entries.length * 2);
    return;
  }
  if (proto === Set.prototype && value instanceof Set) {
    ids.set(value, ids.size);
    reserve(1);
    out[pos++] = T_BEGIN_SET;
    const items = [...value];
    for (const item of items) writeValue(item, depth + 1);
    reserve(1);
    out[pos++] = T_END_SET;
    writeVarint(items.length);
    return;
  }
  throw GIVE_UP;
}

let encoding = false;

/** V8's serialization of `value`, or UNSUPPORTED when it holds something left to node:v8. */
export function encode(value: unknown): Uint8Array | typeof UNSUPPORTED {
  // A getter in the value that encodes something else gets node:v8.
  if (encoding) return UNSUPPORTED;
  encoding = true;
  pos = 0;
  try {
    reserve(2);
    out[pos++] = T_VERSION;
    out[pos++] = VERSION;
    writeValue(value, 0);
    return out.slice(0, pos);
  } catch (error) {
    if (error === GIVE_UP || error instanceof RangeError) return UNSUPPORTED;
    throw error;
  } finally {
    encoding = false;
    ids.clear();
    // Do not keep a buffer a large message grew.
    if (out.length > 1 << 20) {
      out = new Uint8Array(1024);
      view = new DataView(out.buffer);
    }
  }
}

// ---------------------------------------------------------------------------
// Reading.

let input: Uint8Array = new Uint8Array(0);
let inputView: DataView | undefined;
let at = 0;
let objects: unknown[] = [];

function readByte(): number {
  if (at >= input.length) throw GIVE_UP;
  return input[at++]!;
}

function readTag(): number {
  let tag: number;
  do tag = readByte(); while (tag === T_PADDING);
  return tag;
}

function peekTag(): number {
  let i = at;
  while (i < input.length && input[i] === T_PADDING) i++;
  if (i >= input.length) throw GIVE_UP;
  return input[i]!;
}

/** A uint32 varint; anything longer gives up (V8 would drop the high bits). */
function readVarint(): number {
  let value = 0;
  for (let shift = 0; shift <= 28; shift += 7) {
    const byte = readByte();
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) {
      if (value > 0xffffffff) throw GIVE_UP;
      return value;
    }
  }
  throw GIVE_UP;
}

function readDouble(): number {
  if (at + 8 > input.length) throw GIVE_UP;
  inputView ??= new DataView(input.buffer, input.byteOffset, input.byteLength);
  const value = inputView.getFloat64(at, true);
  at += 8;
  return value;
}

const CHUNK = 4096;

/** UTF-8 text; TextDecoder refuses views of shared memory, so those are copied first. */
function utf8Text(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice());
}

/** Shorter one-byte strings are built in JavaScript; longer ones tried as ASCII first. */
const SHORT_STRING = 48;

function readOneByteString(length: number): string {
  if (length > input.length - at) throw GIVE_UP;
  const bytes = input.subarray(at, at + length);
  at += length;
  if (length <= SHORT_STRING) {
    return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  // ASCII reads the same as Latin-1 and as UTF-8, and the UTF-8 decoder is
  // native. Any other byte either joins a multi-byte character (the text
  // comes out shorter) or is invalid (U+FFFD, which Latin-1 text never holds).
  const ascii = utf8Text(bytes);
  if (ascii.length === length && !ascii.includes("\ufffd")) return ascii;
  let text = "";
  for (let i = 0; i < length; i += CHUNK) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK) as unknown as number[]);
  }
  return text;
}

function readTwoByteString(bytes: number): string {
  if (bytes % 2 !== 0 || bytes > input.length - at) throw GIVE_UP;
  const length = bytes / 2;
  const codes = new Array<number>(Math.min(length, CHUNK));
  let text = "";
  for (let done = 0; done < length;) {
    const n = Math.min(CHUNK, length - done);
    codes.length = n;
    for (let i = 0; i < n; i++, at += 2) codes[i] = input[at]! | (input[at + 1]! << 8);
    text += String.fromCharCode.apply(null, codes);
    done += n;
  }
  return text;
}

function readBigInt(): bigint {
  const bitfield = readVarint();
  const bytes = bitfield >>> 1;
  if (bytes > input.length - at) throw GIVE_UP;
  let value = 0n;
  for (let i = bytes - 1; i >= 0; i--) value = (value << 8n) | BigInt(input[at + i]!);
  at += bytes;
  return bitfield & 1 ? -value : value;
}

function setProperty(target: Record<string, unknown>, key: unknown, value: unknown): void {
  if (typeof key !== "string" && typeof key !== "number") throw GIVE_UP;
  const name = String(key);
  if (name === "length" && Array.isArray(target)) throw GIVE_UP;
  // Like V8: an own data property, even for "__proto__".
  if (name === "__proto__") {
    Object.defineProperty(target, name, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  } else target[name] = value;
}

/** Reads key/value pairs up to `end`; returns how many. */
function readProperties(target: Record<string, unknown>, end: number, depth: number): number {
  let count = 0;
  while (peekTag() !== end) {
    const key = readValue(depth + 1);
    setProperty(target, key, readValue(depth + 1));
    count++;
  }
  readTag();
  return count;
}

function readValue(depth: number): unknown {
  if (depth > MAX_DEPTH) throw GIVE_UP;
  const tag = readTag();
  switch (tag) {
    case T_UNDEFINED:
      return undefined;
    case T_NULL:
      return null;
    case T_TRUE:
      return true;
    case T_FALSE:
      return false;
    case T_INT32: {
      const zigzag = readVarint();
      return (zigzag >>> 1) ^ -(zigzag & 1);
    }
    case T_UINT32:
      return readVarint();
    case T_DOUBLE:
      return readDouble();
    case T_BIGINT:
      return readBigInt();
    case T_ONE_BYTE_STRING:
      return readOneByteString(readVarint());
    case T_TWO_BYTE_STRING:
      return readTwoByteString(readVarint());
    case T_UTF8_STRING: {
      const length = readVarint();
      if (length > input.length - at) throw GIVE_UP;
      const text = utf8Text(input.subarray(at, at + length));
      at += length;
      return text;
    }
    case T_OBJECT_REFERENCE: {
      const id = readVarint();
      if (id >= objects.length) throw GIVE_UP;
      return objects[id];
    }
    case T_BEGIN_OBJECT: {
      const object: Record<string, unknown> = {};
      objects.push(object);
      const count = readProperties(object, T_END_OBJECT, depth);
      if (readVarint() !== count) throw GIVE_UP;
      return object;
    }
    case T_BEGIN_DENSE_ARRAY: {
      const length = readVarint();
      if (length > input.length - at) throw GIVE_UP;
      const array = new Array<unknown>(length);
      objects.push(array);
      for (let i = 0; i < length; i++) {
        if (peekTag() === T_THE_HOLE) {
          readTag();
          continue;
        }
        array[i] = readValue(depth + 1);
      }
      const count = readProperties(
        array as unknown as Record<string, unknown>,
        T_END_DENSE_ARRAY,
        depth,
      );
      if (readVarint() !== count || readVarint() !== length) throw GIVE_UP;
      return array;
    }
    case T_BEGIN_SPARSE_ARRAY: {
      const length = readVarint();
      const array = new Array<unknown>(length);
      objects.push(array);
      const count = readProperties(
        array as unknown as Record<string, unknown>,
        T_END_SPARSE_ARRAY,
        depth,
      );
      if (readVarint() !== count || readVarint() !== length) throw GIVE_UP;
      return array;
    }
    case T_DATE: {
      const date = new Date(readDouble());
      objects.push(date);
      return date;
    }
    case T_BEGIN_MAP: {
      const map = new Map<unknown, unknown>();
      objects.push(map);
      let count = 0;
      while (peekTag() !== T_END_MAP) {
        const key = readValue(depth + 1);
        map.set(key, readValue(depth + 1));
        count += 2;
      }
      readTag();
      if (readVarint() !== count) throw GIVE_UP;
      return map;
    }
    case T_BEGIN_SET: {
      const set = new Set<unknown>();
      objects.push(set);
      let count = 0;
      while (peekTag() !== T_END_SET) {
        set.add(readValue(depth + 1));
        count++;
      }
      readTag();
      if (readVarint() !== count) throw GIVE_UP;
      return set;
    }
    default:
      throw GIVE_UP;
  }
}

/** The value V8 serialized into `bytes`, or UNSUPPORTED when it is left to node:v8. */
export function decode(bytes: Uint8Array): unknown {
  input = bytes;
  inputView = undefined;
  at = 0;
  try {
    if (readByte() !== T_VERSION) return UNSUPPORTED;
    const version = readVarint();
    if (version < 13 || version > VERSION) return UNSUPPORTED;
    return readValue(0);
  } catch (error) {
    if (error === GIVE_UP || error instanceof RangeError) return UNSUPPORTED;
    throw error;
  } finally {
    input = new Uint8Array(0);
    inputView = undefined;
    objects = [];
  }
}
