/**
 * Lent byte arrays: views of a transport's shared memory that the transport
 * reuses once the receiver moves on (see `Transport.lendBytes`). What must
 * outlive the loan (a message still waiting in the mailbox, a reply, a call
 * to the parent) is copied here first.
 *
 * @module
 */

/**
 * Set once an actor on this thread lends (`lendBytes`): pipe ends then copy
 * lent arrays in what they send, which they may encode after the loan.
 */
export const lendingHere = { active: false };

/** The shared memory transports lend views of (a lending ring's data area). */
const lentMemory = new WeakSet<ArrayBufferLike>();

/**
 * Marks `memory` as lent from: views of it in received messages are copied
 * wherever they would outlive the loan. A byte array over any other shared
 * memory (the user's own `SharedArrayBuffer`) is left as it is.
 *
 * @param memory The shared memory a transport hands out views of.
 */
export function lendFrom(memory: SharedArrayBuffer): void {
  lentMemory.add(memory);
}

/** Whether `value` is a byte array over memory a transport lends from. */
export function isLent(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && lentMemory.has(value.buffer);
}

/**
 * `value` with every lent byte array under it (in plain objects and arrays,
 * the only places a lent one can be) replaced by a private copy. Returns
 * `value` itself when nothing was lent; otherwise the objects and arrays on
 * the way to a lent array are copied too, so the caller's own objects are
 * never changed (they may be frozen, or still in use).
 *
 * @param value A received message or a payload about to be sent.
 * @param depth How deep the walk is; payloads are at most 64 levels deep.
 */
export function privatize(value: unknown, depth = 0): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (ArrayBuffer.isView(value)) return isLent(value) ? value.slice() : value;
  if (depth > 100) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (typeof item !== "object" || item === null) continue;
      const kept = privatize(item, depth + 1);
      if (kept !== item) (copy ??= value.slice())[i] = kept;
    }
    return copy ?? value;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  let copy: Record<string, unknown> | undefined;
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const item = record[key];
    if (typeof item !== "object" || item === null) continue;
    const kept = privatize(item, depth + 1);
    if (kept === item) continue;
    copy ??= shallowCopy(record, proto);
    define(copy, key, kept);
  }
  return copy ?? value;
}

/** A plain copy of `record`'s own enumerable keys (none of its getters run twice). */
function shallowCopy(
  record: Record<string, unknown>,
  proto: object | null,
): Record<string, unknown> {
  const copy = Object.create(proto) as Record<string, unknown>;
  for (const key of Object.keys(record)) define(copy, key, record[key]);
  return copy;
}

/** Sets an own data property, `"__proto__"` included. */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}
