/**
 * Raw length-prefixed JSON frames over a Unix domain socket to a `deno run` child: batched
 * one-way throughput (256 frames per write, an ack every 1000 messages) and ping-pong round
 * trips. The socket lives in a fresh temporary directory that is removed afterwards. No Troupe
 * code in the path.
 *
 * @module
 */

import type { BenchCase } from "../_harness.ts";
import { FramePeer, streamCounts } from "./_frame_bench.ts";
import { bounded, kill, reap, settleWithin, spawnDeno } from "./_util.ts";

const CHILD = new URL("./_frame_child.ts", import.meta.url);

async function withUnixPeer<T>(
  signal: AbortSignal,
  body: (peer: FramePeer) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "troupe-bench-" });
  try {
    const path = `${dir}/peer.sock`;
    const listener = Deno.listen({ transport: "unix", path });
    try {
      const child = spawnDeno(CHILD, {
        args: ["unix", path],
        permissions: [`--allow-read=${dir}`, `--allow-write=${dir}`, `--allow-net=unix:${path}`],
        stdin: "null",
        stdout: "null",
      });
      let conn: Deno.Conn | undefined;
      try {
        const exited = child.status.then((s) => {
          throw new Error(`Cannot connect: the child exited with code ${s.code}`);
        });
        conn = await bounded(Promise.race([listener.accept(), exited]), "accept", 15_000, signal);
        const peer = new FramePeer(conn.readable, conn.writable, signal);
        try {
          await peer.ready(signal);
          return await body(peer);
        } finally {
          if (!await settleWithin(peer.close(), 2_000)) kill(child);
        }
      } finally {
        try {
          conn?.close();
        } catch {
          // The streams closed it already.
        }
        await reap(child);
      }
    } finally {
      listener.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Raw Unix socket baselines. */
export const unixCases: BenchCase[] = [
  {
    id: "baseline.unix.small",
    group: "baseline",
    unit: "msg/s",
    run({ quick, signal }) {
      const { total, warmup } = streamCounts(quick);
      return withUnixPeer(signal, (peer) => peer.throughput(total, warmup));
    },
  },
  {
    id: "baseline.unix.rtt",
    group: "baseline",
    unit: "us",
    figures: { "baseline.unix.rtt.p50": {}, "baseline.unix.rtt.p99": {} },
    run({ quick, signal }) {
      const { rounds, rttWarmup } = streamCounts(quick);
      return withUnixPeer(
        signal,
        (peer) => peer.roundTrips("baseline.unix.rtt", rounds, rttWarmup),
      );
    },
  },
];
