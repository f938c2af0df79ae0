/**
 * Payload inspection: one walk over a message finds whether structured clone
 * can carry it (refusing functions, symbols and the like at the sender, by
 * path) and whether JSON carries it exactly, which the byte transports' codec
 * uses to pick its fast path. Neutral: the actor runtime walks payloads as
 * they are sent, the frame codec walks batches nobody walked.
 *
 * @module
 */

import { MessageNotCloneableError } from "./payload_errors.ts";
import { type BatchKind, BYTES_KEY, BYTES_KIND, NOT_PLAIN_KIND, PLAIN_KIND } from "./batch.ts";

/** Values nested deeper than this travel as V8 bytes, not JSON. */
const MAX_PLAIN_DEPTH = 64;

const CLONEABLE_CTORS: ReadonlySet<unknown> = new Set<unknown>([
  Date,
  RegExp,
  Map,
  Set,
  ArrayBuffer,
  SharedArrayBuffer,
  DataView,
  Boolean,
  Number,
  String,
  BigInt,
  Blob,
  File,
]);

/**
 * Throws `MessageNotCloneableError` naming the first value in `value` that
 * structured clone would reject or silently mangle: functions, symbols,
 * class instances (they arrive without their methods, so a socket or a file
 * handle would arrive as an empty object). Plain data passes.
 *
 * Returns a lower bound of the value's encoded size in bytes, so a payload
 * over a transport's frame limit can be refused before it is encoded.
 */
export function assertCloneable(value: unknown, path: string): number {
  return new PayloadInspector().inspect(value, path);
}

/**
 * {@linkcode assertCloneable} that also finds, in the same walk, how the
 * value can travel on the byte transports ({@linkcode kind}, a
 * {@linkcode BatchKind}), so their codec need not walk it again. Reused for
 * every message of one sender; a getter that sends from inside the walk
 * gets a fresh inspector.
 */
export class PayloadInspector {
  /** What the last {@linkcode inspect} found: `PLAIN_KIND`, or `BYTES_KIND` and/or `NOT_PLAIN_KIND`. */
  kind: BatchKind = PLAIN_KIND;
  /**
   * Refuse shared memory (a `SharedArrayBuffer`, or a view on one): set for
   * a channel that carries bytes, where shared memory cannot travel.
   */
  refuseShared = false;
  /** What the walk in progress found so far. */
  #found: BatchKind = PLAIN_KIND;
  /**
   * Objects walked so far: the first {@linkcode SEEN_LIST} in a list (a
   * message is a few objects, and a scan of a short list is several times
   * faster than a `Set`), the rest in a set.
   */
  #seenList: (object | undefined)[] = new Array(SEEN_LIST).fill(undefined);
  #seenCount = 0;
  #seenMore = new Set<object>();
  #keys: (string | number)[] = [];
  #busy = false;

