/**
 * Length-prefixed frames for the byte transports (`pipe`, `socket`).
 *
 * Wire format: each frame is a 4-byte unsigned length in little-endian byte
 * order, followed by that many bytes of body (one codec-encoded batch). The
 * length counts the body only, not the prefix. A zero-length body is a valid
 * frame at this level; the codec decides whether it decodes.
 *
 * - {@linkcode FrameReader} turns byte chunks split anywhere (even inside a
 *   length prefix) into whole bodies, and raises `ProtocolError` for a length
 *   over the limit before allocating its body, and for a stream that ends
 *   inside a frame. Every whole frame before a bad length prefix is still
 *   returned, even one in the same chunk.
 * - {@linkcode FrameWriter} checks each outgoing body against the limit
 *   (`FrameTooLargeError` before anything is written) and coalesces every
 *   frame queued in one tick into a single write, flushed on a microtask
 *   (or at once when a tick queues 1 MiB or more).
 *
 * @module
 */

import { FrameTooLargeError, ProtocolError } from "../../internal/channel_errors.ts";
import { latin1Bytes } from "../../internal/stream_parts.ts";

/** Bytes in a frame's length prefix. */
export const FRAME_PREFIX_BYTES = 4;

/** The default largest frame body, 64 MiB. */
export const DEFAULT_MAX_FRAME_BYTES: number = 64 * 1024 * 1024;

/** The largest body a 4-byte length prefix can describe. */
export const LARGEST_FRAME_LIMIT = 0xffff_ffff;

/**
 * Checks a `maxFrameBytes` option and returns it, or the default when absent.
 *
 * @param value The option as given.
 * @param context What is being set up, for the message, such as `"Cannot create pipe transport"`.
 * @returns The limit in bytes.
 * @throws {RangeError} When the value is not an integer from 1 to 2^32 - 1.
 */
export function checkMaxFrameBytes(value: number | undefined, context: string): number {
  if (value === undefined) return DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isInteger(value) || value < 1 || value > LARGEST_FRAME_LIMIT) {
    throw new RangeError(
      `${context}: maxFrameBytes must be an integer from 1 to ${LARGEST_FRAME_LIMIT}, received ${value}`,
    );
  }
  return value;
}

/**
 * Writes one frame (prefix and body) into `target` at `offset`.
 *
 * @returns The offset just past the frame.
 */
function putFrame(target: Uint8Array, offset: number, body: Uint8Array): number {
  const at = putLength(target, offset, body.length);
  target.set(body, at);
  return at + body.length;
}

/**
 * Writes a frame's length prefix into `target` at `offset`.
 *
 * @returns The offset of the body.
 */
function putLength(target: Uint8Array, offset: number, length: number): number {
  target[offset] = length & 0xff;
  target[offset + 1] = (length >>> 8) & 0xff;
  target[offset + 2] = (length >>> 16) & 0xff;
  target[offset + 3] = (length >>> 24) & 0xff;
  return offset + FRAME_PREFIX_BYTES;
}

/**
 * Frames the given bodies back to back in one buffer. Does not check sizes.
 *
 * @param bodies The frame bodies, in order.
 * @returns Prefix and body of each frame, concatenated.
 */
export function encodeFrames(bodies: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const body of bodies) total += FRAME_PREFIX_BYTES + body.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const body of bodies) offset = putFrame(out, offset, body);
  return out;
}

/**
 * Reads frames out of a byte stream delivered in arbitrary chunks.
 *
 * Bodies that lie whole inside one pushed chunk are returned as views of that
 * chunk (no copy): decode them before the chunk's memory is reused. A body
 * split across chunks is copied into a buffer allocated once its length is
 * known and checked. After a `ProtocolError` the reader stays failed.
 *
 * A length prefix over the limit fails the reader, but not the frames before
 * it: `push()` returns the bodies its chunk completed before the bad prefix
 * and sets {@linkcode FrameReader.failure}; the next `push()` or `end()`
 * throws it. A `push()` that completed no body throws at once.
 */
