/**
 * Raw SharedArrayBuffer ring baseline (issue 20): the main thread sends the small message to a
 * worker through a single-producer, single-consumer byte ring in shared memory, with the best
 * general codec a few dozen lines buy: {@linkcode BATCH} messages per frame as one JSON array,
 * written with `TextEncoder.encodeInto` straight into the ring, copied out and parsed on the
 * other side. Each side spins briefly before it sleeps in `Atomics.wait`, and the other wakes it
 * only when it sleeps. This is the limit a ring transport that carries arbitrary JSON-able
 * objects can approach. No Troupe code in the path. Layout in `_sabring.ts`.
 *
 * @module
 */

import type { BenchCase } from "../_harness.ts";
import {
  CONSUMER_SLEEPS,
  COUNTED,
  END,
  HEADER_BYTES,
  PRODUCER_SLEEPS,
  READ,
  RING_BYTES,
  SPINS,
  WRAP,
  WRITE,
} from "./_sabring.ts";
import { BATCH } from "./postmessage.ts";
import { bounded, type SmallMessage, smallMessage, startWorker, workerInbox } from "./_util.ts";

const WORKER = new URL("./_sabring_worker.ts", import.meta.url);
const MASK = RING_BYTES - 1;
const STALL_LIMIT_MS = 5_000;

/** The producer side of the ring; `send` blocks (spins, then sleeps) while the ring is full. */
class Producer {
  readonly #header: Int32Array;
  readonly #data: Uint8Array;
  readonly #lengths: Int32Array;
  readonly #encoder = new TextEncoder();
  #write = 0;

  constructor(buffer: SharedArrayBuffer) {
    this.#header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.#data = new Uint8Array(buffer, HEADER_BYTES, RING_BYTES);
    this.#lengths = new Int32Array(buffer, HEADER_BYTES, RING_BYTES / 4);
  }

  /** Waits until at least `bytes` are free (or the consumer drained everything when 0). */
  #reserve(bytes: number): void {
    const header = this.#header;
    let free = RING_BYTES - ((this.#write - Atomics.load(header, READ)) | 0);
    let spins = 0;
    let since = 0;
    while (free < bytes) {
      if (++spins >= SPINS) {
        since ||= performance.now();
        if (performance.now() - since > STALL_LIMIT_MS) {
          throw new Error(`Cannot send: the consumer freed no space for ${STALL_LIMIT_MS} ms`);
        }
        const read = Atomics.load(header, READ);
        Atomics.store(header, PRODUCER_SLEEPS, 1);
        if (Atomics.load(header, READ) === read) Atomics.wait(header, READ, read, 100);
        Atomics.store(header, PRODUCER_SLEEPS, 0);
        spins = 0;
      }
      free = RING_BYTES - ((this.#write - Atomics.load(header, READ)) | 0);
    }
  }

  #publish(): void {
    Atomics.store(this.#header, WRITE, this.#write);
    if (Atomics.load(this.#header, CONSUMER_SLEEPS) === 1) Atomics.notify(this.#header, WRITE);
  }

  /** Writes one frame holding `batch` as a JSON array. */
  send(batch: readonly SmallMessage[]): void {
    const text = JSON.stringify(batch);
    // encodeInto writes at most 3 bytes per UTF-16 unit; the frame must fit without wrapping.
    const most = 4 + ((text.length * 3 + 3) & ~3);
    let position = this.#write & MASK;
    if (position + most > RING_BYTES) {
      this.#reserve(RING_BYTES - position + most);
      this.#lengths[position >> 2] = WRAP;
      this.#write = (this.#write + RING_BYTES - position) | 0;
      position = 0;
    } else {
      this.#reserve(most);
    }
    const start = position + 4;
    const { written } = this.#encoder.encodeInto(
      text,
      this.#data.subarray(start, start + most - 4),
    );
    this.#lengths[position >> 2] = written;
    this.#write = (this.#write + 4 + ((written + 3) & ~3)) | 0;
    this.#publish();
  }

  /** Waits until the consumer has taken every frame. */
  drain(): void {
    this.#reserve(RING_BYTES);
  }

  /** Writes the `END` frame. */
  end(): void {
    this.#reserve(4);
    this.#lengths[(this.#write & MASK) >> 2] = END;
    this.#write = (this.#write + 4) | 0;
    this.#publish();
  }
}

/** Raw SharedArrayBuffer ring baseline. */
export const sabRingCases: BenchCase[] = [
  {
    id: "baseline.sabring.small",
    group: "baseline",
    unit: "msg/s",
    async run({ quick, signal }) {
      const total = quick ? 500_000 : 5_000_000;
      const warmup = quick ? 50_000 : 200_000;
      const buffer = new SharedArrayBuffer(HEADER_BYTES + RING_BYTES);
      const header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
      const worker = startWorker(WORKER);
      const inbox = workerInbox<string>(worker, signal);
      try {
        worker.postMessage(buffer);
        await bounded(inbox.next(), "start the worker", 10_000, signal);
        const producer = new Producer(buffer);
        let sent = 0;
        const pump = (count: number): void => {
          const end = sent + count;
          const batch: SmallMessage[] = [];
          while (sent < end) {
            batch.length = 0;
            const stop = Math.min(end, sent + BATCH);
            while (sent < stop) batch.push(smallMessage(sent++));
            producer.send(batch);
          }
        };
        pump(warmup);
        producer.drain();
        const start = performance.now();
        pump(total);
        producer.end();
        await bounded(inbox.next(), "drain the ring", 30_000, signal);
        const seconds = (performance.now() - start) / 1000;
        const counted = Atomics.load(header, COUNTED);
        if (counted !== sent) throw new Error(`Cannot trust run: sent ${sent}, counted ${counted}`);
        return total / seconds;
      } finally {
        worker.terminate();
      }
    },
  },
];