  /** Checks `value` (named `path` in errors); returns its size estimate and sets {@linkcode kind}. */
  inspect(value: unknown, path: string): number {
    if (this.#busy) {
      // A getter in the payload sent a message: walk that one on its own,
      // leaving this walk's findings alone.
      const inner = new PayloadInspector();
      const size = inner.inspect(value, path);
      this.kind = inner.kind;
      return size;
    }
    this.#busy = true;
    this.#found = PLAIN_KIND;
    try {
      const size = typeof value === "object" && value !== null
        ? this.#walk(value, path, 0)
        : this.#leaf(value, path);
      this.kind = this.#found;
      return size;
    } catch (error) {
      // The walk may run out of stack before it reaches its own depth limit
      // (a fresh program's first, unoptimised walk takes more stack per level).
      const overflow = error instanceof RangeError && /call stack/i.test(error.message);
      const typed = overflow
        ? new MessageNotCloneableError(
          this.#path(path),
          "nested too deeply (the walk ran out of stack)",
          { cause: error },
        )
        : error;
      this.#keys.length = 0;
      throw typed;
    } finally {
      const list = this.#seenList;
      for (let i = Math.min(this.#seenCount, SEEN_LIST) - 1; i >= 0; i--) list[i] = undefined;
      if (this.#seenCount > SEEN_LIST) this.#seenMore.clear();
      this.#seenCount = 0;
      this.#busy = false;
    }
  }

  /** Records `value` as walked; `true` when it was walked before. */
  #seenBefore(value: object): boolean {
    const list = this.#seenList;
    const count = this.#seenCount;
    for (let i = Math.min(count, SEEN_LIST) - 1; i >= 0; i--) if (list[i] === value) return true;
    if (count >= SEEN_LIST) {
      if (this.#seenMore.has(value)) return true;
      this.#seenMore.add(value);
    } else {
      list[count] = value;
    }
    this.#seenCount = count + 1;
    return false;
  }

  #walk(value: object, path: string, depth: number): number {
    if (this.#seenBefore(value)) {
      // A shared reference: structured clone keeps it shared, JSON would not.
      this.#found |= NOT_PLAIN_KIND;
      return 1;
    }
    if (depth > 2000) {
      throw new MessageNotCloneableError(this.#path(path), "nested too deeply (over 2000 levels)");
    }
    if (depth >= MAX_PLAIN_DEPTH) this.#found |= NOT_PLAIN_KIND;
    let size = 2;
    const proto = Object.getPrototypeOf(value);
    if (Array.isArray(value)) {
      if (proto !== Array.prototype) this.#found |= NOT_PLAIN_KIND;
      const array = value as unknown[];
      for (let i = 0; i < array.length; i++) size += this.#check(array[i], path, i, depth);
      // A hole reads as undefined (not plain): only named keys are left to find.
      if (this.#found === PLAIN_KIND && Object.keys(array).length !== array.length) {
        this.#found |= NOT_PLAIN_KIND;
      }
      return size;
    }
    if (proto === Object.prototype || proto === null) {
      for (const key in value) {
        if (key === BYTES_KEY) this.#found |= NOT_PLAIN_KIND;
        size += key.length + this.#check((value as Record<string, unknown>)[key], path, key, depth);
      }
      return size;
    }
    if (ArrayBuffer.isView(value)) {
      const buffer = value.buffer;
      if (this.refuseShared && buffer instanceof SharedArrayBuffer) this.#shared(path, "a view of");
      if (buffer instanceof ArrayBuffer && buffer.detached) {
        throw new MessageNotCloneableError(this.#path(path), "a view of a detached ArrayBuffer");
      }
      this.#found |= proto === Uint8Array.prototype && buffer instanceof ArrayBuffer &&
          !buffer.detached
        ? BYTES_KIND
        : NOT_PLAIN_KIND;
      return size + value.byteLength;
    }
    this.#found |= NOT_PLAIN_KIND;
    if (value instanceof Map) {
      let i = 0;
      for (const [k, v] of value) {
        size += this.#check(k, path, `<key ${i}>`, depth);
        size += this.#check(v, path, `<value ${i++}>`, depth);
      }
      return size;
    }
    if (value instanceof Set) {
      let i = 0;
      for (const v of value) size += this.#check(v, path, `<item ${i++}>`, depth);
      return size;
    }
    if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
      if (this.refuseShared && value instanceof SharedArrayBuffer) this.#shared(path, "");
      if (value instanceof ArrayBuffer && value.detached) {
        throw new MessageNotCloneableError(this.#path(path), "a detached ArrayBuffer");
      }
      return size + value.byteLength;
    }
    if (value instanceof Error) return size + value.message.length;
    if (CLONEABLE_CTORS.has(proto?.constructor)) return size + 8;
    const name = typeof proto?.constructor === "function" && proto.constructor.name
      ? proto.constructor.name
      : "an object with a custom prototype";
    throw new MessageNotCloneableError(
      this.#path(path),
      `an instance of ${name} (it would arrive as a plain object without its methods)`,
    );
  }

  #shared(path: string, what: string): never {
    throw new MessageNotCloneableError(
      this.#path(path),
      `${what}${
        what ? " " : ""
      }a SharedArrayBuffer: shared memory reaches a worker actor only over the queue transport (or in its spawn args), never a byte transport or a process`,
    );
  }

  #check(value: unknown, path: string, key: string | number, depth: number): number {
    const type = typeof value;
    if (type === "object" && value !== null) {
      this.#keys.push(key);
      const size = this.#walk(value as object, path, depth + 1);
      this.#keys.pop();
      return size;
    }
    if (type === "function" || type === "symbol") this.#keys.push(key); // for the error's path
    return this.#leaf(value, path);
  }

  /** A value that is not an object: its size; refuses a function or a symbol. */
  #leaf(value: unknown, path: string): number {
    switch (typeof value) {
      case "string":
        return (value as string).length;
      case "number":
        if (!plainNumber(value as number)) this.#found |= NOT_PLAIN_KIND;
        return 1;
      case "bigint":
      case "undefined":
        this.#found |= NOT_PLAIN_KIND;
        return 1;
      case "function":
        throw new MessageNotCloneableError(this.#path(path), "a function");
      case "symbol":
        throw new MessageNotCloneableError(this.#path(path), "a symbol");
      default: // boolean, null
        return 1;
    }
  }

  /** Where the walk is, from `root`, for an error message; a very deep path keeps its two ends. */
  #path(root: string): string {
    const keys = this.#keys;
    const step = (key: string | number) => typeof key === "number" ? `[${key}]` : `.${key}`;
    let path = root;
    if (keys.length <= PATH_KEYS) {
      for (const key of keys) path += step(key);
      return path;
    }
    for (let i = 0; i < PATH_KEYS / 2; i++) path += step(keys[i]!);
    path += `...(${keys.length - PATH_KEYS} levels)`;
    for (let i = keys.length - PATH_KEYS / 2; i < keys.length; i++) path += step(keys[i]!);
    return path;
  }
}

/** Keys an error's path names in full; a deeper path keeps half at each end. */
const PATH_KEYS = 40;

/** Objects a walk remembers in a list before it uses a set. */
const SEEN_LIST = 16;

/** Whether JSON carries the number as structured clone does (finite, not -0). */
function plainNumber(value: number): boolean {
  return Number.isFinite(value) && (value !== 0 || 1 / value > 0);
}
