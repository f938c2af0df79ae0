/**
 * Raw Worker `postMessage` baselines: one-way throughput of small objects with batched acks,
 * and ping-pong round trips. No Troupe code in the path.
 *
 * @module
 */

import type { BenchCase } from "../_harness.ts";
import {
  ACK_EVERY,
  bounded,
  latencyFigures,
  OP_ECHO,
  smallMessage,
  startWorker,
  workerInbox,
} from "./_util.ts";

const WORKER = new URL("./_echo_worker.ts", import.meta.url);
/** The sender keeps at most this many unacknowledged messages in flight. */
const WINDOW = 8 * ACK_EVERY;

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
      const total = quick ? 100_000 : 500_000;
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
