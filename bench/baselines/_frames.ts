/**
 * Length-prefixed JSON frames (4-byte little-endian length, then UTF-8 JSON) for the byte-stream
 * baselines, used by both the parent and the child. Nothing here imports Troupe.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Collects frames into one growable buffer, so that many frames go out in one write. */
export class FrameWriter {
  #buffer = new Uint8Array(64 * 1024);
  #view = new DataView(this.#buffer.buffer);
  #length = 0;

  /** Bytes collected so far. */
  get size(): number {
    return this.#length;
  }

  /** Appends one frame holding `value` as JSON. */
  add(value: unknown): void {
    const json = JSON.stringify(value);
    this.#reserve(4 + json.length * 3);
    const { written } = encoder.encodeInto(json, this.#buffer.subarray(this.#length + 4));
    this.#view.setUint32(this.#length, written, true);
    this.#length += 4 + written;
  }

  /**
   * Returns the collected bytes and starts over. The view stays valid until the next `add`,
   * so callers finish writing it before they add again.
   */
  take(): Uint8Array {
    const bytes = this.#buffer.subarray(0, this.#length);
    this.#length = 0;
    return bytes;
  }

  #reserve(extra: number): void {
    if (this.#length + extra <= this.#buffer.length) return;
    let size = this.#buffer.length * 2;
    while (size < this.#length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#buffer.subarray(0, this.#length));
    this.#buffer = grown;
    this.#view = new DataView(grown.buffer);
  }
}

/** Splits a byte stream into frames and parses each as JSON. */
export class FrameReader {
  #buffer = new Uint8Array(64 * 1024);
  #view = new DataView(this.#buffer.buffer);
  #start = 0;
  #end = 0;

  /** Appends bytes read from the stream. */
  push(chunk: Uint8Array): void {
    if (this.#end + chunk.length > this.#buffer.length) {
      const live = this.#end - this.#start;
      let target = this.#buffer;
      if (live + chunk.length > this.#buffer.length) {
        let size = this.#buffer.length * 2;
        while (size < live + chunk.length) size *= 2;
        target = new Uint8Array(size);
      }
      target.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = target;
      this.#view = new DataView(target.buffer);
      this.#start = 0;
      this.#end = live;
    }
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /** Returns the next complete frame parsed as JSON, or `undefined` when none is complete. */
  next(): unknown {
    const available = this.#end - this.#start;
    if (available < 4) return undefined;
    const length = this.#view.getUint32(this.#start, true);
    if (available < 4 + length) return undefined;
    const from = this.#start + 4;
    this.#start = from + length;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return JSON.parse(decoder.decode(this.#buffer.subarray(from, from + length)));
  }
}
