/**
 * Actors over NATS (issue 18) against raw nats.js on the same kind of server, in the same run.
 * Every run starts its own `nats-server` on a loopback port (as the tests do) and stops it in
 * `finally`; without an installed `nats-server` these cases are skipped with a note.
 *
 * - `baseline.nats.rtt.{p50,p99}`: sequential `nc.request()` of the small message (JSON) to a
 *   raw responder on a second connection that sends the bytes back.
 * - `baseline.nats.hop.rtt.{p50,p99}`: the same requests to a raw responder that hands each one
 *   to a raw echo worker with `postMessage` and responds with what the worker sends back: the
 *   floor of any actor runtime that runs its actors beside the NATS connection's thread, as
 *   Troupe's worker actors do (the thread hop alone is about half a NATS round trip here).
 * - `baseline.nats.worker.rtt.{p50,p99}`: the same requests to a raw responder with its own
 *   connection in a worker: the floor of a name served from a worker actor's own thread
 *   (`inActor`), which pays the same placement (two threads woken per round trip, not one).
 * - `ask.nats.{p50,p99}`: sequential `RemoteRef.ask("echo", msg)` through a second node to the
 *   bench echo actor (a worker actor) it exposes: headers, JSON both ways, the actor's own
 *   mailbox round trip included; compared with both floors.
 * - `baseline.nats.pub.small`: raw publishes of the small message to a subscriber on a second
 *   connection, in a plain loop (`publish` returns nothing and is not awaited, so the client
 *   writes its buffer once per run of publishes, not once per message); every 1000th is a request
 *   the subscriber answers, so the publisher never runs more than 1000 ahead (as the other byte
 *   baselines ack every 1000).
 * - `baseline.nats.hop.pub.small`: the same publishes to a raw subscriber that hands them to a
 *   raw sink worker, the messages of one microtask turn in one `postMessage`; every 1000th is a
 *   request answered once the worker counted everything before it.
 * - `tell.nats.small`: `RemoteRef.tell("take", msg)` to the exposed sink actor, with an
 *   `ask("count")` every 1000 (which also proves every tell was handled); compared with both
 *   floors.
 * - `baseline.jetstream.pub`: raw JetStream publishes of the small message (JSON, a
 *   `Nats-Msg-Id` each) to a work-queue stream on file storage, awaiting every PubAck with at
 *   most `WINDOW` in flight, while a raw pull consumer on a second connection acks each message;
 *   msg/s from the first publish to the last ack seen.
 * - `tell.nats.durable`: `DurableRef.tell("take", msg)` with the same window to the sink actor
 *   exposed durably (its own stream and consumer), until the sink counted them all: the PubAck,
 *   the pull, the actor's handler and the ack after it included.
 *
 * @module
 */

import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  AckPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { ActorSystem } from "../mod.ts";
import { NatsNode } from "../actors/cluster/mod.ts";
import { natsServerPath, startNatsServer, type TestNatsServer } from "../tests/nats/_server.ts";
import type { BenchCase } from "./_harness.ts";
import type { echo } from "./actors/echo.ts";
import type { sink } from "./actors/sink.ts";
import {
  ACK_EVERY,
  bounded,
  latencyFigures,
  OP_ECHO,
  smallMessage,
  startWorker,
} from "./baselines/_util.ts";

const SINK = new URL("./actors/sink.ts", import.meta.url);
const ECHO = new URL("./actors/echo.ts", import.meta.url);
const RAW_ECHO_WORKER = new URL("./baselines/_echo_worker.ts", import.meta.url);
const RAW_RESPONDER_WORKER = new URL("./baselines/_nats_responder_worker.ts", import.meta.url);
const HOP_SINK_WORKER = new URL("./baselines/_hop_sink_worker.ts", import.meta.url);

function counts(quick: boolean) {
  return quick
    ? { total: 20_000, warmup: 2_000, rounds: 1_000, rttWarmup: 200 }
    : { total: 100_000, warmup: 10_000, rounds: 5_000, rttWarmup: 1_000 };
}

function prepare(): Promise<string | undefined> {
  try {
    natsServerPath();
    return Promise.resolve(undefined);
  } catch (error) {
    return Promise.resolve(error instanceof Error ? error.message : String(error));
  }
}

