/**
 * Raw Worker `postMessage` baselines: one-way throughput of small objects with batched acks
 * (one object per call, or one array of {@linkcode BATCH} objects per call), ping-pong round
 * trips, and 64 KiB `ArrayBuffer`s moved with a transfer list. No Troupe code in the path.
 *
 * @module
 */

import type { BenchCase } from "../_harness.ts";
import {
  ACK_EVERY,
  bounded,
  latencyFigures,
  OP_ECHO,
  type SmallMessage,
  smallMessage,
  startWorker,
  workerInbox,
} from "./_util.ts";

const WORKER = new URL("./_echo_worker.ts", import.meta.url);
const SINK_WORKER = new URL("./_sink_worker.ts", import.meta.url);
/** The sender keeps at most this many unacknowledged messages in flight. */
const WINDOW = 8 * ACK_EVERY;
/**
 * Small objects per `postMessage` of the batched baseline: the runtime's own outbox limit
 * (`MAX_BATCH` in `actors/core/_coalesce.ts`), which is what one tick of a tell loop fills.
 */
export const BATCH = 512;
const BLOCK_BYTES = 64 * 1024;
/** The transfer baseline keeps at most this many blocks (16 MiB) in flight. */
const BLOCK_WINDOW = 256;

interface Reply {
  ready?: boolean;
  ack?: number;
}

/** Raw Worker `postMessage` baselines. */
export const postMessageCases: BenchCase[] = [
  {
    id: "baseline.postmessage.small",
    group: "baseline",
    unit: "msg/s",
    async run({ quick, signal }) {
      const total = quick ? 50_000 : 500_000;
      const warmup = quick ? 20_000 : 50_000;
      const worker = startWorker(WORKER);
      try {
        const inbox = workerInbox<Reply>(worker, signal);
        await bounded(inbox.next(), "start the worker", 10_000, signal);
        let sent = 0;
        let acked = 0;
        const pump = async (count: number): Promise<void> => {
          const end = sent + count;
          while (sent < end) {
            while (sent - acked >= WINDOW) acked = (await inbox.next()).ack ?? acked;
            worker.postMessage(smallMessage(sent));
            sent++;
          }
          while (acked < end) acked = (await inbox.next()).ack ?? acked;
        };
        await pump(warmup);
        const start = performance.now();
        await pump(total);
        return total / ((performance.now() - start) / 1000);
      } finally {
        worker.terminate();
      }
    },
  },
  {
    id: "baseline.postmessage.batched.small",
    group: "baseline",
    unit: "msg/s",
    async run({ quick, signal }) {
      const total = quick ? 200_000 : 2_000_000;
      const warmup = quick ? 20_000 : 100_000;
      const worker = startWorker(SINK_WORKER);
      try {
        const inbox = workerInbox<Reply>(worker, signal);
        await bounded(inbox.next(), "start the worker", 10_000, signal);
        let sent = 0;
        let acked = 0;
        const pump = async (count: number): Promise<void> => {
          const end = sent + count;
          while (sent < end) {
            while (sent - acked >= WINDOW) acked = (await inbox.next()).ack ?? acked;
            const batch: SmallMessage[] = [];
            const stop = Math.min(end, sent + BATCH);
            while (sent < stop) batch.push(smallMessage(sent++));
            worker.postMessage(batch);
          }
          while (acked < end - (end % ACK_EVERY)) acked = (await inbox.next()).ack ?? acked;
        };
        await pump(warmup);
        const start = performance.now();
        await pump(total);
        return total / ((performance.now() - start) / 1000);
      } finally {
        worker.terminate();
      }
    },
  },
  {
    id: "baseline.transfer.64k",
    group: "baseline",
    unit: "MB/s",
    async run({ quick, signal }) {
      const total = quick ? 2_048 : 16_384; // 128 MiB or 1 GiB
      const warmup = quick ? 256 : 1_024;
      const worker = startWorker(SINK_WORKER);
      try {
        const inbox = workerInbox<Reply>(worker, signal);
        await bounded(inbox.next(), "start the worker", 10_000, signal);
        let sent = 0;
        let acked = 0;
        const pump = async (count: number): Promise<void> => {
          const end = sent + count;
          while (sent < end) {
            while (sent - acked >= BLOCK_WINDOW) acked = (await inbox.next()).ack ?? acked;
            // A fresh block each time, as a producer of distinct payloads has: a transferred
            // buffer is detached on this side. Stamped so the receiver reads real data.
            const block = new Uint8Array(BLOCK_BYTES);
            block[0] = sent & 255;
            worker.postMessage(block.buffer, [block.buffer]);
            sent++;
          }
          while (acked < end) acked = (await inbox.next()).ack ?? acked;
        };
        await pump(warmup);
        const start = performance.now();
        await pump(total);
        return (total * BLOCK_BYTES) / 1e6 / ((performance.now() - start) / 1000);
      } finally {
        worker.terminate();
      }
    },
  },
  {
    id: "baseline.postmessage.rtt",
    group: "baseline",
    unit: "us",
    figures: { "baseline.postmessage.rtt.p50": {}, "baseline.postmessage.rtt.p99": {} },
    async run({ quick, signal }) {
      const rounds = quick ? 3_000 : 20_000;
      const warmup = quick ? 500 : 2_000;
      const worker = startWorker(WORKER);
      try {
        const inbox = workerInbox<Reply>(worker, signal);
        await bounded(inbox.next(), "start the worker", 10_000, signal);
        const samples: number[] = [];
        for (let i = 0; i < warmup + rounds; i++) {
          const start = performance.now();
          worker.postMessage(smallMessage(i, OP_ECHO));
          await inbox.next();
          if (i >= warmup) samples.push((performance.now() - start) * 1000);
        }
        return latencyFigures("baseline.postmessage.rtt", samples);
      } finally {
        worker.terminate();
      }
    },
  },
];
