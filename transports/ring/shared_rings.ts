/**
 * Ring pairs for channels other than the `ring` transport's own link: the
 * `pipe` folder runs a `Pipe()` whose two ends went to threads of this
 * process over two rings, one per direction. This module allocates such a
 * pair, opens a {@linkcode RingTransport} end over it in any thread, and
 * closes an end on behalf of a thread that is gone. The rings are the
 * `ring` transport's (`_ring.ts`), waited on by its policy (`_wait_policy.ts`).
 *
 * Lifetime: a pair from {@linkcode allocateRingPair} is never pooled. Its
 * ends may live in two threads neither of which is this one's link to the
 * other, so no one thread knows when both are surely gone; the garbage
 * collector frees the memory once every thread that held it let go.
 *
 * @module
 */

import { allocateRing, isPowerOfTwo, MIN_RING_BYTES, RingReader, RingWriter } from "./_ring.ts";
import { RingTransport } from "./_ring_transport.ts";
import type { Codec } from "../codec.ts";
import type { Transport } from "../transport.ts";

export { MIN_RING_BYTES };

/** Two rings seen from one end: the one it reads and the one it writes. */
export interface RingPair {
  /** The ring this end reads. */
  inbound: SharedArrayBuffer;
  /** The ring this end writes. */
  outbound: SharedArrayBuffer;
}

/** One end of a ring pair: its transport, and a look at whether the peer still reads. */
export interface RingEnd {
  /** The transport over the pair. */
  transport: Transport;
  /** Whether the end reading `outbound` (the peer, or someone on its behalf) closed it. */
  peerClosed(): boolean;
}

/**
 * Allocates a ring pair, as the end that reads `inbound` sees it.
 *
 * @param inboundBytes Bytes of the data area of the ring the end reads, a power of two.
 * @param outboundBytes Bytes of the ring it writes.
 * @returns The pair; {@linkcode reverseRingPair} gives the peer's view.
 * @throws {RangeError} When a size is not a power of two of at least 1 KiB.
 */
export function allocateRingPair(inboundBytes: number, outboundBytes: number): RingPair {
  for (const bytes of [inboundBytes, outboundBytes]) {
    if (!isPowerOfTwo(bytes) || bytes < MIN_RING_BYTES) {
      throw new RangeError(
        `Cannot allocate ring pair: a ring must be a power of two of at least ${MIN_RING_BYTES} bytes, received ${bytes}`,
      );
    }
  }
  return { inbound: allocateRing(inboundBytes), outbound: allocateRing(outboundBytes) };
}

/**
 * The same pair as the other end sees it.
 *
 * @param pair A pair.
 * @returns The pair with its two rings swapped.
 */
export function reverseRingPair(pair: RingPair): RingPair {
  return { inbound: pair.outbound, outbound: pair.inbound };
}

/**
 * Opens an end of a ring pair in this thread: it reads `inbound` and writes
 * `outbound`, with the `ring` transport's guarantees and waiting (spin up to
 * `spinMs` while a reply is likely, then sleep in `Atomics.waitAsync`).
 *
 * @param pair The rings, as this end sees them.
 * @param codec How batches become bytes; both ends must use the same.
 * @param maxFrameBytes The largest encoded batch, in bytes.
 * @param spin How the end waits for data it expects: `spinMs`, the longest
 * wait holding the thread, in milliseconds (see `RingTransportOptions.spinMs`;
 * 0 sleeps at once), and `backoffReplies`, whether the spin right after a send
 * backs off when it finds nothing, as later spins do.
 * @returns The end.
 */
export function openRingEnd(
  pair: RingPair,
  codec: Codec,
  maxFrameBytes: number,
  spin: { spinMs: number; backoffReplies: boolean },
): RingEnd {
  const transport = new RingTransport(
    pair.inbound,
    pair.outbound,
    codec,
    maxFrameBytes,
    spin.spinMs,
    spin.backoffReplies,
  );
  const out = new RingWriter(pair.outbound);
  return { transport, peerClosed: () => out.readerClosed() };
}

/**
 * Closes an end of a ring pair on behalf of its holder, whose thread ended
 * or will run none of its code again: the peer's sends fail at once (and one
 * waiting for room ends), and the peer receives what the holder wrote, then
 * its stream ends (a record the holder left half-written is dropped). Does
 * nothing more when the holder closed the end itself already.
 *
 * @param pair The rings, as the holder saw them.
 */
export function closeRingEndFor(pair: RingPair): void {
  new RingReader(pair.inbound, 0).closeReader();
  new RingWriter(pair.outbound).closeWriter(true);
}
