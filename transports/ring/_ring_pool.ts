// Ring buffers kept for reuse. A `SharedArrayBuffer` is freed only when the
// garbage collector of every thread that held it has run, and V8 does not
// count shared memory as pressure: a program that starts and stops ring
// actors grew by the pages each ring touched (about 100 KiB an actor, 75 MiB
// over 600) long after the actors were gone. A ring goes back to the pool
// only when nothing can touch it any more: this end is closed and the
// peer's thread has surely ended (never for a thread that leaked).

import type { Transport } from "../transport.ts";
import { allocateRing, CONTROL_BYTES, resetRing } from "./_ring.ts";

/** The most bytes of rings the pool keeps; more are left to the collector. */
const MAX_POOLED_BYTES = 64 * 1024 * 1024;

/** Free rings by data-area size. */
const free = new Map<number, SharedArrayBuffer[]>();
let pooledBytes = 0;

/**
 * A ring of `capacity` data bytes, from the pool when one is free, else new;
 * in the state {@linkcode allocateRing} gives either way.
 *
 * @param capacity Bytes of the data area, a power of two.
 * @returns The buffer.
 */
export function takeRing(capacity: number): SharedArrayBuffer {
  const buffer = free.get(capacity)?.pop();
  if (buffer === undefined) return allocateRing(capacity);
  pooledBytes -= buffer.byteLength;
  return buffer;
}

/**
 * Gives rings back for reuse. Call it only when no thread can read or write
 * them any more. Their control words are reset (both positions at the start,
 * no flags, nobody asleep); the data area needs no clearing, since a reader
 * reads only what a writer published after the reset.
 *
 * @param buffers Buffers from {@linkcode takeRing}.
 */
export function recycleRings(...buffers: SharedArrayBuffer[]): void {
  for (const buffer of buffers) {
    if (pooledBytes + buffer.byteLength > MAX_POOLED_BYTES) return;
    resetRing(buffer);
    const capacity = buffer.byteLength - CONTROL_BYTES;
    let list = free.get(capacity);
    if (list === undefined) free.set(capacity, list = []);
    list.push(buffer);
    pooledBytes += buffer.byteLength;
  }
}

/** Rings the pool holds now, for tests. */
export function pooledRings(): number {
  let n = 0;
  for (const list of free.values()) n += list.length;
  return n;
}

/**
 * The `peerGone` of a ring link: closes this end (a no-op when the runtime
 * already did), then gives both rings back, once.
 *
 * @param local The parent's end of the link.
 * @param buffers The link's rings.
 * @returns What to call once the peer's thread has surely ended.
 */
export function recycleWhenGone(local: Transport, ...buffers: SharedArrayBuffer[]): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    void local.close().then(() => recycleRings(...buffers), () => {});
  };
}
