/**
 * `SharedArray`: numbers in shared memory that worker actors update
 * atomically, like Python's `multiprocessing.Array`, without a lock.
 *
 * @module
 */

import { a, checkDescriptor, checkKind, Elements, elementSize, MAX_LENGTH } from "./_elements.ts";
import type { SharedArrayDescriptor, SharedKind, SharedValueType } from "./shared_kind.ts";

export type { SharedArrayDescriptor } from "./shared_kind.ts";

/**
 * A fixed-length array of numbers in shared memory whose elements are
 * updated atomically from any thread: the counterpart of Python's
 * `multiprocessing.Array('i', 10)`.
 *
 * Guarantees:
 * - Every element operation is atomic and sequentially consistent, as for
 *   {@linkcode SharedValue} (and `"f64"` uses the same compare-and-swap
 *   loops); operations on different elements do not interfere.
 * - There is no atomic operation over several elements: {@linkcode SharedArray.toArray}
 *   reads each element atomically, but the snapshot as a whole is not. Guard
 *   multi-element invariants with a `Mutex`.
 *
 * Sharing works as for `SharedValue`: send {@linkcode SharedArray.share}'s
 * descriptor and rebuild with {@linkcode SharedArray.from}.
 *
 * @example Per-worker tallies in one array
 * ```ts
 * import { SharedArray } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const tallies = SharedArray.of("u32", 3);
 * const inWorker = SharedArray.from(structuredClone(tallies.share()));
 * inWorker.add(1, 5);
 * tallies.add(2, 1);
 * assert.deepEqual(tallies.toArray(), [0, 5, 1]);
 * ```
 *
 * @typeParam K The element kind.
 */
export class SharedArray<K extends SharedKind = SharedKind> {
  /** The element kind. */
  readonly kind: K;
  /** The shared memory holding the elements. */
  readonly buffer: SharedArrayBuffer;
  /** The number of elements. */
  readonly length: number;
  #elements: Elements<K>;

  private constructor(kind: K, buffer: SharedArrayBuffer) {
    this.kind = kind;
    this.buffer = buffer;
    this.#elements = new Elements(kind, buffer);
    this.length = this.#elements.length;
  }

  /**
   * Creates an array of `length` zeros in new shared memory.
   *
   * @example
   * ```ts
   * import { SharedArray } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const sums = SharedArray.of("f64", 2);
   * sums.add(0, 0.5);
   * assert.deepEqual(sums.toArray(), [0.5, 0]);
   * ```
   *
   * @typeParam K The element kind.
   * @param kind `"i32"`, `"u32"`, `"f64"` or `"bigint64"`.
   * @param length The number of elements, at least 1.
   * @returns The array.
   * @throws {TypeError} When the kind is unknown.
   * @throws {RangeError} When the length is not a positive integer (at most 2 ** 27).
   */
  static of<K extends SharedKind>(kind: K, length: number): SharedArray<K> {
    checkKind(kind, "create shared array");
    if (!Number.isInteger(length) || length < 1 || length > MAX_LENGTH) {
      throw new RangeError(
        `Cannot create shared array: length must be an integer from 1 to ${MAX_LENGTH}, received ${length}`,
      );
    }
    return new SharedArray(kind, new SharedArrayBuffer(length * elementSize(kind)));
  }

  /**
   * Rebuilds an array from a descriptor made by {@linkcode SharedArray.share}.
   *
   * @example
   * ```ts
   * import { SharedArray } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const array = SharedArray.of("bigint64", 4);
   * const copy = SharedArray.from(structuredClone(array.share()));
   * copy.store(3, 9n);
   * assert.equal(array.load(3), 9n);
   * assert.equal(copy.length, 4);
   * ```
   *
   * @typeParam K The element kind.
   * @param descriptor The kind and shared buffer.
   * @returns An array over the same memory.
   * @throws {TypeError} When the descriptor is not a shared array's.
   */
  static from<K extends SharedKind>(descriptor: SharedArrayDescriptor<K>): SharedArray<K> {
    const what = "rebuild shared array";
    checkDescriptor(descriptor, what);
    const { kind, buffer } = descriptor;
    const size = elementSize(kind);
    if (buffer.byteLength === 0 || buffer.byteLength % size !== 0) {
      throw new TypeError(
        `Cannot ${what}: ${
          a(kind)
        } array needs a buffer of a positive multiple of ${size} bytes, received ${buffer.byteLength}`,
      );
    }
    return new SharedArray(kind, buffer);
  }

  /**
   * Returns plain data to send to another actor, which rebuilds the array
   * with {@linkcode SharedArray.from}.
   *
   * @example
   * ```ts
   * import { SharedArray } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const array = SharedArray.of("i32", 2);
   * assert.equal(array.share().buffer, array.buffer);
   * ```
   *
   * @returns The kind and the shared buffer.
   */
  share(): SharedArrayDescriptor<K> {
    return { kind: this.kind, buffer: this.buffer };
  }

