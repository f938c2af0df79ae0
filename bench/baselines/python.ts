/**
 * Python `multiprocessing.Queue` and `Pipe` baselines, for comparison: one-way throughput of a
 * small dict with batched acks, and round trips. The Python script measures itself and prints
 * JSON. Skipped when `python3` is not on PATH.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { BenchCase, BenchRunOptions } from "../_harness.ts";
import { hasCommand, runCommand } from "./_util.ts";

const SCRIPT = fileURLToPath(new URL("./_python_mp.py", import.meta.url));

interface PythonResult {
  small: number;
  rtt_p50: number;
  rtt_p99: number;
}

async function prepare(): Promise<string | undefined> {
  return await hasCommand("python3") ? undefined : "python3 is not on PATH";
}

function pythonCase(kind: "queue" | "pipe"): BenchCase {
  const prefix = `baseline.python.${kind}`;
  return {
    id: prefix,
    group: "baseline",
    unit: "msg/s",
    figures: { [`${prefix}.small`]: {}, [`${prefix}.rtt.p50`]: { unit: "us" } },
    prepare,
    async run({ quick, signal }: BenchRunOptions) {
      const counts = quick ? [50_000, 10_000, 1_000, 200] : [300_000, 30_000, 10_000, 1_000];
      const output = await runCommand("python3", [SCRIPT, kind, ...counts.map(String)], signal);
      const result = JSON.parse(output) as PythonResult;
      return { [`${prefix}.small`]: result.small, [`${prefix}.rtt.p50`]: result.rtt_p50 };
    },
  };
}

/** Python multiprocessing baselines. */
export const pythonCases: BenchCase[] = [pythonCase("queue"), pythonCase("pipe")];
