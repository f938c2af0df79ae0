/**
 * A lock-free single-producer, single-consumer byte ring over a
 * `SharedArrayBuffer`, carrying length-prefixed records. One ring per
 * direction; the `ring` transport (`ring.ts`) puts the waiting and the codec
 * on top. Nothing here waits; the only allocations are the buffers records
 * are copied out into (see {@linkcode RingReader}).
 *
 * Layout of the buffer (`CONTROL_BYTES` of control words, then `capacity`
 * bytes of data, `capacity` a power of two):
 *
 * | Int32 index | byte offset | word | written by |
 * |---|---|---|---|
 * | 0 | 0 | `HEAD`: bytes ever published | producer |
 * | 16 | 64 | `TAIL`: bytes ever consumed | consumer |
 * | 32 | 128 | `READER_SLEEP`: 1 while the consumer sleeps | both |
 * | 48 | 192 | `WRITER_WAIT`: 1 while the producer waits for room | both |
 * | 56 | 224 | `FLAGS`: 1 = writer closed, 2 = reader closed, 4 = writer gave up a record | either |
 *
 * `HEAD` and `TAIL` sit on their own 64-byte cache lines so the two threads
 * do not fight over one line.
 *
 * Positions are unsigned 32-bit counters that only grow and wrap at 2^32;
 * since the capacity is a power of two that divides 2^32, `pos & (capacity -
 * 1)` is the offset in the data area and `(head - tail) >>> 0` is the number
 * of bytes in use, across the wrap too.
 *
 * A record is a 4-byte little-endian length followed by that many payload
 * bytes. A record's header starts at a position that is 4 modulo 8, after 0
 * to 7 bytes of padding that nobody reads, so its payload starts 8-aligned:
 * `Uint8Array.prototype.set` between shared and non-shared memory copies
 * word by word only when both addresses agree modulo 8, and byte by byte
 * (seven times slower here) otherwise. Positions start at 4 (see
 * {@linkcode allocateRing}), and the padding is a function of the position,
 * so both sides agree on it without a marker. A record (its header included)
 * may wrap around the end of the data area and is then copied in two pieces;
 * the data area's size is a multiple of 8, so the wrap keeps the alignment.
 * The producer publishes a header only together with its padding and all its
 * 4 bytes, so the consumer never sees half a length.
 *
 * A record of at least {@linkcode LEND_MIN_BYTES} that would wrap is written
 * from the data area's start instead, when the space it skips is free now: a
 * header holding {@linkcode SKIP_MARK} says that the rest of the data area is
 * padding. So a large record lies in one piece, and a reader that lends
 * ({@linkcode RingReader.lend}) can hand out a view of it.
 *
 * A record that does not fit the free space is streamed: the producer writes
 * what fits, publishes it, waits for room and goes on; the consumer copies the
 * part it sees into a buffer of the declared length and frees the space at
 * once. This is also how a message larger than the whole ring travels: in
 * ring-sized chunks of one record, reassembled by the consumer. The producer
 * never writes past `TAIL + capacity`.
 *
 * Wake-ups: a sleeping consumer sets `READER_SLEEP` before its last check for
 * data and then waits on that word; the producer stores `HEAD` and then reads
 * `READER_SLEEP`, and notifies only when it is set. All of these are
 * sequentially consistent `Atomics` operations, so either the consumer sees
 * the new `HEAD` or the producer sees the flag (no lost wake-up), and a busy
 * consumer costs the producer no notify at all. `WRITER_WAIT` does the same
 * for a producer waiting for room.
 *
 * @module
 */

import { ProtocolError } from "../../internal/channel_errors.ts";
import { lendFrom } from "../../internal/lent.ts";
import type { ReusePolicy } from "../framing/frame_codec.ts";

/** Bytes of control words before the data area. */
export const CONTROL_BYTES = 256;
/** Bytes of a record's length prefix. */
export const RECORD_HEADER_BYTES = 4;
/** The smallest data area a ring may have. */
export const MIN_RING_BYTES = 1024;
/** The largest data area a ring may have. */
export const MAX_RING_BYTES = 1 << 30;
/** Payloads start at positions that are multiples of this. */
export const RECORD_ALIGN = 8;

const HEAD = 0;
const TAIL = 16;
/** Int32 index of the word a sleeping consumer waits on. */
export const READER_SLEEP = 32;
/** Int32 index of the word a producer waiting for room waits on. */
export const WRITER_WAIT = 48;
const FLAGS = 56;
const WRITER_CLOSED = 1;
const READER_CLOSED = 2;
const RECORD_ABANDONED = 4;

