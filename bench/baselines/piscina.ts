/**
 * piscina (Node worker pool) baseline, for comparison: 2 threads, 256 trivial tasks in flight.
 * Needs `node` and `npm`; piscina 4 is installed at bench time into the git-ignored folder
 * `bench/.piscina/` and is not a dependency of the package. Skipped when node or npm is missing
 * or the install fails.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { BenchCase } from "../_harness.ts";
import { hasCommand, runCommand } from "./_util.ts";

const PREFIX = fileURLToPath(new URL("../.piscina/", import.meta.url));
const SCRIPT = fileURLToPath(new URL("./_piscina.mjs", import.meta.url));

async function installed(): Promise<boolean> {
  try {
    await Deno.stat(`${PREFIX}node_modules/piscina/package.json`);
    return true;
  } catch {
    return false;
  }
}

/** piscina baseline. */
export const piscinaCases: BenchCase[] = [
  {
    id: "baseline.piscina.tasks",
    group: "baseline",
    unit: "tasks/s",
    async prepare({ signal }) {
      if (!await hasCommand("node")) return "node is not on PATH";
      if (await installed()) return undefined;
      if (!await hasCommand("npm")) return "npm is not on PATH to install piscina";
      try {
        await runCommand("npm", [
          "install",
          "--prefix",
          PREFIX,
          "--no-audit",
          "--no-fund",
          "--loglevel=error",
          "piscina@4",
        ], signal);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return `cannot install piscina into ${PREFIX}: ${message}`;
      }
      return await installed() ? undefined : `piscina is missing from ${PREFIX} after install`;
    },
    async run({ quick, signal }) {
      const [total, warmup] = quick ? [10_000, 5_000] : [200_000, 20_000];
      const output = await runCommand(
        "node",
        [SCRIPT, PREFIX, String(total), String(warmup)],
        signal,
      );
      return (JSON.parse(output) as { tasks: number }).tasks;
    },
  },
];