async function withServer<T>(
  signal: AbortSignal,
  body: (server: TestNatsServer) => Promise<T>,
): Promise<T> {
  const server = await startNatsServer();
  try {
    signal.throwIfAborted();
    return await body(server);
  } finally {
    await server[Symbol.asyncDispose]();
  }
}

const encoder = new TextEncoder();
const encode = (value: unknown) => encoder.encode(JSON.stringify(value));
const decoder = new TextDecoder();

async function rawPair<T>(
  url: string,
  body: (a: NatsConnection, b: NatsConnection) => Promise<T>,
): Promise<T> {
  const a = await connect({ servers: url, noAsyncTraces: true });
  const b = await connect({ servers: url, noAsyncTraces: true });
  try {
    return await body(a, b);
  } finally {
    await a.close();
    await b.close();
  }
}

/** A request the hop worker's answer goes back to. */
interface Waiting {
  respond(data: Uint8Array): boolean;
}

/**
 * Runs `body` with a raw worker of `url` that answers in order: each answer
 * goes, as `reply(answer)`, to the oldest request in `waiting`. Terminated
 * afterwards.
 */
async function withHopWorker<T>(
  url: URL,
  reply: (answer: unknown) => unknown,
  signal: AbortSignal,
  body: (worker: Worker, waiting: Waiting[]) => Promise<T>,
): Promise<T> {
  const worker = startWorker(url);
  try {
    const waiting: Waiting[] = [];
    const ready = Promise.withResolvers<void>();
    worker.onmessage = (event: MessageEvent) => {
      if ((event.data as { ready?: boolean }).ready) return ready.resolve();
      waiting.shift()?.respond(encode(reply(event.data)));
    };
    await bounded(ready.promise, "start the hop worker", 10_000, signal);
    return await body(worker, waiting);
  } finally {
    worker.terminate();
  }
}

async function troupePair<T>(
  url: string,
  body: (system: ActorSystem, serving: NatsNode, asking: NatsNode) => Promise<T>,
): Promise<T> {
  const system = await ActorSystem.start();
  try {
    const serving = await NatsNode.connect({ servers: url, namespace: "bench" });
    try {
      const asking = await NatsNode.connect({ servers: url, namespace: "bench" });
      try {
        return await body(system, serving, asking);
      } finally {
        await asking.close({ timeout: 1000 });
      }
    } finally {
      await serving.close({ timeout: 1000 });
    }
  } finally {
    await system.shutdown({ timeout: 2000 });
  }
}

/**
 * Times sequential remote asks to the bench echo actor (a worker actor) that
 * another node exposes; with `inActor`, once the actor's own thread serves
 * the name (the `nats-served-in-actor` event said so), not the node's.
 */
function echoAsks(
  prefix: string,
  inActor: boolean,
  quick: boolean,
  signal: AbortSignal,
): Promise<Record<string, number>> {
  const { rounds, rttWarmup } = counts(quick);
  return withServer(signal, (server) =>
    troupePair(server.url, async (system, serving, asking) => {
      const events = serving.events();
      await serving.expose("echo", await system.spawn<typeof echo>(ECHO), { inActor });
      if (inActor) {
        const event = (await bounded(events.next(), "serve in the actor", 10_000, signal)).value;
        if (event?.type !== "nats-served-in-actor" || !event.serving) {
          throw new Error(`the actor's thread did not take the name: ${JSON.stringify(event)}`);
        }
      }
      const remote = asking.lookup<typeof echo>("echo");
      return await roundTrips(
        prefix,
        rounds,
        rttWarmup,
        signal,
        (i) => remote.ask("echo", smallMessage(i, OP_ECHO), { timeout: 5000 }),
      );
    }));
}

/** Times `rounds` sequential round trips after `warmup` untimed ones, in microseconds. */
async function roundTrips(
  prefix: string,
  rounds: number,
  warmup: number,
  signal: AbortSignal,
  once: (i: number) => Promise<unknown>,
): Promise<Record<string, number>> {
  for (let i = 0; i < warmup; i++) await once(i);
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    signal.throwIfAborted();
    const start = performance.now();
    await once(i);
    samples.push((performance.now() - start) * 1000);
  }
  return latencyFigures(prefix, samples);
}