/**
 * A header holding this length skips to the data area's start: what is left
 * of the data area after it is padding. No record is that long (records are
 * at most {@linkcode MAX_RING_BYTES}).
 */
export const SKIP_MARK = 0xffffffff;

/** The padding before a header at `position`, so the payload after it starts 8-aligned. */
function gapAt(position: number): number {
  return (RECORD_HEADER_BYTES - position) & (RECORD_ALIGN - 1);
}

/**
 * Allocates the shared memory of one ring.
 *
 * @param capacity Bytes of the data area, a power of two.
 * @returns The buffer: both positions at 4, so the first record needs no
 * padding, and everything else zero.
 */
export function allocateRing(capacity: number): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(CONTROL_BYTES + capacity);
  const words = new Int32Array(buffer, 0, CONTROL_BYTES / 4);
  words[HEAD] = words[TAIL] = RECORD_HEADER_BYTES;
  return buffer;
}

/**
 * Puts a ring's control words back as {@linkcode allocateRing} leaves them
 * (both positions at 4, no flags, nobody asleep), for reuse once no thread
 * touches it; the data area is read only where a writer publishes, so it
 * keeps its old bytes.
 *
 * @param buffer A buffer from {@linkcode allocateRing}.
 */
export function resetRing(buffer: SharedArrayBuffer): void {
  const words = new Int32Array(buffer, 0, CONTROL_BYTES / 4);
  words.fill(0);
  words[HEAD] = words[TAIL] = RECORD_HEADER_BYTES;
}

/**
 * Checks that a buffer has the shape {@linkcode allocateRing} gives.
 *
 * @param buffer The buffer to check.
 * @returns The capacity of its data area.
 * @throws {TypeError} When it is not a ring buffer.
 */
export function ringCapacity(buffer: unknown): number {
  if (!(buffer instanceof SharedArrayBuffer)) {
    throw new TypeError("Cannot open ring: expected a SharedArrayBuffer");
  }
  const capacity = buffer.byteLength - CONTROL_BYTES;
  if (!isPowerOfTwo(capacity) || capacity < MIN_RING_BYTES || capacity > MAX_RING_BYTES) {
    throw new TypeError(
      `Cannot open ring: the buffer must hold ${CONTROL_BYTES} control bytes and a power-of-two data area, received ${buffer.byteLength} bytes`,
    );
  }
  return capacity;
}

/**
 * Tells whether `n` is a positive integer power of two.
 *
 * @param n The number to test.
 * @returns Whether it is a power of two.
 */
export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0 && n <= 2 ** 30;
}

/** The control words and the data area of one ring, seen from one side. */
class RingSide {
  /** The control words. */
  readonly words: Int32Array;
  protected readonly data: Uint8Array;
  protected readonly capacity: number;
  protected readonly mask: number;

  constructor(buffer: SharedArrayBuffer) {
    this.capacity = ringCapacity(buffer);
    this.mask = this.capacity - 1;
    this.words = new Int32Array(buffer, 0, CONTROL_BYTES / 4);
    this.data = new Uint8Array(buffer, CONTROL_BYTES, this.capacity);
  }

  /** Whether the producer closed the ring. */
  writerClosed(): boolean {
    return (Atomics.load(this.words, FLAGS) & WRITER_CLOSED) !== 0;
  }

  /** Whether the consumer closed the ring. */
  readerClosed(): boolean {
    return (Atomics.load(this.words, FLAGS) & READER_CLOSED) !== 0;
  }

  /**
   * Whether the producer, when it closed, knowingly left a record unfinished
   * (a batch still waiting for room), rather than dying inside one.
   */
  recordAbandoned(): boolean {
    return (Atomics.load(this.words, FLAGS) & RECORD_ABANDONED) !== 0;
  }

  /**
   * Marks the producer's side closed and wakes a sleeping consumer.
   *
   * @param abandoned Whether a record was left unfinished on purpose; the
   * consumer then drops it quietly instead of reporting a truncated record.
   */
  closeWriter(abandoned = false): void {
    Atomics.or(this.words, FLAGS, WRITER_CLOSED | (abandoned ? RECORD_ABANDONED : 0));
    Atomics.store(this.words, READER_SLEEP, 0);
    Atomics.notify(this.words, READER_SLEEP);
  }

