/**
 * How cost grows with work (issue 20): the `scale.*` curves. Every point is its own figure id,
 * `scale.<curve>.<series>.<x>`, so runs compare over time and `--plot` can draw them:
 *
 * - `scale.tell.<host>.<n>` (msg/s): `await ref.tell("take", msg)` of the small message, spread
 *   round-robin over n actors, over a time budget, ended by one `ask("count")` per actor that
 *   proves every message was handled.
 * - `scale.ask.<host>.<n>` (us): the p50 of sequential `ask("echo", msg)` round trips, spread
 *   round-robin over the same n actors.
 * - `scale.spawn.<host>.<n>` (ms): n actors spawned at once to the last one's first reply, in a
 *   fresh process (`_scale_probe.ts`).
 * - `scale.rss.<host>.<n>` (MiB): resident memory per actor in that fresh process (for process
 *   actors, with each child's `VmRSS`).
 * - `scale.pool.<transport>.<size>` (tasks/s): `system.pool(...)` of size worker actors, 256
 *   trivial tasks in flight, like `pool.<transport>.worker.tasks`.
 *
 * Each host uses its default transport (queue for workers, pipe for processes). The points that
 * cost the most run only in a full run: in `--quick` they are skipped with a note, and the
 * smallest points run (see {@linkcode QUICK_POINTS}), which proves every curve's code.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { ActorRef, HostKind } from "../mod.ts";
import type { BenchCase } from "./_harness.ts";
import type { scaleActor } from "./actors/scale_actor.ts";
import { bounded, OP_ECHO, percentile, runCommand, smallMessage } from "./baselines/_util.ts";
import {
  type Budget,
  DEFAULT_TRANSPORT,
  FULL_BUDGET,
  poolRate,
  QUICK_BUDGET,
  seconds,
  withSystem,
} from "./troupe.ts";

const ACTOR = new URL("./actors/scale_actor.ts", import.meta.url);
/**
 * The systems of the load points: the heartbeat watchdog off, and 30 s to shut down, after which
 * an actor still stopping is terminated and noted on stderr instead of failing the run (its
 * figures were measured and checked before the shutdown). With 512
 * worker actors on 2 shared, loaded cores (512 spawns took 42 s), the watchdog declared live
 * actors dead, with the default 1 s heartbeat and with a 10 s one alike (a runtime finding of
 * issue 20); the curve measures cost, not that policy.
 */
const SYSTEM_OPTIONS = { heartbeatMs: 0, shutdownMs: 30_000, allowUnclean: true };
const PROBE = new URL("./_scale_probe.ts", import.meta.url);

/** The x values of each curve in a full run. */
export const FULL_POINTS = {
  load: { worker: [1, 8, 64, 512], process: [1, 8, 32] },
  spawn: { worker: [1, 10, 100], process: [1, 10, 100] },
  pool: { queue: [1, 2, 4, 8], ring: [1, 2, 4, 8] },
} as const;

/** The points that also run with `--quick` (the rest is skipped there, with a note). */
export const QUICK_POINTS: ReadonlySet<string> = new Set([
  "scale.load.worker.8",
  "scale.spawnrss.worker.10",
  "scale.pool.queue.2",
]);

function quickSkip(id: string): (options: { quick: boolean }) => Promise<string | undefined> {
  return ({ quick }) =>
    Promise.resolve(
      quick && !QUICK_POINTS.has(id) ? "a full-run point (--quick runs the smallest)" : undefined,
    );
}

/** Spawns `n` actors at once, in chunks so that 512 start-ups do not all race at once. */
async function spawnMany(
  spawn: () => Promise<ActorRef<typeof scaleActor>>,
  n: number,
): Promise<ActorRef<typeof scaleActor>[]> {
  const refs: ActorRef<typeof scaleActor>[] = [];
  const chunk = 16;
  for (let i = 0; i < n; i += chunk) {
    refs.push(...await Promise.all(Array.from({ length: Math.min(chunk, n - i) }, spawn)));
  }
  return refs;
}