/**
 * Sends `total` one-way messages after `warmup`, a round trip every ACK_EVERY; msg/s. A `send`
 * that returns a promise is awaited before the next.
 */
async function stream(
  total: number,
  warmup: number,
  signal: AbortSignal,
  send: (i: number) => Promise<void> | void,
  ack: () => Promise<unknown>,
): Promise<number> {
  const burst = async (count: number, from: number) => {
    for (let i = 0; i < count; i++) {
      if ((i + 1) % ACK_EVERY === 0) {
        signal.throwIfAborted();
        await ack();
      } else {
        // Awaited only when it returns a promise: a raw publish returns
        // nothing, and awaiting that would yield to the client's flush after
        // every message (one socket write each), which plain code never does.
        const sending = send(from + i);
        if (sending !== undefined) await sending;
      }
    }
    await ack();
  };
  await burst(warmup, 0);
  const start = performance.now();
  await burst(total, warmup);
  return total / ((performance.now() - start) / 1000);
}

/** Durable publishes in flight at once, in both durable cases. */
const WINDOW = 16;

function durableCounts(quick: boolean) {
  return quick ? { total: 5_000, warmup: 500 } : { total: 20_000, warmup: 2_000 };
}

/**
 * Runs `send(i)` for `total` messages with at most WINDOW in flight, then waits for `done()`;
 * msg/s over the whole, after `warmup` messages the same way.
 */
async function windowed(
  total: number,
  warmup: number,
  signal: AbortSignal,
  send: (i: number) => Promise<unknown>,
  done: (count: number) => Promise<void>,
): Promise<number> {
  let sent = 0;
  let failure: { error: unknown } | undefined;
  const burst = async (count: number) => {
    let inflight = 0;
    let wake: (() => void) | undefined;
    const settled = () => {
      inflight--;
      const resume = wake;
      wake = undefined;
      resume?.();
    };
    for (let i = 0; i < count && !failure; i++) {
      while (inflight >= WINDOW) await new Promise<void>((resolve) => wake = resolve);
      inflight++;
      send(sent++).then(settled, (error) => {
        failure ??= { error };
        settled();
      });
    }
    while (inflight > 0) await new Promise<void>((resolve) => wake = resolve);
    if (failure) throw failure.error;
    signal.throwIfAborted();
    await done(sent);
  };
  await burst(warmup);
  const start = performance.now();
  await burst(total);
  return total / ((performance.now() - start) / 1000);
}

