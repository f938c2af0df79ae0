/**
 * The element kinds shared by `SharedValue` and
 * `SharedArray`, and the descriptors that carry them to actors.
 *
 * @module
 */

/**
 * The element kinds of `SharedValue` and `SharedArray`:
 * 32-bit signed and unsigned integers, 64-bit floats and 64-bit signed
 * integers (as `bigint`).
 */
export type SharedKind = "i32" | "u32" | "f64" | "bigint64";

/** The JavaScript type of a kind's values: `bigint` for `"bigint64"`, `number` otherwise. */
export type SharedValueType<K extends SharedKind> = K extends "bigint64" ? bigint : number;

/**
 * What `SharedValue.share()` returns: plain data that survives
 * structured clone (spawn `args`, messages over the queue transport), so the
 * receiving actor can rebuild the value with `SharedValue.from()`.
 * The buffer stays shared: both sides see the same memory.
 */
export interface SharedValueDescriptor<K extends SharedKind = SharedKind> {
  /** The element kind. */
  readonly kind: K;
  /** The shared memory holding the value (8 bytes for `"f64"` and `"bigint64"`, else 4). */
  readonly buffer: SharedArrayBuffer;
}

/**
 * What `SharedArray.share()` returns: plain data that survives
 * structured clone, to rebuild the array with `SharedArray.from()`.
 * The length is the buffer's size divided by the element size.
 */
export interface SharedArrayDescriptor<K extends SharedKind = SharedKind> {
  /** The element kind. */
  readonly kind: K;
  /** The shared memory holding the elements. */
  readonly buffer: SharedArrayBuffer;
}
