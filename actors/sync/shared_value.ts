/**
 * `SharedValue`: a number in shared memory that worker actors update
 * atomically, like Python's `multiprocessing.Value`, without a lock.
 *
 * @module
 */

import { a, checkDescriptor, checkKind, Elements, elementSize } from "./_elements.ts";
import type { SharedKind, SharedValueDescriptor, SharedValueType } from "./shared_kind.ts";

export type { SharedKind, SharedValueDescriptor, SharedValueType } from "./shared_kind.ts";

/**
 * One number in shared memory, updated atomically from any thread: the
 * Troupe counterpart of Python's `multiprocessing.Value('i', 0)`, with no lock
 * needed for a counter.
 *
 * Guarantees:
 * - Every operation is atomic: concurrent `add`s from any number of worker
 *   actors and the main thread are never lost, and no thread ever reads a
 *   half-written value (64-bit kinds included).
 * - Operations are sequentially consistent, so plain writes made before an
 *   atomic write are visible to a thread that reads that write.
 * - Integer kinds wrap around on overflow like C's fixed-width integers;
 *   `"f64"` follows IEEE 754 arithmetic.
 * - `"f64"` has no native atomics in JavaScript: `add`, `sub` and
 *   `compareExchange` are lock-free compare-and-swap loops over the value's
 *   8-byte bit pattern, so they are as exact as a single-threaded sum.
 *
 * Sharing: structured clone turns a class instance into a plain object and
 * Troupe refuses to send one, so send {@linkcode SharedValue.share}'s
 * descriptor (in spawn `args` or a message over the `queue` transport) and
 * rebuild the value on the other side with {@linkcode SharedValue.from}.
 * Shared memory cannot cross a process boundary: process actors cannot take
 * one.
 *
 * @example Count from two sides of a structured clone
 * ```ts
 * import { SharedValue } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const counter = SharedValue.of("i32", 0);
 * // What a worker actor does with the descriptor it got in its args:
 * const inWorker = SharedValue.from(structuredClone(counter.share()));
 * inWorker.add(1);
 * counter.add(1);
 * assert.equal(counter.load(), 2);
 * ```
 *
 * @typeParam K The element kind.
 */
export class SharedValue<K extends SharedKind = SharedKind> {
  /** The element kind. */
  readonly kind: K;
  /** The shared memory holding the value. */
  readonly buffer: SharedArrayBuffer;
  #value: Elements<K>;

  private constructor(kind: K, buffer: SharedArrayBuffer) {
    this.kind = kind;
    this.buffer = buffer;
    this.#value = new Elements(kind, buffer);
  }

  /**
   * Creates a value in new shared memory.
   *
   * @example A float and a bigint
   * ```ts
   * import { SharedValue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const total = SharedValue.of("f64", 1.5);
   * total.add(0.25);
   * assert.equal(total.load(), 1.75);
   * const big = SharedValue.of("bigint64");
   * big.add(2n ** 40n);
   * assert.equal(big.load(), 2n ** 40n);
   * ```
   *
   * @typeParam K The element kind.
   * @param kind `"i32"`, `"u32"`, `"f64"` or `"bigint64"`.
   * @param initial The first value. Default 0 (`0n` for `"bigint64"`).
   * @returns The value.
   * @throws {TypeError} When the kind is unknown or the initial value has the wrong type.
   * @throws {RangeError} When the initial value does not fit the kind.
   */
  static of<K extends SharedKind>(kind: K, initial?: SharedValueType<K>): SharedValue<K> {
    checkKind(kind, "create shared value");
    const value = new SharedValue(kind, new SharedArrayBuffer(elementSize(kind)));
    if (initial !== undefined) value.store(initial);
    return value;
  }

  /**
   * Rebuilds a value from a descriptor made by {@linkcode SharedValue.share},
   * typically in the actor that received it. Both sides use the same memory.
   *
   * @example Rebuild in an actor's init
   * ```ts
   * import { defineActor, SharedValue, type SharedValueDescriptor } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * // In the actor's module: rebuild the value from the spawn args.
   * export const adder = defineActor({
   *   init: (args: { hits: SharedValueDescriptor<"i32"> }) => ({ hits: SharedValue.from(args.hits) }),
   *   handlers: { hit: (state) => void state.hits.add(1) },
   * });
   * // In the parent: system.spawn<typeof adder>(url, { args: { hits: hits.share() } })
   * const hits = SharedValue.of("i32");
   * SharedValue.from(structuredClone(hits.share())).add(1);
   * assert.equal(hits.load(), 1);
   * ```
   *
   * @typeParam K The element kind.
   * @param descriptor The kind and shared buffer.
   * @returns A value over the same memory.
   * @throws {TypeError} When the descriptor is not a shared value's.
   */
  static from<K extends SharedKind>(descriptor: SharedValueDescriptor<K>): SharedValue<K> {
    const what = "rebuild shared value";
    checkDescriptor(descriptor, what);
    const { kind, buffer } = descriptor;
    if (buffer.byteLength !== elementSize(kind)) {
      throw new TypeError(
        `Cannot ${what}: ${a(kind)} needs a buffer of ${
          elementSize(kind)
        } bytes, received ${buffer.byteLength}`,
      );
    }
    return new SharedValue(kind, buffer);
  }

