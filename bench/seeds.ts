/**
 * The seed workloads at scale (issue 20, "how cost grows with work"): the scenarios of the Python
 * `multiprocessing` articles Troupe grew from, written with Troupe's idioms (`examples/`), each
 * compared in the same run with the articles' Python code (`baselines/seeds_python.ts`).
 *
 * - `seed.counter.adds` (adds/s, shown as msg/s): 4 worker actors each do 250,000 atomic
 *   `add(1)` on one `SharedValue.of("i32", 0)` (examples 07 and 08); the value must end at
 *   exactly 1,000,000. A tenth with `--quick`.
 * - `seed.queue.items` (items/s, shown as tasks/s): 100,000 numbers put into one
 *   `system.queue()` and taken by 4 worker actors with `for await` until `close()`, the one
 *   sentinel that ends every consumer (example 04); counts and sums must show every item
 *   handled exactly once.
 * - `seed.pipe.msgs` (msg/s): 100,000 small objects sent one at a time on the parent's end of a
 *   duplex `Pipe()`, a worker actor holding the other end echoing each (example 01); each echo is
 *   awaited before the next send. Each message is counted once each way: 2N / seconds.
 *
 * Each host and transport is the default (worker actors over `queue`). Python's side runs
 * processes, so a full run also measures the queue and the pipe with process actors (their
 * default transport, `pipe`), as `seed.queue.process.items` and `seed.pipe.process.msgs`; `--quick`
 * skips those two with a note. The counter has no process variant: processes share no memory.
 * Timing starts once every
 * actor is up and stops when the work is done and checked, as on the Python side. A run whose
 * check fails is an error, not a figure.
 *
 * @module
 */

import { type ActorSystem, type HostKind, Pipe, SharedValue } from "../mod.ts";
import type { BenchCase } from "./_harness.ts";
import type { seedAdder } from "./actors/seed_adder.ts";
import type { Handled, seedConsumer } from "./actors/seed_consumer.ts";
import type { seedEcho } from "./actors/seed_echo.ts";
import { bounded, OP_ECHO, smallMessage } from "./baselines/_util.ts";
import {
  SEED_WORKERS,
  SEED_WORKLOADS,
  seedPythonCases,
  type SeedWorkload,
} from "./baselines/seeds_python.ts";
import { seconds, withSystem } from "./troupe.ts";

const ADDER = new URL("./actors/seed_adder.ts", import.meta.url);
const CONSUMER = new URL("./actors/seed_consumer.ts", import.meta.url);
const ECHO = new URL("./actors/seed_echo.ts", import.meta.url);

/** Bound on any one wait of a seed run: generous, so a hang fails instead of stalling. */
const WAIT_MS = 60_000;

/** Adds/s of `n` atomic adds to one shared counter from {@linkcode SEED_WORKERS} actors. */
async function counterRate(system: ActorSystem, n: number, signal: AbortSignal): Promise<number> {
  const counter = SharedValue.of("i32", 0); // Value('i', 0)
  const writers = await Promise.all(
    Array.from(
      { length: SEED_WORKERS },
      () => system.spawn<typeof seedAdder>(ADDER, { args: counter.share(), signal }),
    ),
  );
  const start = performance.now();
  await bounded(
    Promise.all(writers.map((writer) => writer.ask("add", n / SEED_WORKERS))),
    "add to the counter",
    WAIT_MS,
    signal,
  );
  const elapsed = seconds(start);
  const value = counter.load();
  if (value !== n) throw new Error(`Cannot trust run: the counter ended at ${value}, not ${n}`);
  return n / elapsed;
}

/** Items/s of `n` numbers through one queue to {@linkcode SEED_WORKERS} consuming actors. */
async function queueRate(
  system: ActorSystem,
  n: number,
  signal: AbortSignal,
  host: HostKind,
): Promise<number> {
  const items = system.queue<number>("items");
  const consumers = await Promise.all(
    Array.from(
      { length: SEED_WORKERS },
      () => system.spawn<typeof seedConsumer>(CONSUMER, { host, signal }),
    ),
  );
  const start = performance.now();
  const handled = Promise.all(consumers.map((consumer) => consumer.ask("consume", "items")));
  handled.catch(() => {}); // awaited below; a put that fails first must not leave it unhandled
  for (let i = 0; i < n; i++) await items.put(i, { signal }); // waits while the queue is full
  items.close(); // the sentinel: every consumer ends after the last item
  const results: Handled[] = await bounded(handled, "consume the queue", WAIT_MS, signal);
  const elapsed = seconds(start);
  const count = results.reduce((total, r) => total + r.count, 0);
  const sum = results.reduce((total, r) => total + r.sum, 0);
  if (count !== n || sum !== n * (n - 1) / 2) {
    throw new Error(
      `Cannot trust run: ${count} items summing to ${sum} handled, not ${n} and ${n * (n - 1) / 2}`,
    );
  }
  return n / elapsed;
}

/** Messages/s, each counted once each way, of `n` echoed round trips over a duplex pipe. */
async function pipeRate(
  system: ActorSystem,
  n: number,
  signal: AbortSignal,
  host: HostKind,
): Promise<number> {
  const [mine, theirs] = Pipe(); // multiprocessing.Pipe()
  await using parent = mine;
  await system.spawn<typeof seedEcho>(ECHO, { args: theirs, host, signal });
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const message = smallMessage(i, OP_ECHO);
    await parent.send(message);
    const echoed = await parent.recv({ timeout: WAIT_MS, signal }) as typeof message;
    if (echoed.id !== message.id || echoed.op !== message.op || echoed.n !== message.n) {
      throw new Error(`Cannot trust run: echo ${i} came back as ${JSON.stringify(echoed)}`);
    }
  }
  return 2 * n / seconds(start);
}

type Rate = (s: ActorSystem, n: number, a: AbortSignal, host: HostKind) => Promise<number>;

const RATES: Readonly<Record<SeedWorkload["kind"], Rate>> = {
  counter: counterRate,
  queue: queueRate,
  pipe: pipeRate,
};

/** `seed.<figure>` on worker actors, or `seed.<workload>.process.<unit>` on process actors. */
function seedCase(workload: SeedWorkload, host: HostKind): BenchCase {
  const [name, unit] = workload.figure.split(".");
  return {
    id: host === "worker" ? `seed.${workload.figure}` : `seed.${name}.process.${unit}`,
    group: "seed",
    unit: workload.unit,
    baseline: `baseline.python.seed.${workload.figure}`,
    target: 1,
    prepare: ({ quick }) =>
      Promise.resolve(
        quick && host !== "worker" ? "a full-run figure (--quick runs worker actors)" : undefined,
      ),
    async run({ quick, signal }) {
      const n = quick ? workload.quick : workload.full;
      return await withSystem(signal, (system) => RATES[workload.kind](system, n, signal, host));
    },
  };
}

/** The seed workloads: the Python originals, then Troupe's side, each against its original. */
export const seedCases: BenchCase[] = [
  ...seedPythonCases,
  ...SEED_WORKLOADS.map((workload) => seedCase(workload, "worker")),
  ...SEED_WORKLOADS.filter((workload) => workload.kind !== "counter")
    .map((workload) => seedCase(workload, "process")),
];