/** msg/s of tells spread round-robin over `refs`, each phase ended by counting every actor. */
async function tellSpread(
  refs: readonly ActorRef<typeof scaleActor>[],
  budget: Budget,
  signal: AbortSignal,
): Promise<number> {
  let sent = 0;
  let counted = 0;
  const pump = async (ms: number): Promise<number> => {
    const from = sent;
    const deadline = performance.now() + ms;
    do {
      for (let i = 0; i < 64; i++) {
        await refs[sent % refs.length].tell("take", smallMessage(sent));
        sent++;
      }
      signal.throwIfAborted();
    } while (performance.now() < deadline);
    const counts = await bounded(
      Promise.all(refs.map((ref) => ref.ask("count"))),
      "count messages",
      60_000,
      signal,
    );
    counted = counts.reduce((sum, c) => sum + c, 0);
    if (counted !== sent) throw new Error(`Cannot trust run: sent ${sent}, handled ${counted}`);
    return sent - from;
  };
  await pump(budget.warmupMs);
  const start = performance.now();
  const count = await pump(budget.measureMs);
  return count / seconds(start);
}

/** p50 of sequential asks spread round-robin over `refs`, in microseconds. */
async function askSpread(
  refs: readonly ActorRef<typeof scaleActor>[],
  quick: boolean,
  signal: AbortSignal,
): Promise<number> {
  // Every actor is asked at least a few times in the warm-up, so none answers its first ask.
  const warmup = Math.max(quick ? 200 : 1_000, 4 * refs.length);
  const rounds = quick ? 300 : 5_000;
  const samples: number[] = [];
  for (let i = 0; i < warmup + rounds; i++) {
    const start = performance.now();
    await refs[i % refs.length].ask("echo", smallMessage(i, OP_ECHO));
    if (i >= warmup) samples.push((performance.now() - start) * 1000);
    if ((i & 255) === 0) signal.throwIfAborted();
  }
  samples.sort((a, b) => a - b);
  return percentile(samples, 50);
}

function loadCase(host: HostKind, n: number): BenchCase {
  const id = `scale.load.${host}.${n}`;
  const tellId = `scale.tell.${host}.${n}`;
  const askId = `scale.ask.${host}.${n}`;
  return {
    id,
    group: "scale",
    unit: "msg/s",
    figures: { [tellId]: { unit: "msg/s" }, [askId]: { unit: "us" } },
    prepare: quickSkip(id),
    async run({ quick, signal }) {
      return await withSystem(signal, async (system) => {
        const refs = await spawnMany(
          () =>
            system.spawn<typeof scaleActor>(ACTOR, {
              host,
              transport: DEFAULT_TRANSPORT[host],
              signal,
              timeout: 120_000,
            }),
          n,
        );
        const ask = await askSpread(refs, quick, signal);
        const tell = await tellSpread(refs, quick ? QUICK_BUDGET : FULL_BUDGET, signal);
        return { [tellId]: tell, [askId]: ask };
      }, SYSTEM_OPTIONS);
    },
  };
}

function spawnRssCase(host: HostKind, n: number): BenchCase {
  const id = `scale.spawnrss.${host}.${n}`;
  const spawnId = `scale.spawn.${host}.${n}`;
  const rssId = `scale.rss.${host}.${n}`;
  return {
    id,
    group: "scale",
    unit: "ms",
    figures: { [spawnId]: { unit: "ms" }, [rssId]: { unit: "MiB" } },
    prepare: quickSkip(id),
    async run({ signal }) {
      const output = await runCommand(Deno.execPath(), [
        "run",
        "--quiet",
        "--no-lock",
        // Like `deno task bench` itself: process actors need to run `deno`.
        "--allow-all",
        fileURLToPath(PROBE),
        host,
        String(n),
        "100",
      ], signal);
      const { spawnMs, perActorMiB } = JSON.parse(output) as {
        spawnMs: number;
        perActorMiB: number;
      };
      return { [spawnId]: spawnMs, [rssId]: perActorMiB };
    },
  };
}

function poolCase(transport: string, size: number): BenchCase {
  const id = `scale.pool.${transport}.${size}`;
  return {
    id,
    group: "scale",
    unit: "tasks/s",
    prepare: quickSkip(id),
    async run({ quick, signal }) {
      const budget = quick ? QUICK_BUDGET : FULL_BUDGET;
      return await withSystem(signal, async (system) => {
        return await poolRate(system, transport, size, budget, signal);
      });
    },
  };
}

/** The `scale.*` cases, one per point. */
export const scaleCases: BenchCase[] = [
  ...FULL_POINTS.load.worker.map((n) => loadCase("worker", n)),
  ...FULL_POINTS.load.process.map((n) => loadCase("process", n)),
  ...FULL_POINTS.spawn.worker.map((n) => spawnRssCase("worker", n)),
  ...FULL_POINTS.spawn.process.map((n) => spawnRssCase("process", n)),
  ...FULL_POINTS.pool.queue.map((n) => poolCase("queue", n)),
  ...FULL_POINTS.pool.ring.map((n) => poolCase("ring", n)),
];