/** Resolves once `count()` reaches `n`, asking again every millisecond. */
async function reach(n: number, count: () => number | Promise<number>, signal: AbortSignal) {
  while (await count() < n) {
    signal.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** NATS cases and their raw baselines. */
export const natsCases: BenchCase[] = [
  {
    id: "baseline.nats.rtt",
    group: "baseline",
    unit: "us",
    figures: { "baseline.nats.rtt.p50": {}, "baseline.nats.rtt.p99": {} },
    prepare,
    run({ quick, signal }) {
      const { rounds, rttWarmup } = counts(quick);
      return withServer(signal, (server) =>
        rawPair(server.url, async (a, b) => {
          b.subscribe("bench.echo", {
            callback: (_error, msg) => {
              msg.respond(msg.data);
            },
          });
          await b.flush();
          return roundTrips(
            "baseline.nats.rtt",
            rounds,
            rttWarmup,
            signal,
            (i) => a.request("bench.echo", encode(smallMessage(i, OP_ECHO)), { timeout: 5000 }),
          );
        }));
    },
  },
  {
    id: "baseline.nats.hop.rtt",
    group: "baseline",
    unit: "us",
    figures: { "baseline.nats.hop.rtt.p50": {}, "baseline.nats.hop.rtt.p99": {} },
    prepare,
    run({ quick, signal }) {
      const { rounds, rttWarmup } = counts(quick);
      return withServer(
        signal,
        (server) =>
          rawPair(server.url, (a, b) =>
            withHopWorker(
              RAW_ECHO_WORKER,
              (echoed) => echoed,
              signal,
              async (worker, waiting) => {
                b.subscribe("bench.echo", {
                  callback: (_error, msg) => {
                    waiting.push(msg);
                    worker.postMessage(JSON.parse(decoder.decode(msg.data)));
                  },
                });
                await b.flush();
                return await roundTrips(
                  "baseline.nats.hop.rtt",
                  rounds,
                  rttWarmup,
                  signal,
                  (i) =>
                    a.request("bench.echo", encode(smallMessage(i, OP_ECHO)), { timeout: 5000 }),
                );
              },
            )),
      );
    },
  },
  {
    id: "baseline.nats.worker.rtt",
    group: "baseline",
    unit: "us",
    figures: { "baseline.nats.worker.rtt.p50": {}, "baseline.nats.worker.rtt.p99": {} },
    prepare,
    run({ quick, signal }) {
      const { rounds, rttWarmup } = counts(quick);
      return withServer(signal, async (server) => {
        const worker = startWorker(RAW_RESPONDER_WORKER);
        try {
          const said = (what: "ready" | "closed") =>
            bounded(
              new Promise<void>((resolve) => {
                worker.onmessage = (event: MessageEvent) => {
                  if ((event.data as Record<string, boolean>)[what]) resolve();
                };
              }),
              `the responder worker ${what}`,
              10_000,
              signal,
            );
          const ready = said("ready");
          worker.postMessage({ url: server.url, subject: "bench.echo" });
          await ready;
          const a = await connect({ servers: server.url, noAsyncTraces: true });
          try {
            return await roundTrips(
              "baseline.nats.worker.rtt",
              rounds,
              rttWarmup,
              signal,
              (i) => a.request("bench.echo", encode(smallMessage(i, OP_ECHO)), { timeout: 5000 }),
            );
          } finally {
            await a.close();
            const closed = said("closed");
            worker.postMessage({ close: true });
            await closed.catch(() => {});
          }
        } finally {
          worker.terminate();
        }
      });
    },
  },
  {
    id: "ask.nats",
    group: "nats",
    unit: "us",
    figures: {
      "ask.nats.p50": { baseline: "baseline.nats.rtt.p50", target: 1.2 },
      "ask.nats.p50.vs-hop": { baseline: "baseline.nats.hop.rtt.p50", target: 1.2 },
      "ask.nats.p99": {},
    },
    prepare,
    async run({ quick, signal }) {
      const figures = await echoAsks("ask.nats", false, quick, signal);
      return { ...figures, "ask.nats.p50.vs-hop": figures["ask.nats.p50"]! };
    },
  },
  {
    id: "ask.nats.in-actor",
    group: "nats",
    unit: "us",
    figures: {
      "ask.nats.in-actor.p50": { baseline: "baseline.nats.rtt.p50", target: 1.2 },
      "ask.nats.in-actor.p50.vs-worker": {
        baseline: "baseline.nats.worker.rtt.p50",
        target: 1.2,
      },
      "ask.nats.in-actor.p99": {},
    },
    prepare,
    async run({ quick, signal }) {
      const figures = await echoAsks("ask.nats.in-actor", true, quick, signal);
      return { ...figures, "ask.nats.in-actor.p50.vs-worker": figures["ask.nats.in-actor.p50"]! };
    },
  },
  {
    id: "baseline.nats.pub.small",
    group: "baseline",
    unit: "msg/s",
    prepare,
    run({ quick, signal }) {
      const { total, warmup } = counts(quick);
      return withServer(signal, (server) =>
        rawPair(server.url, async (a, b) => {
          let received = 0;
          b.subscribe("bench.sink", {
            callback: (_error, msg) => {
              received++;
              if (msg.reply) msg.respond(encode(received));
            },
          });
          await b.flush();
          return stream(
            total,
            warmup,
            signal,
            (i) => a.publish("bench.sink", encode(smallMessage(i))),
            () => a.request("bench.sink", encode(smallMessage(0)), { timeout: 5000 }),
          );
        }));
    },
  },
  {
    id: "baseline.nats.hop.pub.small",
    group: "baseline",
    unit: "msg/s",
    prepare,
    run({ quick, signal }) {
      const { total, warmup } = counts(quick);
      return withServer(
        signal,
        (server) =>
          rawPair(server.url, (a, b) =>
            withHopWorker(
              HOP_SINK_WORKER,
              (answer) => (answer as { count: number }).count,
              signal,
              async (worker, waiting) => {
                let batch: unknown[] = [];
                const flush = () => {
                  worker.postMessage(batch);
                  batch = [];
                };
                b.subscribe("bench.sink", {
                  callback: (_error, msg) => {
                    const message = JSON.parse(decoder.decode(msg.data)) as { op: string };
                    if (msg.reply) {
                      message.op = OP_ECHO;
                      waiting.push(msg);
                    }
                    if (batch.push(message) === 1) queueMicrotask(flush);
                  },
                });
                await b.flush();
                return await stream(
                  total,
                  warmup,
                  signal,
                  (i) => a.publish("bench.sink", encode(smallMessage(i))),
                  () => a.request("bench.sink", encode(smallMessage(0)), { timeout: 5000 }),
                );
              },
            )),
      );
    },
  },
  {
    id: "tell.nats.small",
    group: "nats",
    unit: "msg/s",
    figures: {
      "tell.nats.small": { baseline: "baseline.nats.pub.small", target: 0.8 },
      "tell.nats.small.vs-hop": { baseline: "baseline.nats.hop.pub.small", target: 0.8 },
    },
    prepare,
    run({ quick, signal }) {
      const { total, warmup } = counts(quick);
      return withServer(
        signal,
        (server) =>
          troupePair(server.url, async (system, serving, asking) => {
            await serving.expose("sink", await system.spawn<typeof sink>(SINK));
            const remote = asking.lookup<typeof sink>("sink");
            let told = 0;
            const rate = await stream(
              total,
              warmup,
              signal,
              (i) => {
                told++;
                return remote.tell("take", smallMessage(i));
              },
              () => remote.ask("count", undefined, { timeout: 5000 }),
            );
            const handled = await remote.ask("count", undefined, { timeout: 5000 });
            if (handled !== told) {
              throw new Error(`Cannot trust the run: the sink took ${handled} of ${told} tells`);
            }
            return { "tell.nats.small": rate, "tell.nats.small.vs-hop": rate };
          }),
      );
    },
  },
  {
    id: "baseline.jetstream.pub",
    group: "baseline",
    unit: "msg/s",
    prepare,
    run({ quick, signal }) {
      const { total, warmup } = durableCounts(quick);
      return withServer(signal, (server) =>
        rawPair(server.url, async (a, b) => {
          const jsm = await jetstreamManager(a);
          await jsm.streams.add({
            name: "BENCH",
            subjects: ["bench.durable"],
            retention: RetentionPolicy.Workqueue,
            storage: StorageType.File,
          });
          await jsm.consumers.add("BENCH", {
            durable_name: "bench",
            ack_policy: AckPolicy.Explicit,
          });
          const consumer = await jetstream(b).consumers.get("BENCH", "bench");
          let acked = 0;
          const messages = await consumer.consume({
            max_messages: WINDOW,
            callback: (m) => {
              m.ack();
              acked++;
            },
          });
          const js = jetstream(a);
          try {
            return await windowed(
              total,
              warmup,
              signal,
              (i) =>
                js.publish("bench.durable", encode(smallMessage(i)), {
                  msgID: `m-${i}`,
                  timeout: 5000,
                }),
              (n) => reach(n, () => acked, signal),
            );
          } finally {
            await messages.close();
          }
        }));
    },
  },
  {
    id: "tell.nats.durable",
    group: "nats",
    unit: "msg/s",
    baseline: "baseline.jetstream.pub",
    target: 0.8,
    prepare,
    run({ quick, signal }) {
      const { total, warmup } = durableCounts(quick);
      return withServer(
        signal,
        (server) =>
          troupePair(server.url, async (system, serving, asking) => {
            await serving.expose("sink", await system.spawn<typeof sink>(SINK), {
              durable: { maxInflight: 64 },
            });
            const remote = asking.lookup<typeof sink>("sink");
            const durable = asking.lookupDurable<typeof sink>("sink");
            return await windowed(
              total,
              warmup,
              signal,
              (i) => durable.tell("take", smallMessage(i), { id: `m-${i}` }),
              (n) => reach(n, () => remote.ask("count", undefined, { timeout: 5000 }), signal),
            );
          }),
      );
    },
  },
];
