/**
 * Parent side of the byte-stream baselines (stdio, Unix socket): batched one-way throughput
 * with batched acks, and ping-pong round trips, over length-prefixed JSON frames.
 *
 * @module
 */

import { FrameReader, FrameWriter } from "./_frames.ts";
import { ACK_EVERY, bounded, Inbox, latencyFigures, OP_ECHO, smallMessage } from "./_util.ts";

/** Frames per write in the throughput run. */
export const FRAMES_PER_WRITE = 256;
/** The sender keeps at most this many unacknowledged messages in flight. */
const WINDOW = 16 * ACK_EVERY;

interface Reply {
  ready?: boolean;
  ack?: number;
}

/** A framed connection to a peer over a pair of byte streams. */
export class FramePeer {
  readonly inbox: Inbox<Reply>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #pump: Promise<void>;
  #out = new FrameWriter();

  constructor(
    readable: ReadableStream<Uint8Array>,
    writable: WritableStream<Uint8Array>,
    signal: AbortSignal,
  ) {
    this.inbox = new Inbox<Reply>(signal);
    this.#writer = writable.getWriter();
    this.#reader = readable.getReader();
    this.#pump = this.#readLoop();
  }

  async #readLoop(): Promise<void> {
    const frames = new FrameReader();
    try {
      for (;;) {
        const { done, value } = await this.#reader.read();
        if (done) break;
        frames.push(value);
        for (let m = frames.next(); m !== undefined; m = frames.next()) this.inbox.push(m as Reply);
      }
      this.inbox.fail(new Error("Cannot read from the peer: it closed its end"));
    } catch (error) {
      this.inbox.fail(error);
    }
  }

  /** Waits for the peer's ready frame. */
  async ready(signal: AbortSignal): Promise<void> {
    const first = await bounded(this.inbox.next(), "start the peer", 15_000, signal);
    if (first.ready !== true) throw new Error("Cannot start the peer: first frame is not ready");
  }

  /** Sends one-way messages in batches, then waits until all are acked; returns msg/s. */
  async throughput(total: number, warmup: number): Promise<number> {
    let sent = 0;
    let acked = 0;
    const pump = async (count: number): Promise<void> => {
      const end = sent + count;
      while (sent < end) {
        while (sent - acked + FRAMES_PER_WRITE > WINDOW) {
          acked = (await this.inbox.next()).ack ?? acked;
        }
        const batchEnd = Math.min(end, sent + FRAMES_PER_WRITE);
        for (; sent < batchEnd; sent++) this.#out.add(smallMessage(sent));
        await this.#writer.write(this.#out.take());
      }
      while (acked < end) acked = (await this.inbox.next()).ack ?? acked;
    };
    await pump(warmup);
    const start = performance.now();
    await pump(total);
    return total / ((performance.now() - start) / 1000);
  }

  /** Ping-pongs one frame at a time; returns p50 and p99 in microseconds. */
  async roundTrips(
    prefix: string,
    rounds: number,
    warmup: number,
  ): Promise<Record<string, number>> {
    const samples: number[] = [];
    for (let i = 0; i < warmup + rounds; i++) {
      const start = performance.now();
      this.#out.add(smallMessage(i, OP_ECHO));
      await this.#writer.write(this.#out.take());
      await this.inbox.next();
      if (i >= warmup) samples.push((performance.now() - start) * 1000);
    }
    return latencyFigures(prefix, samples);
  }

  /** Closes the writing side (the peer sees the end of its input) and stops reading. */
  async close(): Promise<void> {
    await this.#writer.close().catch(() => {});
    await this.#reader.cancel().catch(() => {});
    await this.#pump;
  }
}

/** Message counts of the byte-stream baselines. */
export function streamCounts(quick: boolean): {
  total: number;
  warmup: number;
  rounds: number;
  rttWarmup: number;
} {
  return quick
    ? { total: 200_000, warmup: 20_000, rounds: 2_000, rttWarmup: 300 }
    : { total: 1_000_000, warmup: 100_000, rounds: 20_000, rttWarmup: 2_000 };
}
