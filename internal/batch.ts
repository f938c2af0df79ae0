/**
 * What the actor runtime, which walked every message of a batch and knows
 * what it waits for, may state on a batch array it hands to a transport.
 * Transports that do not look keep working; nothing here is public API.
 *
 * @module
 */

/**
 * What a sender that already walked every message of a batch (the actor
 * runtime's outbox) found, set on the batch array under
 * {@linkcode BATCH_KIND} so that the codec need not walk it again:
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
 * The kind of a message its sender did not walk. Never stated on a batch: a
 * batch holding one is left for the codec to walk.
 */
export const UNKNOWN_KIND: BatchKind = 4;
/** The key of a batch array under which its sender states its {@linkcode BatchKind}. */
export const BATCH_KIND: unique symbol = Symbol("troupe.batchKind");

/** The key of the JSON object that stands for a byte array in a binary frame. */
export const BYTES_KEY = "\u0000bytes";

/** A batch array that may state what its sender knows. */
export type StatedBatch = readonly unknown[] & {
  [BATCH_KIND]?: BatchKind;
  [BATCH_QUIET]?: boolean;
};

/**
 * Set to `true` on a batch whose sender awaits nothing in answer to it (no
 * ask is pending, no message waits for room): a transport need not hold its
 * thread waiting for a reply, which would hold up the sender's next batch.
 */
export const BATCH_QUIET: unique symbol = Symbol("troupe.batchQuiet");