  /**
   * Reads element `index`.
   *
   * @example
   * ```ts
   * import { SharedArray } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.equal(SharedArray.of("i32", 1).load(0), 0);
   * ```
   *
   * @param index The element's index.
   * @returns The element's value.
   * @throws {RangeError} When the index is out of bounds.
   */
  load(index: number): SharedValueType<K> {
    return this.#elements.load(index, "load shared array element");
  }

  /**
   * Writes element `index`.
   *
   * @example
   * ```ts
   * import { SharedArray } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const array = SharedArray.of("u32", 2);
   * array.store(1, 4_000_000_000);
   * assert.equal(array.load(1), 4_000_000_000);
   * ```
   *
   * @param index The element's index.
   * @param value The new value.
   * @throws {TypeError} When the value has the wrong type for the kind.
   * @throws {RangeError} When the index is out of bounds or an integer does not fit the kind.
   */
  store(index: number, value: SharedValueType<K>): void {
    this.#elements.store(index, value, "store shared array element");
  }

  /**
   * Adds `n` to element `index` atomically. Integer kinds wrap around.
   *
   * @example
   * ```ts
   * import { SharedArray } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const array = SharedArray.of("i32", 2);
   * assert.equal(array.add(1, 3), 0);
   * assert.equal(array.load(1), 3);
   * ```
   *
   * @param index The element's index.
   * @param n The amount.
   * @returns The element's value before the addition.
   * @throws {TypeError} When `n` has the wrong type for the kind.
   * @throws {RangeError} When the index is out of bounds or `n` is not a safe integer.
   */
  add(index: number, n: SharedValueType<K>): SharedValueType<K> {
    return this.#elements.add(index, n, "add to shared array element");
  }

  /**
   * Subtracts `n` from element `index` atomically. Integer kinds wrap around.
   *
   * @example
   * ```ts
   * import { SharedArray } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const array = SharedArray.of("f64", 1);
   * array.sub(0, 0.5);
   * assert.equal(array.load(0), -0.5);
   * ```
   *
   * @param index The element's index.
   * @param n The amount.
   * @returns The element's value before the subtraction.
   * @throws {TypeError} When `n` has the wrong type for the kind.
   * @throws {RangeError} When the index is out of bounds or `n` is not a safe integer.
   */
  sub(index: number, n: SharedValueType<K>): SharedValueType<K> {
    return this.#elements.sub(index, n, "subtract from shared array element");
  }

  /**
   * Writes element `index` atomically and returns what was there.
   *
   * @example
   * ```ts
   * import { SharedArray } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const array = SharedArray.of("i32", 1);
   * assert.equal(array.exchange(0, 5), 0);
   * ```
   *
   * @param index The element's index.
   * @param value The new value.
   * @returns The element's value before.
   * @throws {TypeError} When the value has the wrong type for the kind.
   * @throws {RangeError} When the index is out of bounds or an integer does not fit the kind.
   */
  exchange(index: number, value: SharedValueType<K>): SharedValueType<K> {
    return this.#elements.exchange(index, value, "exchange shared array element");
  }

  /**
   * Writes `replacement` to element `index` only if it is `expected`,
   * atomically. The swap happened when the returned value equals
   * `expected` (`Object.is` for `"f64"`).
   *
   * @example Claim a slot once
   * ```ts
   * import { SharedArray } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const slots = SharedArray.of("i32", 4);
   * assert.equal(slots.compareExchange(2, 0, 7), 0); // claimed
   * assert.equal(slots.compareExchange(2, 0, 8), 7); // already taken by 7
   * ```
   *
   * @param index The element's index.
   * @param expected The value to replace.
   * @param replacement The new value.
   * @returns The element's value before: `expected` if the swap happened.
   * @throws {TypeError} When a value has the wrong type for the kind.
   * @throws {RangeError} When the index is out of bounds or an integer does not fit the kind.
   */
  compareExchange(
    index: number,
    expected: SharedValueType<K>,
    replacement: SharedValueType<K>,
  ): SharedValueType<K> {
    return this.#elements.compareExchange(
      index,
      expected,
      replacement,
      "compare-exchange shared array element",
    );
  }

  /**
   * Copies the elements into a plain array. Each element is read
   * atomically; the copy as a whole is not one atomic snapshot.
   *
   * @example
   * ```ts
   * import { SharedArray } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.deepEqual(SharedArray.of("bigint64", 2).toArray(), [0n, 0n]);
   * ```
   *
   * @returns The elements' values.
   */
  toArray(): SharedValueType<K>[] {
    return this.#elements.toArray();
  }
}
