/**
 * A legitimate socket client while 1000 idle unauthenticated connections flood
 * the server (issue 17): the p95 of its asks on an open connection and of
 * connecting (dial, handshake and a first ask), unloaded and during the
 * flood, measured in the same run so the ratio is a same-run ratio. The
 * attacker is a `deno run` child that reconnects whatever the server drops.
 *
 * @module
 */

import type { BenchCase } from "./_harness.ts";
import { bounded, kill, percentile, reap, spawnDeno } from "./baselines/_util.ts";
import { dialSocket } from "../transports/socket/dial.ts";
import { listenSocket, type SocketServer } from "../transports/socket/server.ts";
import type { Transport } from "../transports/transport.ts";

const CHILD = new URL("./_socket_flood_child.ts", import.meta.url);
const SECRET = "the bench's shared secret, 16+ bytes";
const FLOOD = 1000;
const WAIT_MS = 15_000;

/** Echoes every batch on every accepted connection until the server closes. */
function serveEcho(server: SocketServer): Promise<void> {
  return (async () => {
    const peers: Promise<void>[] = [];
    for await (const peer of server) {
      peers.push((async () => {
        try {
          for await (const batch of peer.receive()) peer.send(batch);
        } catch {
          // One broken peer.
        } finally {
          await peer.close();
        }
      })());
    }
    await Promise.all(peers);
  })();
}

/** One ask over a client: send a batch, await its echo. */
async function askOnce(
  next: () => Promise<IteratorResult<unknown[]>>,
  client: Transport,
  i: number,
  signal: AbortSignal,
): Promise<void> {
  client.send([i]);
  const result = await bounded(next(), "get the echo", WAIT_MS, signal);
  if (result.done) throw new Error("Cannot ask: the server closed the connection");
}

/** The p95 of `asks` asks on one connection (us) and of `connects` fresh connections (ms). */
async function measure(
  port: number,
  asks: number,
  connects: number,
  signal: AbortSignal,
): Promise<{ askUs: number; connectMs: number }> {
  const dial = () => dialSocket({ port, secret: SECRET, signal: AbortSignal.timeout(WAIT_MS) });
  const client = await bounded(dial(), "connect", WAIT_MS, signal);
  const askTimes: number[] = [];
  try {
    const iterator = client.receive()[Symbol.asyncIterator]();
    const next = () => iterator.next();
    for (let i = 0; i < 20; i++) await askOnce(next, client, i, signal);
    for (let i = 0; i < asks; i++) {
      const started = performance.now();
      await askOnce(next, client, i, signal);
      askTimes.push((performance.now() - started) * 1000);
    }
  } finally {
    await client.close();
  }
  const connectTimes: number[] = [];
  for (let i = 0; i < connects; i++) {
    const started = performance.now();
    const fresh = await bounded(dial(), "connect", WAIT_MS, signal);
    try {
      const iterator = fresh.receive()[Symbol.asyncIterator]();
      await askOnce(() => iterator.next(), fresh, i, signal);
      connectTimes.push(performance.now() - started);
    } finally {
      await fresh.close();
    }
  }
  askTimes.sort((a, b) => a - b);
  connectTimes.sort((a, b) => a - b);
  return { askUs: percentile(askTimes, 95), connectMs: percentile(connectTimes, 95) };
}

/** The flood cases. */
export const socketFloodCases: BenchCase[] = [
  {
    id: "socket.flood",
    group: "socket flood",
    unit: "us",
    figures: {
      "socket.flood.unloaded.ask.p95": {},
      "socket.flood.ask.p95": { baseline: "socket.flood.unloaded.ask.p95", target: 2 },
      "socket.flood.unloaded.connect.p95": { unit: "ms" },
      "socket.flood.connect.p95": {
        unit: "ms",
        baseline: "socket.flood.unloaded.connect.p95",
        target: 2,
      },
    },
    async run({ quick, signal }) {
      const [asks, connects] = quick ? [300, 10] : [2_000, 40];
      const server = await listenSocket({ port: 0, secret: SECRET, onRejected: () => {} });
      const serving = serveEcho(server);
      const port = server.addr.port;
      try {
        const unloaded = await measure(port, asks, connects, signal);
        const child = spawnDeno(CHILD, {
          args: [String(port), String(FLOOD)],
          permissions: [`--allow-net=127.0.0.1:${port}`],
        });
        try {
          const reader = child.stdout!.pipeThrough(new TextDecoderStream()).getReader();
          const ready = await bounded(reader.read(), "start the flood", WAIT_MS, signal);
          if (ready.done || !ready.value.startsWith("ready")) {
            throw new Error("Cannot start the flood: the child ended");
          }
          reader.releaseLock();
          const flooded = await measure(port, asks, connects, signal);
          return {
            "socket.flood.unloaded.ask.p95": unloaded.askUs,
            "socket.flood.ask.p95": flooded.askUs,
            "socket.flood.unloaded.connect.p95": unloaded.connectMs,
            "socket.flood.connect.p95": flooded.connectMs,
          };
        } finally {
          await child.stdin.close().catch(() => {});
          await child.stdout.cancel().catch(() => {});
          await reap(child);
          kill(child);
        }
      } finally {
        await server.close();
        await serving;
      }
    },
  },
];
