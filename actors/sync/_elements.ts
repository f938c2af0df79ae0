// The checked, atomic element access that SharedValue (one element) and
// SharedArray share: kinds, value and index checks, and the atomic operations
// per kind, written once.

import { sharedDescriptor } from "./_shared_memory.ts";
import type { SharedKind, SharedValueType } from "./shared_kind.ts";

const KINDS: readonly SharedKind[] = ["i32", "u32", "f64", "bigint64"];
export const MAX_LENGTH = 2 ** 27;

/** The atomic operations on element `i` of one shared buffer, for one kind. */
interface Cells<T> {
  load(i: number): T;
  store(i: number, value: T): void;
  add(i: number, n: T): T;
  exchange(i: number, value: T): T;
  compareExchange(i: number, expected: T, replacement: T): T;
}

export function elementSize(kind: SharedKind): number {
  return kind === "f64" || kind === "bigint64" ? 8 : 4;
}

/** The kind with its article, for messages: "an i32", "a u32". */
export function a(kind: SharedKind): string {
  return kind === "u32" || kind === "bigint64" ? `a ${kind}` : `an ${kind}`;
}

export function checkKind(kind: unknown, what: string): asserts kind is SharedKind {
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
export class Elements<K extends SharedKind> {
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

export function checkDescriptor(descriptor: unknown, what: string): void {
  checkKind(sharedDescriptor(descriptor, what).kind, what);
}
