/**
 * Raw length-prefixed JSON frames over a `deno run` child's stdin and stdout: batched one-way
 * throughput (256 frames per write, an ack every 1000 messages) and ping-pong round trips.
 * No Troupe code in the path.
 *
 * @module
 */

import type { BenchCase } from "../_harness.ts";
import { FramePeer, streamCounts } from "./_frame_bench.ts";
import { kill, reap, settleWithin, spawnDeno } from "./_util.ts";

const CHILD = new URL("./_frame_child.ts", import.meta.url);

async function withStdioPeer<T>(
  signal: AbortSignal,
  body: (peer: FramePeer) => Promise<T>,
): Promise<T> {
  const child = spawnDeno(CHILD, { args: ["stdio"] });
  const peer = new FramePeer(child.stdout, child.stdin, signal);
  try {
    await peer.ready(signal);
    return await body(peer);
  } finally {
    if (!await settleWithin(peer.close(), 2_000)) kill(child);
    await reap(child);
  }
}

/** Raw stdio baselines. */
export const stdioCases: BenchCase[] = [
  {
    id: "baseline.stdio.small",
    group: "baseline",
    unit: "msg/s",
    run({ quick, signal }) {
      const { total, warmup } = streamCounts(quick);
      return withStdioPeer(signal, (peer) => peer.throughput(total, warmup));
    },
  },
  {
    id: "baseline.stdio.rtt",
    group: "baseline",
    unit: "us",
    figures: { "baseline.stdio.rtt.p50": {}, "baseline.stdio.rtt.p99": {} },
    run({ quick, signal }) {
      const { rounds, rttWarmup } = streamCounts(quick);
      return withStdioPeer(
        signal,
        (peer) => peer.roundTrips("baseline.stdio.rtt", rounds, rttWarmup),
      );
    },
  },
];
