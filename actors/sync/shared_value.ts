/**
 * `SharedValue` and `SharedArray`: numbers in shared memory that worker
 * actors update atomically, like Python's `multiprocessing.Value` and
 * `Array`, without a lock.
 *
 * @module
 */

import { sharedDescriptor } from "./_shared_memory.ts";

/**
 * The element kinds of {@linkcode SharedValue} and {@linkcode SharedArray}:
 * 32-bit signed and unsigned integers, 64-bit floats and 64-bit signed
 * integers (as `bigint`).
 */
export type SharedKind = "i32" | "u32" | "f64" | "bigint64";

/** The JavaScript type of a kind's values: `bigint` for `"bigint64"`, `number` otherwise. */
export type SharedValueType<K extends SharedKind> = K extends "bigint64" ? bigint : number;

/**
 * What {@linkcode SharedValue.share} returns: plain data that survives
 * structured clone (spawn `args`, messages over the queue transport), so the
 * receiving actor can rebuild the value with {@linkcode SharedValue.from}.
 * The buffer stays shared: both sides see the same memory.
 */
export interface SharedValueDescriptor<K extends SharedKind = SharedKind> {
  /** The element kind. */
  readonly kind: K;
  /** The shared memory holding the value (8 bytes for `"f64"` and `"bigint64"`, else 4). */
  readonly buffer: SharedArrayBuffer;
}

/**
 * What {@linkcode SharedArray.share} returns: plain data that survives
 * structured clone, to rebuild the array with {@linkcode SharedArray.from}.
 * The length is the buffer's size divided by the element size.
 */
export interface SharedArrayDescriptor<K extends SharedKind = SharedKind> {
  /** The element kind. */
  readonly kind: K;
  /** The shared memory holding the elements. */
  readonly buffer: SharedArrayBuffer;
}

const KINDS: readonly SharedKind[] = ["i32", "u32", "f64", "bigint64"];
const MAX_LENGTH = 2 ** 27;

/** The atomic operations on element `i` of one shared buffer, for one kind. */
interface Cells<T> {
  load(i: number): T;
  store(i: number, value: T): void;
  add(i: number, n: T): T;
  exchange(i: number, value: T): T;
  compareExchange(i: number, expected: T, replacement: T): T;
}

function elementSize(kind: SharedKind): number {
  return kind === "f64" || kind === "bigint64" ? 8 : 4;
}

/** The kind with its article, for messages: "an i32", "a u32". */
function a(kind: SharedKind): string {
  return kind === "u32" || kind === "bigint64" ? `a ${kind}` : `an ${kind}`;
}

function checkKind(kind: unknown, what: string): asserts kind is SharedKind {
  if (!KINDS.includes(kind as SharedKind)) {
    throw new TypeError(
      `Cannot ${what}: kind must be one of ${KINDS.map((k) => `"${k}"`).join(", ")}, received ${
        typeof kind === "string" ? `"${kind}"` : String(kind)
      }`,
    );
  }
}

function atomicCells(view: Int32Array | Uint32Array | BigInt64Array): Cells<number | bigint> {
  // Atomics' overloads do not take a union of array types; all three behave
  // alike, a BigInt64Array with bigints where the others take numbers.
  const v = view as Int32Array;
  return {
    load: (i) => Atomics.load(v, i),
    store: (i, value) => void Atomics.store(v, i, value as number),
    add: (i, n) => Atomics.add(v, i, n as number),
    exchange: (i, value) => Atomics.exchange(v, i, value as number),
    compareExchange: (i, expected, replacement) =>
      Atomics.compareExchange(v, i, expected as number, replacement as number),
  };
}

// Atomics has no float arrays. A float's 8 bytes are read and written as one
// BigInt64 through Atomics (so no thread ever sees a torn value), and
// converted through a private 8-byte scratch buffer. Read-modify-write
// operations are compare-and-swap loops on the bit pattern: read the bits,
// compute the new float, swap only if the bits are still those read, else
// retry with what was there. A failed swap means another thread's swap
// succeeded, so the loop is lock-free and no update is lost.
function floatCells(bits: BigInt64Array): Cells<number> {
  const scratch = new Float64Array(1);
  const scratchBits = new BigInt64Array(scratch.buffer);
  const toFloat = (b: bigint): number => {
    scratchBits[0] = b;
    return scratch[0];
  };
  const toBits = (f: number): bigint => {
    scratch[0] = f;
    return scratchBits[0];
  };
  const update = (i: number, next: (current: number) => number | undefined): number => {
    let seen = Atomics.load(bits, i);
    while (true) {
      const current = toFloat(seen);
      const value = next(current);
      if (value === undefined) return current;
      const found = Atomics.compareExchange(bits, i, seen, toBits(value));
      if (found === seen) return current;
      seen = found;
    }
  };
  return {
    load: (i) => toFloat(Atomics.load(bits, i)),
    store: (i, value) => void Atomics.store(bits, i, toBits(value)),
    add: (i, n) => update(i, (current) => current + n),
    exchange: (i, value) => toFloat(Atomics.exchange(bits, i, toBits(value))),
    // Equality is Object.is: -0 and 0 differ, NaN matches NaN whatever its bits.
    compareExchange: (i, expected, replacement) =>
      update(i, (current) => Object.is(current, expected) ? replacement : undefined),
  };
}

