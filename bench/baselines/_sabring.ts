/**
 * The layout of the raw SharedArrayBuffer ring of `sabring.ts`, shared by its producer (the
 * main thread) and its consumer (`_sabring_worker.ts`). No Troupe code.
 *
 * The buffer starts with a header of Int32 slots, then `RING_BYTES` of data. `WRITE` and `READ`
 * are byte counters that only grow (wrapping at 2^32; their difference is what is in the ring);
 * a counter's position in the data is `counter & (RING_BYTES - 1)`. A frame is a 4-byte length
 * followed by that many bytes of UTF-8 JSON (one array of messages), padded to 4 bytes. A
 * length of `WRAP` means "the rest of the data is unused, continue at position 0"; a length of
 * `END` ends the stream.
 *
 * @module
 */

/** Header slot: bytes written so far (the producer's counter). */
export const WRITE = 0;
/** Header slot: bytes consumed so far (the consumer's counter). */
export const READ = 1;
/** Header slot: 1 while the consumer sleeps in `Atomics.wait` on `WRITE`. */
export const CONSUMER_SLEEPS = 2;
/** Header slot: 1 while the producer sleeps in `Atomics.wait` on `READ`. */
export const PRODUCER_SLEEPS = 3;
/** Header slot: messages the consumer has counted (read by the producer at the end). */
export const COUNTED = 4;
/** Header size in bytes. */
export const HEADER_BYTES = 64;
/** Data bytes; a power of two. */
export const RING_BYTES = 1 << 20;
/** Frame length meaning "continue at position 0". */
export const WRAP = -1;
/** Frame length meaning "no more frames". */
export const END = -2;
/** Empty polls before a side goes to sleep. */
export const SPINS = 2_000;