export class FrameReader {
  readonly #limit: number;
  readonly #prefix = new Uint8Array(FRAME_PREFIX_BYTES);
  #prefixFilled = 0;
  #body: Uint8Array | undefined;
  #bodyFilled = 0;
  #error: ProtocolError | undefined;

  /**
   * Creates a reader with no bytes buffered.
   *
   * @param maxFrameBytes The largest body accepted; a larger length prefix is a protocol error.
   */
  constructor(maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {
    this.#limit = checkMaxFrameBytes(maxFrameBytes, "Cannot create frame reader");
  }

  /**
   * The `ProtocolError` that failed the reader, once a length prefix was over
   * the limit or the stream ended inside a frame; `undefined` until then. Check
   * it after delivering what `push()` returned: those bodies came before the
   * bad prefix.
   */
  get failure(): ProtocolError | undefined {
    return this.#error;
  }

  /** Bytes of an incomplete frame held so far (prefix and body). */
  get buffered(): number {
    return this.#body ? FRAME_PREFIX_BYTES + this.#bodyFilled : this.#prefixFilled;
  }

  /**
   * Consumes a chunk and returns the bodies it completes, in order.
   *
   * @param chunk The next bytes of the stream.
   * @returns The frame bodies completed by this chunk (possibly none), up to a bad length prefix.
   * @throws {ProtocolError} When the reader failed before, or a length prefix
   *   in this chunk exceeds the limit before any body completed.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.#error) throw this.#error;
    const frames: Uint8Array[] = [];
    const end = chunk.length;
    let offset = 0;
    while (offset < end) {
      const body = this.#body;
      if (body !== undefined) {
        const take = Math.min(body.length - this.#bodyFilled, end - offset);
        body.set(chunk.subarray(offset, offset + take), this.#bodyFilled);
        this.#bodyFilled += take;
        offset += take;
        if (this.#bodyFilled === body.length) {
          frames.push(body);
          this.#body = undefined;
          this.#bodyFilled = 0;
        }
        continue;
      }
      let length: number;
      if (this.#prefixFilled === 0 && end - offset >= FRAME_PREFIX_BYTES) {
        length = readLength(chunk, offset);
        offset += FRAME_PREFIX_BYTES;
      } else {
        const take = Math.min(FRAME_PREFIX_BYTES - this.#prefixFilled, end - offset);
        this.#prefix.set(chunk.subarray(offset, offset + take), this.#prefixFilled);
        this.#prefixFilled += take;
        offset += take;
        if (this.#prefixFilled < FRAME_PREFIX_BYTES) break;
        this.#prefixFilled = 0;
        length = readLength(this.#prefix, 0);
      }
      if (length > this.#limit) {
        this.#error = new ProtocolError(
          `Cannot read frame: its length prefix announces ${length} bytes, the limit is ${this.#limit} bytes`,
        );
        // The frames before the bad prefix are good: hand them over first.
        if (frames.length === 0) throw this.#error;
        return frames;
      }
      if (end - offset >= length) {
        frames.push(chunk.subarray(offset, offset + length));
        offset += length;
      } else {
        const partial = new Uint8Array(length);
        partial.set(chunk.subarray(offset, end));
        this.#body = partial;
        this.#bodyFilled = end - offset;
        offset = end;
      }
    }
    return frames;
  }

  /**
   * {@linkcode push} of a chunk that came as text, one character per byte
   * (latin1): the same frames, but a body that lies whole inside the text
   * is returned as text (a substring), not bytes. Anything else (a frame
   * split across chunks) takes the byte path.
   *
   * @param text The next bytes of the stream, one character each.
   * @returns The frame bodies completed by this chunk, up to a bad length prefix.
   * @throws {ProtocolError} As {@linkcode push} does.
   */
  pushText(text: string): (Uint8Array | string)[] {
    if (this.#error) throw this.#error;
    if (this.#body !== undefined || this.#prefixFilled > 0) return this.push(latin1Bytes(text));
    const frames: (Uint8Array | string)[] = [];
    const end = text.length;
    let offset = 0;
    while (end - offset >= FRAME_PREFIX_BYTES) {
      const length = (text.charCodeAt(offset) & 0xff | (text.charCodeAt(offset + 1) & 0xff) << 8 |
        (text.charCodeAt(offset + 2) & 0xff) << 16 | (text.charCodeAt(offset + 3) & 0xff) << 24) >>>
        0;
      if (length > this.#limit || end - offset - FRAME_PREFIX_BYTES < length) break;
      offset += FRAME_PREFIX_BYTES;
      frames.push(text.substring(offset, offset + length));
      offset += length;
    }
    if (offset === end) return frames;
    // The rest starts a frame this chunk does not hold whole, or a bad prefix.
    let rest: Uint8Array[];
    try {
      rest = this.push(latin1Bytes(text.substring(offset)));
    } catch (error) {
      if (frames.length === 0) throw error;
      return frames;
    }
    for (let i = 0; i < rest.length; i++) frames.push(rest[i]!);
    return frames;
  }

  /**
   * Declares the end of the stream.
   *
   * @throws {ProtocolError} When the stream ended inside a frame (a truncated frame).
   */
  end(): void {
    if (this.#error) throw this.#error;
    if (this.#body !== undefined) {
      this.#error = new ProtocolError(
        `Cannot read frame: the stream ended after ${this.#bodyFilled} of its ${this.#body.length} body bytes`,
        { truncated: true },
      );
    } else if (this.#prefixFilled > 0) {
      this.#error = new ProtocolError(
        `Cannot read frame: the stream ended after ${this.#prefixFilled} of its ${FRAME_PREFIX_BYTES} length bytes`,
        { truncated: true },
      );
    }
    if (this.#error) throw this.#error;
  }
}

function readLength(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) |
    (bytes[offset + 3]! << 24)) >>> 0;
}

/**
 * The least rate a frame must keep up once the first `timeoutMs` of its
 * {@linkcode FrameDeadline} are over: 64 KiB/s. Each 64 KiB of a frame that
 * arrived buys it one more second, so a large frame that keeps coming is
 * never cut off, while one that stalls is, at most `timeoutMs` plus
 * `maxFrameBytes / 64 KiB` seconds after its first byte.
 */
export const FRAME_MIN_BYTES_PER_SECOND = 64 * 1024;

/** A timer this much late means this end's event loop was stalled, not that the peer was slow. */
const STALL_MS = 25;

/**
 * The per-frame read deadline of a byte-stream transport: a frame must
 * arrive whole within `timeoutMs` of its first byte, plus one second for
 * every 64 KiB of it that arrived ({@linkcode FRAME_MIN_BYTES_PER_SECOND});
 * otherwise `onExpired` is called once with a `ProtocolError`. A stream that
 * sits between frames (idle) has no deadline.
 *
 * Only the peer's time counts: the clock stops while the reader is
 * {@linkcode FrameDeadline.pause}d (its consumer is busy and it does not
 * read), and a timer that fires late because this end's event loop was
 * stalled gives the bytes that waited meanwhile one more look before the
 * frame is failed.
 */
export class FrameDeadline {
  readonly #timeoutMs: number;
  readonly #onExpired: (error: ProtocolError) => void;
  readonly #now: () => number;
  /** When the unfinished frame's first byte arrived (moved on by pauses and stalls). */
  #start: number | undefined;
  #received = 0;
  #pausedAt: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #due = 0;
  /** A stall was forgiven and no bytes arrived since. */
  #forgiven = false;
  #stopped = false;

  /**
   * @param timeoutMs Milliseconds a frame may take from its first byte, before the rate allowance.
   * @param onExpired Called once, when a frame is late.
   * @param now The clock, in milliseconds.
   */
  constructor(
    timeoutMs: number,
    onExpired: (error: ProtocolError) => void,
    now: () => number = () => performance.now(),
  ) {
    this.#timeoutMs = timeoutMs;
    this.#onExpired = onExpired;
    this.#now = now;
  }

  /**
   * Records a chunk the frame reader took.
   *
   * @param buffered Bytes of an unfinished frame the reader now holds ({@linkcode FrameReader.buffered}).
   * @param completed `true` when the chunk completed a frame: the unfinished one started in it.
   */
  update(buffered: number, completed: boolean): void {
    if (this.#stopped) return;
    this.#forgiven = false;
    if (buffered === 0) {
      // Between frames: no deadline.
      this.#start = undefined;
      this.#disarm();
      return;
    }
    if (completed || this.#start === undefined) this.#start = this.#now();
    this.#received = buffered;
    if (this.#timer === undefined) this.#arm(this.#now());
  }

  /** Stops the clock: the reader is not reading (its consumer holds a batch). */
  pause(): void {
    if (this.#start !== undefined && this.#pausedAt === undefined) this.#pausedAt = this.#now();
  }

  /** Starts the clock again after {@linkcode FrameDeadline.pause}. */
  resume(): void {
    if (this.#pausedAt === undefined) return;
    if (this.#start !== undefined) this.#start += this.#now() - this.#pausedAt;
    this.#pausedAt = undefined;
  }

  /**
   * Milliseconds left for the unfinished frame at `now`; `Infinity` between frames.
   *
   * @param now The time, on the deadline's clock.
   * @returns The time left; zero or less when the frame is late.
   */
  remaining(now: number = this.#now()): number {
    if (this.#start === undefined) return Infinity;
    const start = this.#pausedAt === undefined ? this.#start : this.#start + now - this.#pausedAt;
    return start + this.#timeoutMs + this.#received * 1000 / FRAME_MIN_BYTES_PER_SECOND - now;
  }

  /** Disarms the deadline for good. Safe to call twice. */
  stop(): void {
    this.#stopped = true;
    this.#start = undefined;
    this.#disarm();
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(now: number): void {
    const left = Math.max(1, Math.ceil(this.remaining(now)));
    this.#due = now + left;
    this.#timer = setTimeout(this.#fire, left);
    // The pending read keeps the process alive, not the deadline on it.
    Deno.unrefTimer(this.#timer);
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    if (this.#stopped || this.#start === undefined) return;
    const now = this.#now();
    const lag = now - this.#due;
    if (lag > STALL_MS && !this.#forgiven) {
      // This end stalled: bytes may be waiting unread. Credit the stall once;
      // if nothing arrives by the next look, the frame is late.
      this.#forgiven = true;
      this.#start += lag;
    }
    if (this.remaining(now) > 0) {
      this.#arm(now);
      return;
    }
    const received = this.#received;
    this.stop();
    this.#onExpired(
      new ProtocolError(
        `Cannot receive: a frame did not arrive within its read deadline (${this.#timeoutMs} ms from its first byte, plus 1 s per 64 KiB received; ${received} bytes of it arrived)`,
      ),
    );
  };
}

/**
 * Once this many bytes are queued in one tick they are written at once, so a
 * sender that queues a lot synchronously is bounded in memory and sees the
 * stream's backpressure.
 */
export const COALESCE_LIMIT_BYTES: number = 1024 * 1024;

/** The smallest coalescing buffer a {@linkcode FrameWriter} allocates. */
const MIN_WRITE_BUFFER_BYTES = 256;
/** The largest coalescing buffer a {@linkcode FrameWriter} keeps between ticks. */
const KEPT_WRITE_BUFFER_BYTES = 256 * 1024;

/** Where a {@linkcode FrameWriter} writes a chunk of text frames. */
export interface FrameWriterText {
  /** Receives a chunk of frames as text, one character per byte. */
  write(text: string): void;
  /** The most characters such a chunk may hold; past it, frames go as bytes. */
  limit: number;
}

/**
 * Queues frame bodies and writes all those queued in one tick as one chunk.
 *
 * `add()` checks the size synchronously, so an oversized body throws at the
 * caller before anything is queued, and copies the frame into the chunk being
 * built at once: the caller may reuse or change its bytes as soon as `add()`
 * returns. The queued frames are flushed by a microtask (or by `flush()`), in
 * order, with one call to `write`: one write per tick, except that a tick
 * which queues `coalesceLimit` bytes or more writes them as soon as they are
 * queued. Each chunk handed to `write` is the writer's no longer: it is never
 * written to again.
 *
 * Given a text sink ({@linkcode FrameWriterText}), frames added as text
 * ({@linkcode FrameWriter.addText}) stay text while the chunk holds text
 * only and stays within the sink's limit: the chunk is then written as
 * text, one character per byte. Past the limit, or once bytes join them in
 * the same tick, they become bytes in the chunk, in order.
 */
export class FrameWriter {
  readonly #limit: number;
  readonly #coalesceLimit: number;
  readonly #write: (bytes: Uint8Array) => void;
  readonly #writeText: ((text: string) => void) | undefined;
  readonly #textLimit: number;
  /** The chunk being built, while it is text only (prefixes as characters); else empty. */
  #text = "";
  /** The chunk being built; empty after it was handed to `write`. */
  #buffer = new Uint8Array(0);
  /** The size of the last chunk's buffer, for the next one. */
  #nextBytes = MIN_WRITE_BUFFER_BYTES;
  #pendingBytes = 0;
  #pendingFrames = 0;
  #scheduled = false;

  /**
   * Creates a writer with nothing queued.
   *
   * @param write Receives each coalesced chunk; called once per flush.
   * @param maxFrameBytes The largest body accepted.
   * @param coalesceLimit Queued bytes that trigger an immediate write.
   * @param text Where a chunk of text frames goes, and its largest size.
   */
  constructor(
    write: (bytes: Uint8Array) => void,
    maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES,
    coalesceLimit: number = COALESCE_LIMIT_BYTES,
    text?: FrameWriterText,
  ) {
    this.#write = write;
    this.#writeText = text?.write;
    this.#textLimit = text?.limit ?? 0;
    this.#limit = checkMaxFrameBytes(maxFrameBytes, "Cannot create frame writer");
    this.#coalesceLimit = coalesceLimit;
  }

  /** Frames queued and not yet written. */
  get pendingFrames(): number {
    return this.#pendingFrames;
  }

  /** Bytes (prefixes included) queued and not yet written. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /**
   * Queues one frame body for the next flush, copying it.
   *
   * @param body The encoded batch: one array, or parts that make it up back to back.
   * @returns The bytes the frame takes on the wire (prefix and body).
   * @throws {FrameTooLargeError} When the body exceeds the limit; nothing is queued.
   */
  add(body: Uint8Array | readonly Uint8Array[]): number {
    let length: number;
    if (body instanceof Uint8Array) length = body.length;
    else {
      length = 0;
      for (let i = 0; i < body.length; i++) length += body[i]!.length;
    }
    if (length > this.#limit) throw new FrameTooLargeError(length, this.#limit);
    const size = FRAME_PREFIX_BYTES + length;
    if (this.#text !== "") this.#textToBytes();
    const buffer = this.#reserve(size);
    let offset = putLength(buffer, this.#pendingBytes, length);
    if (body instanceof Uint8Array) buffer.set(body, offset);
    else {
      for (let i = 0; i < body.length; i++) {
        const part = body[i]!;
        buffer.set(part, offset);
        offset += part.length;
      }
    }
    this.#queued(size);
    return size;
  }

  /**
   * {@linkcode add} of a body given as text, one character per byte (latin1:
   * every code under 256), such as ASCII JSON text.
   *
   * @param body The encoded batch, one character per byte.
   * @returns The bytes the frame takes on the wire (prefix and body).
   * @throws {FrameTooLargeError} When the body exceeds the limit; nothing is queued.
   */
  addText(body: string): number {
    const length = body.length;
    if (length > this.#limit) throw new FrameTooLargeError(length, this.#limit);
    const size = FRAME_PREFIX_BYTES + length;
    if (
      this.#pendingBytes + size <= this.#textLimit &&
      (this.#pendingFrames === 0 || this.#text !== "")
    ) {
      this.#text += String.fromCharCode(
        length & 0xff,
        (length >>> 8) & 0xff,
        (length >>> 16) & 0xff,
        length >>> 24,
      ) + body;
    } else {
      if (this.#text !== "") this.#textToBytes();
      const buffer = this.#reserve(size);
      const offset = putLength(buffer, this.#pendingBytes, length);
      for (let i = 0; i < length; i++) buffer[offset + i] = body.charCodeAt(i);
    }
    this.#queued(size);
    return size;
  }

  /** Counts a frame of `size` bytes just queued, and has it written. */
  #queued(size: number): void {
    this.#pendingBytes += size;
    this.#pendingFrames++;
    if (this.#pendingBytes >= this.#coalesceLimit) {
      this.flush();
    } else if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Moves the text frames queued into the chunk's bytes, before a frame that is not text. */
  #textToBytes(): void {
    const text = this.#text;
    this.#text = "";
    this.#pendingBytes = 0;
    const buffer = this.#reserve(text.length);
    for (let i = 0; i < text.length; i++) buffer[i] = text.charCodeAt(i);
    this.#pendingBytes = text.length;
  }

  /** The chunk being built, with room for `size` more bytes. */
  #reserve(size: number): Uint8Array {
    const used = this.#pendingBytes;
    const buffer = this.#buffer;
    if (used + size <= buffer.length) return buffer;
    const grown = new Uint8Array(Math.max(used + size, buffer.length * 2, this.#nextBytes));
    if (used > 0) grown.set(buffer.subarray(0, used));
    this.#buffer = grown;
    return grown;
  }

  /** Writes every queued frame now, as one chunk. Does nothing when none are queued. */
  flush(): void {
    this.#scheduled = false;
    if (this.#pendingFrames === 0) return;
    if (this.#text !== "") {
      const text = this.#text;
      this.#text = "";
      this.#pendingBytes = 0;
      this.#pendingFrames = 0;
      this.#writeText!(text);
      return;
    }
    const buffer = this.#buffer;
    const used = this.#pendingBytes;
    this.#pendingBytes = 0;
    this.#pendingFrames = 0;
    let chunk: Uint8Array;
    if (used * 2 <= buffer.length) {
      // Mostly empty: write a copy (a stream into a worker clones the whole
      // buffer, slack included) and keep the buffer for the next tick.
      chunk = buffer.slice(0, used);
      if (buffer.length > KEPT_WRITE_BUFFER_BYTES) this.#buffer = new Uint8Array(0);
    } else {
      chunk = buffer.subarray(0, used);
      this.#buffer = new Uint8Array(0);
      this.#nextBytes = Math.min(
        Math.max(buffer.length, MIN_WRITE_BUFFER_BYTES),
        KEPT_WRITE_BUFFER_BYTES,
      );
    }
    this.#write(chunk);
  }

  /** Drops the queued frames without writing them. */
  discard(): void {
    this.#text = "";
    this.#pendingBytes = 0;
    this.#pendingFrames = 0;
  }

  /**
   * Drops the queued frames and the coalescing buffer kept between ticks (up
   * to 256 KiB), for a writer that will write no more. Adding after it still
   * works.
   */
  release(): void {
    this.discard();
    this.#buffer = new Uint8Array(0);
    this.#nextBytes = MIN_WRITE_BUFFER_BYTES;
  }
}