  /** Marks the consumer's side closed and wakes a waiting producer. */
  closeReader(): void {
    Atomics.or(this.words, FLAGS, READER_CLOSED);
    Atomics.store(this.words, WRITER_WAIT, 0);
    Atomics.notify(this.words, WRITER_WAIT);
  }
}

/** The producer's side of a ring. */
export class RingWriter extends RingSide {
  #head: number;
  #tail: number;

  /** @param buffer A buffer from {@linkcode allocateRing}. */
  constructor(buffer: SharedArrayBuffer) {
    super(buffer);
    this.#head = Atomics.load(this.words, HEAD) >>> 0;
    this.#tail = Atomics.load(this.words, TAIL) >>> 0;
  }

  /** Bytes free as of the last look at `TAIL`; refreshes it when `need` is not free. */
  #free(need: number): number {
    let free = this.capacity - ((this.#head - this.#tail) >>> 0);
    if (free < need) {
      this.#tail = Atomics.load(this.words, TAIL) >>> 0;
      free = this.capacity - ((this.#head - this.#tail) >>> 0);
    }
    return free;
  }

  /** Whether at least `bytes` are free now. */
  hasRoom(bytes: number): boolean {
    return this.#free(bytes) >= bytes;
  }

  /**
   * Writes a record, or the next part of one, and publishes it.
   *
   * The payload is one array or several written back to back. `done` counts
   * the bytes of the record already written, the 4-byte header included (its
   * padding not), so a record is complete when `done === length + 4`. The
   * header goes out only with its padding and all its 4 bytes: a caller
   * waiting for room to start a record should wait for `RECORD_ALIGN - 1`
   * bytes more.
   *
   * @param payload The record's payload, whole or in parts, or its tail.
   * @param length The payload's total length in bytes.
   * @param done Bytes of the record written before.
   * @param base Payload bytes missing from the front of `payload` (written
   * before, and dropped by the caller).
   * @returns Bytes of the record written now and before.
   */
  write(
    payload: Uint8Array | readonly Uint8Array[],
    length: number,
    done: number,
    base = 0,
  ): number {
    const total = length + RECORD_HEADER_BYTES;
    const gap = done === 0 ? gapAt(this.#head) : 0;
    let free = this.#free(gap + total - done);
    if (done === 0) {
      if (free < gap + RECORD_HEADER_BYTES) return 0;
      this.#head = (this.#head + gap) >>> 0;
      if (length >= LEND_MIN_BYTES) free -= gap + this.#skipToStart(total, free - gap);
      else free -= gap;
      this.#writeHeader(length);
      done = RECORD_HEADER_BYTES;
      free -= RECORD_HEADER_BYTES;
    }
    let count = Math.min(free, total - done);
    if (count === payload.length && payload instanceof Uint8Array) {
      // The common case: the whole payload at once.
      this.#copyIn(payload);
      this.#publish();
      return total;
    }
    // Streaming: publish every quarter ring, so the consumer copies out while
    // this side copies in.
    const step = this.capacity >>> 2;
    do {
      const chunk = Math.min(count, step);
      if (chunk > 0) {
        const from = done - RECORD_HEADER_BYTES - base;
        if (payload instanceof Uint8Array) this.#copyIn(payload.subarray(from, from + chunk));
        else this.#copyParts(payload, from, chunk);
        done += chunk;
        count -= chunk;
      }
      this.#publish();
    } while (count > 0);
    return done;
  }

  /**
   * Writes raw bytes, framing or not, as far as they fit. For tests and
   * diagnostics that need malformed records.
   *
   * @param bytes The bytes.
   * @returns How many were written.
   */
  writeRaw(bytes: Uint8Array): number {
    const count = Math.min(this.#free(bytes.length), bytes.length);
    this.#copyIn(bytes.subarray(0, count));
    this.#publish();
    return count;
  }

  /**
   * When a record of `total` bytes (its header included) starting at the
   * head would wrap around the data area's end, and the space to the end and
   * the record both fit in `free` bytes, writes a {@linkcode SKIP_MARK}
   * header and moves the head to the data area's start, plus the padding a
   * header needs there.
   *
   * @returns The bytes skipped (0 when the record is written where it is).
   */
  #skipToStart(total: number, free: number): number {
    const offset = this.#head & this.mask;
    const toEnd = this.capacity - offset;
    if (total <= toEnd) return 0;
    const skipped = toEnd + gapAt(0);
    if (free < skipped + total) return 0;
    this.#writeHeader(SKIP_MARK);
    this.#head = (this.#head + skipped - RECORD_HEADER_BYTES) >>> 0;
    return skipped;
  }

  #writeHeader(length: number): void {
    const data = this.data, mask = this.mask, head = this.#head;
    data[head & mask] = length;
    data[(head + 1) & mask] = length >>> 8;
    data[(head + 2) & mask] = length >>> 16;
    data[(head + 3) & mask] = length >>> 24;
    this.#head = (head + RECORD_HEADER_BYTES) >>> 0;
  }

  /** Copies `count` bytes of the concatenated parts, starting at `from`. */
  #copyParts(parts: readonly Uint8Array[], from: number, count: number): void {
    for (let i = 0; i < parts.length && count > 0; i++) {
      const part = parts[i]!;
      if (from >= part.length) {
        from -= part.length;
        continue;
      }
      const end = Math.min(part.length, from + count);
      this.#copyIn(from === 0 && end === part.length ? part : part.subarray(from, end));
      count -= end - from;
      from = 0;
    }
  }

  #copyIn(bytes: Uint8Array): void {
    const offset = this.#head & this.mask;
    const first = this.capacity - offset;
    if (bytes.length <= first) {
      this.data.set(bytes, offset);
    } else {
      this.data.set(bytes.subarray(0, first), offset);
      this.data.set(bytes.subarray(first), 0);
    }
    this.#head = (this.#head + bytes.length) >>> 0;
  }

  #publish(): void {
    const words = this.words;
    Atomics.store(words, HEAD, this.#head | 0);
    if (Atomics.load(words, READER_SLEEP) !== 0 && Atomics.exchange(words, READER_SLEEP, 0) !== 0) {
      Atomics.notify(words, READER_SLEEP);
    }
  }

  /**
   * Prepares to sleep until the consumer frees room: sets `WRITER_WAIT`, then
   * checks once more.
   *
   * @param bytes The room wanted.
   * @returns `true` when the caller must wait on `WRITER_WAIT`; `false` when
   * room appeared or the reader closed (the flag is cleared again).
   */
  prepareWait(bytes: number): boolean {
    Atomics.store(this.words, WRITER_WAIT, 1);
    if (this.hasRoom(bytes) || this.readerClosed()) {
      Atomics.store(this.words, WRITER_WAIT, 0);
      return false;
    }
    return true;
  }
}

/**
 * Records up to this size that cannot use the scratch buffer share pooled
 * chunks. A batch closes once its payload reaches the transport's
 * `batchBytes` (at most 128 KiB), so its record runs up to one message past
 * that: two 64 KiB arrays and their envelope. Such records must stay pooled;
 * an array of their own for each cost a 64 KiB stream ~20% of its throughput.
 */
const POOLED_RECORD_MAX = 256 * 1024;
/** Bytes of one pooled chunk. */
const POOL_CHUNK_BYTES = 1024 * 1024;
/**
 * Records under this size are copied even when they could be lent: copying
 * them costs less than the space they would hold, and than the copy the
 * runtime makes of a lent payload that must outlive its handler.
 */
export const LEND_MIN_BYTES = 4096;

function never(): boolean {
  return false;
}

/**
 * The consumer's side of a ring.
 *
 * Where a complete record is copied to: records the {@linkcode ReusePolicy}
 * allows go to one scratch buffer reused by every call (no allocation);
 * others up to 256 KiB, and records streamed in pieces up to that size, are
 * carved from shared 1 MiB chunks (one allocation amortised over many
 * records: allocating a 64 KiB `ArrayBuffer` costs several times more than
 * copying 64 KiB here); larger records get an array of their own.
 *
 * Lent records ({@linkcode RingReader.lend}) are not copied at all: the
 * payload is a view of the ring itself, and the ring's space from that
 * record on stays taken until {@linkcode RingReader.returnLoan} gives it
 * back, in the order the records were read.
 */
export class RingReader extends RingSide {
  #tail: number;
  #maxRecord: number;
  #reusable: ReusePolicy;
  #scratch = new Uint8Array(0);
  #pool = new Uint8Array(0);
  #pooled = 0;
  /** The record being streamed in, when one is. */
  #partial: Uint8Array | undefined;
  #partialFilled = 0;
  /** Where the next read starts: past `#tail` while lent records hold their space. */
  #cursor: number;
  /** Which whole records may be lent rather than copied (none until `lend()`). */
  #lendable: ReusePolicy = never;
  /** Where each lent record not yet given back starts (its padding included), oldest first. */
  #loans: number[] = [];
  #loanHead = 0;