function cellsFor(kind: SharedKind, buffer: SharedArrayBuffer): Cells<number | bigint> {
  switch (kind) {
    case "i32":
      return atomicCells(new Int32Array(buffer));
    case "u32":
      return atomicCells(new Uint32Array(buffer));
    case "bigint64":
      return atomicCells(new BigInt64Array(buffer));
    case "f64":
      return floatCells(new BigInt64Array(buffer)) as Cells<number | bigint>;
  }
}

const RANGES = {
  i32: [-(2 ** 31), 2 ** 31 - 1],
  u32: [0, 2 ** 32 - 1],
} as const;

/** Checks that a value or amount has the kind's type: a bigint for bigint64, else a number. */
function checkType(
  kind: SharedKind,
  value: unknown,
  what: string,
): asserts value is number | bigint {
  const bigint = kind === "bigint64";
  if (bigint ? typeof value !== "bigint" : typeof value !== "number") {
    const type = bigint ? "bigint" : "number";
    throw new TypeError(`Cannot ${what}: ${a(kind)} takes a ${type}, received ${typeof value}`);
  }
}

/** Checks a value to store: an integer in range, a bigint in 64 bits, or any number for f64. */
function checkValue(kind: SharedKind, value: unknown, what: string): void {
  checkType(kind, value, what);
  if (kind === "bigint64") {
    if (BigInt.asIntN(64, value as bigint) !== value) {
      throw new RangeError(
        `Cannot ${what}: a bigint64 takes a bigint from -(2n ** 63n) to 2n ** 63n - 1n, received ${value}`,
      );
    }
    return;
  }
  if (kind === "f64") return;
  const [min, max] = RANGES[kind];
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `Cannot ${what}: ${a(kind)} takes an integer from ${min} to ${max}, received ${value}`,
    );
  }
}

/** Checks an amount to add: integer kinds wrap around, so any safe integer is fine. */
function checkAmount(kind: SharedKind, n: unknown, what: string): void {
  checkType(kind, n, what);
  if ((kind === "i32" || kind === "u32") && !Number.isSafeInteger(n)) {
    throw new RangeError(`Cannot ${what}: ${a(kind)} takes a safe integer, received ${n}`);
  }
}

/**
 * The elements of one shared buffer of one kind, each operation checked
 * (the value, then the index) and atomic: what {@linkcode SharedValue} (one
 * element) and {@linkcode SharedArray} are both made of. `what` names the
 * operation in error messages.
 */
class Elements<K extends SharedKind> {
  readonly length: number;
  #kind: K;
  #cells: Cells<SharedValueType<K>>;

  constructor(kind: K, buffer: SharedArrayBuffer) {
    this.length = buffer.byteLength / elementSize(kind);
    this.#kind = kind;
    this.#cells = cellsFor(kind, buffer) as Cells<SharedValueType<K>>;
  }

  #index(index: number, what: string): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(
        `Cannot ${what}: index must be an integer from 0 to ${this.length - 1}, received ${index}`,
      );
    }
    return index;
  }

  load(index: number, what: string): SharedValueType<K> {
    return this.#cells.load(this.#index(index, what));
  }

  store(index: number, value: SharedValueType<K>, what: string): void {
    checkValue(this.#kind, value, what);
    this.#cells.store(this.#index(index, what), value);
  }

  add(index: number, n: SharedValueType<K>, what: string): SharedValueType<K> {
    checkAmount(this.#kind, n, what);
    return this.#cells.add(this.#index(index, what), n);
  }

  sub(index: number, n: SharedValueType<K>, what: string): SharedValueType<K> {
    checkAmount(this.#kind, n, what);
    return this.#cells.add(this.#index(index, what), -n as SharedValueType<K>);
  }

  exchange(index: number, value: SharedValueType<K>, what: string): SharedValueType<K> {
    checkValue(this.#kind, value, what);
    return this.#cells.exchange(this.#index(index, what), value);
  }

  compareExchange(
    index: number,
    expected: SharedValueType<K>,
    replacement: SharedValueType<K>,
    what: string,
  ): SharedValueType<K> {
    checkValue(this.#kind, expected, what);
    checkValue(this.#kind, replacement, what);
    return this.#cells.compareExchange(this.#index(index, what), expected, replacement);
  }

  toArray(): SharedValueType<K>[] {
    const values: SharedValueType<K>[] = [];
    for (let i = 0; i < this.length; i++) values.push(this.#cells.load(i));
    return values;
  }
}

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

function checkDescriptor(descriptor: unknown, what: string): void {
  checkKind(sharedDescriptor(descriptor, what).kind, what);
}