  /**
   * Returns plain data to send to another actor, which rebuilds the value
   * with {@linkcode SharedValue.from}.
   *
   * @example
   * ```ts
   * import { SharedValue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const flag = SharedValue.of("u32", 7);
   * const copy = SharedValue.from(structuredClone(flag.share()));
   * copy.store(8);
   * assert.equal(flag.load(), 8);
   * ```
   *
   * @returns The kind and the shared buffer.
   */
  share(): SharedValueDescriptor<K> {
    return { kind: this.kind, buffer: this.buffer };
  }

  /**
   * Reads the value.
   *
   * @example
   * ```ts
   * import { SharedValue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * assert.equal(SharedValue.of("i32", -3).load(), -3);
   * ```
   *
   * @returns The current value.
   */
  load(): SharedValueType<K> {
    return this.#value.load(0, "load shared value");
  }

  /**
   * Writes the value.
   *
   * @example
   * ```ts
   * import { SharedValue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const value = SharedValue.of("f64");
   * value.store(0.5);
   * assert.equal(value.load(), 0.5);
   * ```
   *
   * @param value The new value.
   * @throws {TypeError} When the value has the wrong type for the kind.
   * @throws {RangeError} When an integer does not fit the kind (`1.5` or `2 ** 31` in an `"i32"`).
   */
  store(value: SharedValueType<K>): void {
    this.#value.store(0, value, "store shared value");
  }

  /**
   * Adds `n` atomically. Integer kinds wrap around on overflow.
   *
   * @example
   * ```ts
   * import { SharedValue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const value = SharedValue.of("i32", 40);
   * assert.equal(value.add(2), 40);
   * assert.equal(value.load(), 42);
   * ```
   *
   * @param n The amount (a safe integer for integer kinds, a bigint for `"bigint64"`).
   * @returns The value before the addition, like `Atomics.add`.
   * @throws {TypeError} When `n` has the wrong type for the kind.
   * @throws {RangeError} When `n` is not a safe integer for an integer kind.
   */
  add(n: SharedValueType<K>): SharedValueType<K> {
    return this.#value.add(0, n, "add to shared value");
  }

  /**
   * Subtracts `n` atomically. Integer kinds wrap around on overflow.
   *
   * @example
   * ```ts
   * import { SharedValue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const value = SharedValue.of("bigint64", 10n);
   * assert.equal(value.sub(3n), 10n);
   * assert.equal(value.load(), 7n);
   * ```
   *
   * @param n The amount.
   * @returns The value before the subtraction.
   * @throws {TypeError} When `n` has the wrong type for the kind.
   * @throws {RangeError} When `n` is not a safe integer for an integer kind.
   */
  sub(n: SharedValueType<K>): SharedValueType<K> {
    return this.#value.sub(0, n, "subtract from shared value");
  }

  /**
   * Writes `value` atomically and returns what was there.
   *
   * @example
   * ```ts
   * import { SharedValue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const value = SharedValue.of("u32", 1);
   * assert.equal(value.exchange(2), 1);
   * assert.equal(value.load(), 2);
   * ```
   *
   * @param value The new value.
   * @returns The value before.
   * @throws {TypeError} When the value has the wrong type for the kind.
   * @throws {RangeError} When an integer does not fit the kind.
   */
  exchange(value: SharedValueType<K>): SharedValueType<K> {
    return this.#value.exchange(0, value, "exchange shared value");
  }

  /**
   * Writes `replacement` only if the value is `expected`, atomically. The
   * swap happened when the returned value equals `expected` (for `"f64"`
   * equality is `Object.is`: `-0` and `0` differ, `NaN` matches `NaN`).
   *
   * @example Track a maximum from many threads
   * ```ts
   * import { SharedValue } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const max = SharedValue.of("i32", 0);
   * function offer(n: number): void {
   *   let seen = max.load();
   *   while (n > seen) {
   *     const found = max.compareExchange(seen, n);
   *     if (found === seen) return;
   *     seen = found;
   *   }
   * }
   * offer(3);
   * offer(1);
   * assert.equal(max.load(), 3);
   * ```
   *
   * @param expected The value to replace.
   * @param replacement The new value.
   * @returns The value before: `expected` if the swap happened.
   * @throws {TypeError} When a value has the wrong type for the kind.
   * @throws {RangeError} When an integer does not fit the kind.
   */
  compareExchange(
    expected: SharedValueType<K>,
    replacement: SharedValueType<K>,
  ): SharedValueType<K> {
    return this.#value.compareExchange(0, expected, replacement, "compare-exchange shared value");
  }
}