  /**
   * @param buffer A buffer from {@linkcode allocateRing}.
   * @param maxRecord The largest payload accepted; a longer declared length
   * is a `ProtocolError`.
   * @param reusable Which records may go to the scratch buffer; none by default.
   */
  constructor(buffer: SharedArrayBuffer, maxRecord: number, reusable: ReusePolicy = never) {
    super(buffer);
    this.#tail = Atomics.load(this.words, TAIL) >>> 0;
    this.#cursor = this.#tail;
    this.#maxRecord = maxRecord;
    this.#reusable = reusable;
  }

  /** Whether unread bytes are waiting. */
  hasData(): boolean {
    return (Atomics.load(this.words, HEAD) >>> 0) !== this.#cursor;
  }

  /**
   * From now on, whole records of at least `LEND_MIN_BYTES` that `lendable`
   * accepts (by their first byte) and that do not wrap around the ring's end
   * are handed out as views of the ring instead of copies. Each such record
   * keeps its space (and that of every record after it) from the writer until
   * {@linkcode returnLoan} is called for it.
   *
   * @param lendable Which records to lend, by their first payload byte.
   */
  lend(lendable: ReusePolicy): void {
    this.#lendable = lendable;
    lendFrom(this.data.buffer as SharedArrayBuffer);
  }

