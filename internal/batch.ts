/**
 * Batch kinds: what a sender that walked every message of a batch found in
 * it, passed to a transport's `send()` in its `SendHints`, so that the codec
 * need not walk the batch again. Flags: or-ed over the messages of a batch.
 *
 * @module
 */

/**
 * What a sender that already walked every message of a batch (the actor
 * runtime's outbox) found in it, so that the codec need not walk it again:
 * {@linkcode PLAIN_KIND}, or {@linkcode BYTES_KIND} and/or
 * {@linkcode NOT_PLAIN_KIND}. Each message is judged on its own: an object
 * shared by two messages of one batch may arrive as two copies, as it would
 * with two `postMessage` calls.
 */
export type BatchKind = number;
/** Plain data only: what the JSON fast path of the byte transports carries. */
export const PLAIN_KIND: BatchKind = 0;
/** Plain data with `Uint8Array`s. */
export const BYTES_KIND: BatchKind = 1;
/** Something JSON does not carry as structured clone does. */
export const NOT_PLAIN_KIND: BatchKind = 2;
/**
 * The kind of a message its sender did not walk. Never passed to a
 * transport: a batch holding one is left for the codec to walk.
 */
export const UNKNOWN_KIND: BatchKind = 4;
/** The key of the JSON object that stands for a byte array in a binary frame. */
export const BYTES_KEY = "\u0000bytes";
