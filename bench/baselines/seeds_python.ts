/**
 * The seed workloads in Python (issue 20, "how cost grows with work"), the baselines of
 * `bench/seeds.ts`: the articles' `multiprocessing` code at scale, in `_python_seeds.py`, which
 * times itself (start-up of the interpreter and of its processes excluded) and checks its result.
 * Skipped when `python3` is not on PATH.
 *
 * - `baseline.python.seed.counter.adds` (msg/s, here adds/s): 4 processes, each doing
 *   `with v.get_lock(): v.value += 1` on one `Value('i', 0)`, 1,000,000 in all (100,000 with
 *   `--quick`); the value must end exact.
 * - `baseline.python.seed.queue.items` (tasks/s, here items/s): 100,000 ints (10,000) through one
 *   `Queue` to 4 consumer processes, one `None` sentinel per worker; count and sum checked.
 * - `baseline.python.seed.pipe.msgs` (msg/s): 100,000 small dicts (10,000) each way over a duplex
 *   `Pipe()`, a child echoing each; each message counted once each way (2N / s).
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { BenchCase, BenchUnit } from "../_harness.ts";
import { hasCommand, runCommand } from "./_util.ts";

const SCRIPT = fileURLToPath(new URL("./_python_seeds.py", import.meta.url));

/** A seed workload: its figure suffix, unit, and how much work a full and a quick run do. */
export interface SeedWorkload {
  /** `counter.adds`, `queue.items` or `pipe.msgs`. */
  readonly figure: string;
  /** The argument of `_python_seeds.py`. */
  readonly kind: "counter" | "queue" | "pipe";
  readonly unit: BenchUnit;
  /** Adds, items or messages each way in a full run. */
  readonly full: number;
  /** The same with `--quick` (a tenth). */
  readonly quick: number;
}

/** The three seed workloads, shared by the Python and the Troupe side so they do the same work. */
export const SEED_WORKLOADS: readonly SeedWorkload[] = [
  { figure: "counter.adds", kind: "counter", unit: "msg/s", full: 1_000_000, quick: 100_000 },
  { figure: "queue.items", kind: "queue", unit: "tasks/s", full: 100_000, quick: 10_000 },
  { figure: "pipe.msgs", kind: "pipe", unit: "msg/s", full: 100_000, quick: 5_000 },
];

/** The writers of the counter and the consumers of the queue, on both sides. */
export const SEED_WORKERS = 4;

async function prepare(): Promise<string | undefined> {
  return await hasCommand("python3") ? undefined : "python3 is not on PATH";
}

function seedCase(workload: SeedWorkload): BenchCase {
  return {
    id: `baseline.python.seed.${workload.figure}`,
    group: "seed",
    unit: workload.unit,
    prepare,
    async run({ quick, signal }) {
      const n = quick ? workload.quick : workload.full;
      const output = await runCommand("python3", [SCRIPT, workload.kind, String(n)], signal);
      return (JSON.parse(output) as { rate: number }).rate;
    },
  };
}

/** The Python originals of the seed workloads. */
export const seedPythonCases: BenchCase[] = SEED_WORKLOADS.map(seedCase);
