/**
 * poolifier-web-worker baseline (issue 20): a Deno worker pool, the pool peer of Troupe's pools
 * in the same runtime. 2 web workers, 256 trivial tasks in flight, like the piscina baseline.
 * poolifier-web-worker is installed at bench time, pinned to {@linkcode VERSION}, with `npm
 * install --prefix bench/.poolifier` into a git-ignored folder (not a dependency of the
 * package, and no entry in `deno.lock`); `_poolifier.ts` runs it in a fresh `deno run` process.
 * Skipped when npm is missing or the install fails.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { BenchCase } from "../_harness.ts";
import { hasCommand, runCommand } from "./_util.ts";

/** The pinned poolifier-web-worker version. */
export const VERSION = "0.5.15";
const PREFIX = fileURLToPath(new URL("../.poolifier/", import.meta.url));
const SCRIPT = fileURLToPath(new URL("./_poolifier.ts", import.meta.url));
const PACKAGE = `${PREFIX}node_modules/poolifier-web-worker/package.json`;

async function installedVersion(): Promise<string | undefined> {
  try {
    return (JSON.parse(await Deno.readTextFile(PACKAGE)) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** poolifier-web-worker baseline. */
export const poolifierCases: BenchCase[] = [
  {
    id: "baseline.poolifier.tasks",
    group: "baseline",
    unit: "tasks/s",
    async prepare({ signal }) {
      if (await installedVersion() === VERSION) return undefined;
      if (!await hasCommand("npm")) return "npm is not on PATH to install poolifier-web-worker";
      try {
        await runCommand("npm", [
          "install",
          "--prefix",
          PREFIX,
          "--no-audit",
          "--no-fund",
          "--no-save",
          "--loglevel=error",
          `poolifier-web-worker@${VERSION}`,
        ], signal);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return `cannot install poolifier-web-worker into ${PREFIX}: ${message}`;
      }
      const found = await installedVersion();
      return found === VERSION
        ? undefined
        : `poolifier-web-worker@${VERSION} is missing from ${PREFIX} after install`;
    },
    async run({ quick, signal }) {
      // poolifier runs ~15k tasks/s here: 5k or 60k tasks keep a run within a few seconds.
      const [total, warmup] = quick ? [5_000, 1_000] : [60_000, 10_000];
      const output = await runCommand(Deno.execPath(), [
        "run",
        "--quiet",
        "--no-lock",
        "--no-prompt",
        // poolifier reads ENVIRONMENT and the CPU count at import.
        `--allow-read=${fileURLToPath(new URL("../", import.meta.url))}`,
        "--allow-env",
        "--allow-sys",
        SCRIPT,
        String(total),
        String(warmup),
      ], signal);
      return (JSON.parse(output) as { tasks: number }).tasks;
    },
  },
];
