/**
 * `troupe bench`: runs the benchmark suite (`bench/main.ts` of a Troupe
 * checkout) and prints its table, with a progress line while it runs.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { EXIT, parse, UsageError, writeErr, writeOut } from "./_args.ts";

/** The help text of `troupe bench`. */
export const BENCH_HELP = `Usage: troupe bench [options]

Runs the benchmark suite: the raw baselines (postMessage, Atomics, memcpy, stdio, Unix sockets,
Python multiprocessing, piscina) and Troupe's own figures, each compared with its baseline measured
in the same run. A progress line shows the case running (rewritten in place on a terminal); the
table goes to stdout at the end. See bench/README.md.

Options:
  --quick           shorten every case so the whole suite runs in well under a minute
  --filter REGEX    run only cases whose id or figure ids match REGEX (plus their baselines)
  --json FILE       also write the results as JSON to FILE
  --runs N          runs per case (at least 3; default 3 with --quick, else 5)
  --list            list the case and figure ids and exit
  -h, --help        show this help

The suite is part of a Troupe checkout, not of the published package.

Exit codes: 0 every case ran (a missed target does not fail the run), 1 a case failed or timed
out, 2 usage error, 130 interrupted by Ctrl-C.
`;

/**
 * Runs `troupe bench` with the arguments after `bench`: checks them, then
 * runs the suite in a child `deno run` whose output goes straight to ours.
 *
 * @param args The command line after `bench`.
 * @returns The exit code.
 * @throws {UsageError} When the command line is wrong.
 */
export async function benchCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse("bench", args, {
    quick: { type: "boolean" },
    filter: { type: "string" },
    json: { type: "string" },
    runs: { type: "string" },
    list: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    writeOut(BENCH_HELP);
    return EXIT.ok;
  }
  if (positionals.length > 0) {
    throw new UsageError("bench", `unexpected argument '${positionals[0]}'`);
  }
  if (values.runs !== undefined) {
    const runs = Number(values.runs);
    if (!Number.isInteger(runs) || runs < 3) {
      throw new UsageError(
        "bench",
        `option '--runs' must be an integer of at least 3, received '${values.runs}'`,
      );
    }
  }
  if (values.filter !== undefined) {
    try {
      new RegExp(values.filter);
    } catch (error) {
      throw new UsageError(
        "bench",
        `option '--filter' is not a valid regular expression: ${(error as Error).message}`,
      );
    }
  }
  const suite = new URL("../bench/main.ts", import.meta.url);
  if (suite.protocol !== "file:" || !(await exists(suite))) {
    writeErr(
      "troupe bench: the benchmark suite is not here: it is part of a Troupe checkout (bench/main.ts), not of the published package\n",
    );
    return EXIT.failed;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", fileURLToPath(suite), ...args],
    cwd: fileURLToPath(new URL("..", suite)),
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  // Ctrl-C reaches the whole process group, the suite included: wait for it to end.
  // A SIGTERM sent to this process alone is passed on.
  const onInterrupt = () => {};
  const onTerminate = () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // It has ended.
    }
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  Deno.addSignalListener("SIGTERM", onTerminate);
  try {
    const status = await child.status;
    if (status.signal === "SIGINT") return EXIT.interrupted;
    if (status.signal !== null) return 128 + (status.signal === "SIGTERM" ? 15 : 9);
    return status.code;
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    Deno.removeSignalListener("SIGTERM", onTerminate);
  }
}

async function exists(url: URL): Promise<boolean> {
  try {
    return (await Deno.stat(url)).isFile;
  } catch {
    return false;
  }
}
