// Buffers for reads from a byte stream (stdin, a socket), handed out without
// a fresh allocation per read. A read lands in the free tail of the current
// arena and the bytes read are handed over as a view of it; those bytes are
// never written again (the frame reader and the codecs keep views into them),
// so the next read goes after them. An arena is replaced once its free tail
// is too short for a full read. A small read then costs its own bytes of the
// arena, not a zeroed 64 KiB buffer of its own (which cost a process actor's
// stdin ~15 us per read, more than the rest of its share of an `ask`).

/** Bytes of a fresh arena. */
const ARENA_BYTES = 256 * 1024;
/** The longest read: a read never gets less room than this, so large frames arrive in few reads. */
export const READ_BYTES = 64 * 1024;

export class ReadArena {
  #arena = new Uint8Array(ARENA_BYTES);
  #used = 0;

  /** Where the next read goes: at least {@linkcode READ_BYTES} free bytes, never handed out before. */
  space(): Uint8Array {
    if (this.#arena.length - this.#used < READ_BYTES) {
      this.#arena = new Uint8Array(ARENA_BYTES);
      this.#used = 0;
    }
    return this.#arena.subarray(this.#used, this.#used + READ_BYTES);
  }

  /** The `count` bytes just read into {@linkcode space}, handed over for good. */
  take(count: number): Uint8Array {
    const start = this.#used;
    this.#used += count;
    return this.#arena.subarray(start, this.#used);
  }
}