  /** Whether `payload`, from {@linkcode read}, is lent: a view of this ring. */
  lent(payload: Uint8Array): boolean {
    return payload.buffer === this.data.buffer;
  }

  /** Gives back the oldest lent record's space (and what follows it, up to the next loan). */
  returnLoan(): void {
    if (this.#loanHead === this.#loans.length) return;
    this.#loanHead++;
    if (this.#loanHead === this.#loans.length) {
      this.#loans.length = 0;
      this.#loanHead = 0;
    }
    this.#release();
  }

  /**
   * The declared length of a record partly received, or -1 between records.
   */
  get partialLength(): number {
    return this.#partial === undefined ? -1 : this.#partial.length;
  }

  /**
   * Copies every complete record out of shared memory, frees their space and
   * wakes a producer waiting for room. A record still streaming in is copied
   * as far as it goes and finished by a later call.
   *
   * @param out Receives the payloads in order, in non-shared memory. Those
   * the reuse policy allowed are valid only until the next call.
   * @returns The number of bytes consumed.
   * @throws {ProtocolError} When a record declares a length above the limit.
   */
  read(out: Uint8Array[]): number {
    const words = this.words;
    const head = Atomics.load(words, HEAD) >>> 0;
    const start = this.#cursor;
    let tail = start;
    let scratchUsed = 0;
    while (tail !== head) {
      let available = (head - tail) >>> 0;
      let partial = this.#partial;
      if (partial === undefined) {
        // The producer publishes a header whole, with its padding; only raw
        // writes split one.
        const gap = gapAt(tail);
        if (available < gap + RECORD_HEADER_BYTES) break;
        const recordStart = tail;
        tail = (tail + gap) >>> 0;
        available -= gap;
        const length = this.#readHeader(tail);
        if (length === SKIP_MARK) {
          // The rest of the data area is padding: the next header is at its start.
          const skipped = this.capacity - (tail & this.mask);
          if (available < skipped) {
            tail = recordStart;
            break;
          }
          tail = (tail + skipped) >>> 0;
          continue;
        }
        if (length > this.#maxRecord) {
          throw new ProtocolError(
            `Cannot read ring record: it declares ${length} bytes, the limit is ${this.#maxRecord} bytes`,
          );
        }
        tail = (tail + RECORD_HEADER_BYTES) >>> 0;
        available -= RECORD_HEADER_BYTES;
        if (available >= length) {
          let target: Uint8Array;
          const offset = tail & this.mask;
          if (
            length >= LEND_MIN_BYTES && offset + length <= this.capacity &&
            this.#lendable(this.data[offset]!)
          ) {
            // Lent: a view of the ring, whose space stays taken until returned.
            this.#loans.push(recordStart);
            out.push(this.data.subarray(offset, offset + length));
            tail = (tail + length) >>> 0;
            continue;
          }
          if (length > 0 && this.#reusable(this.data[offset]!)) {
            if (scratchUsed + length > this.#scratch.length) {
              // Earlier records of this call keep the old buffer.
              this.#scratch = new Uint8Array(Math.max(length, this.#scratch.length * 2, 4096));
              scratchUsed = 0;
            }
            target = this.#scratch.subarray(scratchUsed, scratchUsed + length);
            scratchUsed = (scratchUsed + length + RECORD_ALIGN - 1) & -RECORD_ALIGN;
          } else if (length <= POOLED_RECORD_MAX) {
            target = this.#carve(length);
          } else {
            target = new Uint8Array(length);
          }
          this.#copyOut(tail, target, 0, length);
          tail = (tail + length) >>> 0;
          out.push(target);
          if (
            ((tail - this.#tail) >>> 0) >= this.capacity >>> 2 ||
            Atomics.load(words, WRITER_WAIT) !== 0
          ) {
            // A quarter ring copied out, or a producer waiting for room: free
            // it now, so the producer writes on while this side copies the rest.
            this.#consumeTo(tail);
          }
          continue;
        }
        partial = this.#partial = length <= POOLED_RECORD_MAX
          ? this.#carve(length)
          : new Uint8Array(length);
        this.#partialFilled = 0;
      }
      // A record streaming in: free the ring every quarter, so the producer
      // copies in while this side copies out.
      const count = Math.min(available, partial.length - this.#partialFilled, this.capacity >>> 2);
      this.#copyOut(tail, partial, this.#partialFilled, count);
      tail = (tail + count) >>> 0;
      this.#partialFilled += count;
      if (this.#partialFilled === partial.length) {
        out.push(partial);
        this.#partial = undefined;
        this.#partialFilled = 0;
      } else {
        this.#consumeTo(tail);
      }
    }
    if (tail === start) return 0;
    this.#consumeTo(tail);
    return (tail - start) >>> 0;
  }

  /** Moves the read cursor to `tail`, and frees what is behind it. */
  #consumeTo(tail: number): void {
    this.#cursor = tail;
    this.#release();
  }

  /**
   * Publishes `TAIL` up to the read cursor, or to the oldest loan still out,
   * and wakes a producer waiting for room.
   */
  #release(): void {
    const words = this.words;
    const tail = this.#loanHead < this.#loans.length ? this.#loans[this.#loanHead]! : this.#cursor;
    if (tail === this.#tail) return;
    this.#tail = tail;
    Atomics.store(words, TAIL, tail | 0);
    if (Atomics.load(words, WRITER_WAIT) !== 0 && Atomics.exchange(words, WRITER_WAIT, 0) !== 0) {
      Atomics.notify(words, WRITER_WAIT);
    }
  }

  /** A fresh slice of a pooled chunk. */
  #carve(length: number): Uint8Array {
    let at = this.#pooled;
    if (at + length > this.#pool.length) {
      this.#pool = new Uint8Array(POOL_CHUNK_BYTES);
      at = 0;
    }
    // Aligned like the payload in the ring, so the copy runs word by word.
    this.#pooled = (at + length + RECORD_ALIGN - 1) & -RECORD_ALIGN;
    return this.#pool.subarray(at, at + length);
  }

  #readHeader(tail: number): number {
    const data = this.data, mask = this.mask;
    return (data[tail & mask]! | (data[(tail + 1) & mask]! << 8) |
      (data[(tail + 2) & mask]! << 16) | (data[(tail + 3) & mask]! << 24)) >>> 0;
  }

  #copyOut(tail: number, target: Uint8Array, at: number, count: number): void {
    const offset = tail & this.mask;
    const first = this.capacity - offset;
    if (count <= first) {
      target.set(this.data.subarray(offset, offset + count), at);
    } else {
      target.set(this.data.subarray(offset, this.capacity), at);
      target.set(this.data.subarray(0, count - first), at + first);
    }
  }

  /**
   * Prepares to sleep until the producer publishes: sets `READER_SLEEP`, then
   * checks once more.
   *
   * @returns `true` when the caller must wait on `READER_SLEEP`; `false` when
   * data arrived or the writer closed (the flag is cleared again).
   */
  prepareSleep(): boolean {
    Atomics.store(this.words, READER_SLEEP, 1);
    if (this.hasData() || this.writerClosed()) {
      Atomics.store(this.words, READER_SLEEP, 0);
      return false;
    }
    return true;
  }

  /** Clears `READER_SLEEP` after a sleep. */
  awake(): void {
    Atomics.store(this.words, READER_SLEEP, 0);
  }
}
