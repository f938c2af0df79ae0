/**
 * The soak (`deno task bench --soak 30m`): the demo service's pipeline (`examples/demo_app.ts`,
 * with its actor modules: a reader and an aggregator on worker hosts over the `queue` transport,
 * a pool of four parsers over `ring`) under a steady load for the whole run, with a parser
 * crashed on purpose at a fixed interval. Every sample interval it records this process's RSS
 * (plus its process actors'), open fds, threads (besides Tokio's blocking pool) and the ask p50/p99 of the window; at the end it
 * prints each figure against its target (`soak_report.ts`), and writes the samples with
 * `--json FILE` and a picture with `--plot FILE.svg`.
 *
 * Exit code: 0, or 1 when an error other than the injected crashes happened (or, with
 * `--soak-strict`, when a target was missed), 2 on a usage error. Linux only (it reads `/proc`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ActorSystem, SharedValue, type SupervisorSpec } from "../mod.ts";
import type { logAggregator } from "../examples/actors/log_aggregator.ts";
import type { logParser } from "../examples/actors/log_parser.ts";
import { type logReader, POISON_LINE } from "../examples/actors/log_reader.ts";
import { panelsSvg, type PlotPanel, type PlotPoint } from "./_plot.ts";
import {
  type AskTiming,
  formatSoakFigures,
  parseDuration,
  type SoakFigure,
  soakFigures,
  type SoakPlan,
  soakPlan,
  type SoakSample,
} from "./soak_report.ts";
import { anonBreakdown, mallocTrim } from "./_smaps.ts";

const ACTORS = new URL("../examples/actors/", import.meta.url);
/** Parsers in the pool, and the transport they are reached by (as in the demo). */
const PARSERS = 4;
const PARSER_TRANSPORT = "ring";
/** The steady load: this many batches a second, of this many lines. */
const BATCHES_PER_SECOND = 20;
const BATCH = 500;
/** Batches in flight at most; a tick that finds this many is counted as skipped. */
const MAX_INFLIGHT = PARSERS * 2;

/** The JSON document of a soak (`--json FILE`), in the shape of the bench's. */
export interface SoakJson {
  readonly deno: string;
  readonly mode: "soak";
  readonly results: Record<
    string,
    { value: number; unit: string; min: number; max: number; limit: number; pass: boolean }
  >;
  readonly soak: {
    readonly plan: SoakPlan;
    readonly crashes: number;
    readonly errors: number;
    readonly errorMessages: string[];
    readonly batches: number;
    readonly skipped: number;
    readonly lines: number;
    readonly deadLetters: number;
    readonly samples: SoakSample[];
  };
}

/** What a soak ends with. */
export interface SoakResult {
  json: SoakJson;
  figures: SoakFigure[];
}

// The probes read /proc synchronously: an async read runs on one of Tokio's blocking threads,
// which the probe would then count among the threads it measures.

function statusMiB(pid: number | "self", field: string): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
    return kb === null ? 0 : Number(kb[1]) / 1024;
  } catch {
    return 0; // The process ended between the listing and the read.
  }
}

const vmRssMiB = (pid: number | "self") => statusMiB(pid, "VmRSS");
const rssAnonMiB = () => statusMiB("self", "RssAnon");

function count(dir: string): number {
  let n = 0;
  for (const _ of Deno.readDirSync(dir)) n++;
  return n;
}

/**
 * This process's threads, and how many of them are Tokio's (`tokio-runtime-w`): Deno's blocking
 * pool for file system calls grows on demand and lets a thread go after 10 s idle, so their
 * number moves with the I/O of the moment; the others are the main thread, V8's platform
 * threads and one `worker-N` per live Worker.
 */
function threads(): { all: number; tokio: number } {
  let all = 0;
  let tokio = 0;
  for (const task of Deno.readDirSync("/proc/self/task")) {
    all++;
    try {
      if (Deno.readTextFileSync(`/proc/self/task/${task.name}/comm`).startsWith("tokio-")) tokio++;
    } catch {
      // The thread ended while we looked.
    }
  }
  return { all, tokio };
}

/** The pids of every descendant process of `pid` (process actors and whatever they started). */
function descendants(pid: number | "self"): number[] {
  const out: number[] = [];
  try {
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      let text = "";
      try {
        text = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/children`);
      } catch {
        // The thread ended while we looked.
      }
      for (const child of text.split(" ").filter(Boolean).map(Number)) {
        out.push(child, ...descendants(child));
      }
    }
  } catch {
    // The process ended while we looked.
  }
  return out;
}

function load1(): number {
  return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
}

function sorted(values: number[]): number[] {
  return values.sort((a, b) => a - b);
}

function rank(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  return values[Math.min(values.length - 1, Math.max(0, Math.ceil(p / 100 * values.length) - 1))];
}

/**
 * Runs the demo pipeline under steady load for `plan.durationMs`, injecting a crash every
 * `plan.crashEveryMs`, and returns the samples and figures.
 */
export async function runSoak(
  plan: SoakPlan,
  log: (line: string) => void,
  options: { trim?: boolean } = {},
): Promise<SoakResult> {
  const errorMessages: string[] = [];
  let errors = 0;
  const fail = (what: string, error: unknown) => {
    errors++;
    if (errorMessages.length < 20) {
      errorMessages.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const done = SharedValue.of("i32", 0);
  const crashedOnce = SharedValue.of("i32", 1);
  const system = await ActorSystem.start({ onDeadLetter: () => {} });
  const samples: SoakSample[] = [];
  // Every ask's time and latency, in arrays allocated and touched before the first sample, so
  // the bookkeeping does not show up as a growing RSS.
  const capacity = Math.ceil(plan.durationMs / 1000 * BATCHES_PER_SECOND * 1.1) + 1024;
  const askT = new Float64Array(capacity).fill(0);
  const askMs = new Float64Array(capacity).fill(0);
  let askCount = 0;
  let window: number[] = [];
  let crashes = 0;
  let batches = 0;
  let skipped = 0;
  let linesSent = 0;
  let aggregated = 0;
  const spec: SupervisorSpec = {
    id: "pipeline",
    children: [
      {
        id: "reader",
        module: new URL("log_reader.ts", ACTORS),
        // As good as endless: the reader's own poisoned line (at 40%) is never reached.
        args: { lines: 2 ** 31 - 1 },
      },
      {
        id: "aggregator",
        module: new URL("log_aggregator.ts", ACTORS),
        args: { done: done.share() },
      },
    ],
  };
  const inflight = new Set<Promise<void>>();
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  try {
    system.semaphore("output", 1);
    const root = await system.supervise(spec);
    const parsers = await system.pool<typeof logParser>(new URL("log_parser.ts", ACTORS), {
      id: "parser",
      size: PARSERS,
      transport: PARSER_TRANSPORT,
      // The parsers append their server errors here: the write path runs, the disk stays empty.
      args: { output: "/dev/null", crashedOnce: crashedOnce.share() },
    });
    const reader = root.ref<typeof logReader>("reader");
    const aggregator = root.ref<typeof logAggregator>("aggregator");
    const parse = (lines: string[]) => {
      const t0 = performance.now();
      const task: Promise<void> = parsers.ask("parse", lines)
        .then((summary) => {
          const ms = performance.now() - t0;
          window.push(ms);
          if (askCount < capacity) {
            askT[askCount] = seconds();
            askMs[askCount++] = ms;
          }
          aggregated += summary.lines;
          return aggregator.tell("add", summary);
        })
        .catch((error) => fail("parse", error))
        .finally(() => inflight.delete(task));
      inflight.add(task);
    };
    const batch = async () => {
      if (inflight.size >= MAX_INFLIGHT) {
        skipped++;
        return;
      }
      batches++;
      try {
        const lines = await reader.ask("next", BATCH);
        linesSent += lines.length;
        parse(lines);
      } catch (error) {
        fail("next", error);
      }
    };
    // The injected crash: the demo's own, a poisoned line. The parser that reads it crashes,
    // its supervisor restarts it and the pool retries the batch on another parser.
    const crash = () => {
      crashes++;
      crashedOnce.store(0);
      linesSent += 1;
      parse([POISON_LINE]);
    };
    const sample = () => {
      const lat = sorted(window);
      window = [];
      let childRss = 0;
      for (const pid of descendants("self")) childRss += vmRssMiB(pid);
      const { all, tokio } = threads();
      let trimmed = "";
      if (options.trim) {
        const before = vmRssMiB("self");
        if (mallocTrim()) trimmed = ` trim=-${(before - vmRssMiB("self")).toFixed(1)} MiB`;
      }
      const kinds = anonBreakdown();
      const s: SoakSample = {
        t: Number(seconds().toFixed(2)),
        rssMiB: vmRssMiB("self"),
        heapMiB: Deno.memoryUsage().heapUsed / 2 ** 20,
        childRssMiB: childRss,
        workersHeapMiB: system.actors().reduce((sum, a) => sum + (a.heapUsed ?? 0), 0) / 2 ** 20,
        anonMiB: rssAnonMiB(),
        heapTotalMiB: Deno.memoryUsage().heapTotal / 2 ** 20,
        anonKinds: {
          brk: kinds.brkMiB,
          arenas: kinds.arenasMiB,
          v8Pages: kinds.v8PagesMiB,
          other: kinds.otherAnonMiB,
        },
        fds: count("/proc/self/fd"),
        threads: all - tokio,
        tokioThreads: tokio,
        p50Ms: rank(lat, 50),
        p99Ms: rank(lat, 99),
        asks: lat.length,
        crashes,
        errors,
        load1: load1(),
      };
      samples.push(s);
      const anonText = `brk ${kinds.brkMiB} arenas ${kinds.arenasMiB}/${kinds.arenas} ` +
        `v8 ${kinds.v8PagesMiB} other ${kinds.otherAnonMiB}`;
      log(
        `t=${s.t.toFixed(0)}s rss=${s.rssMiB.toFixed(1)}+${s.childRssMiB.toFixed(1)} MiB ` +
          `heap=${s.heapMiB.toFixed(1)}+${s.workersHeapMiB!.toFixed(1)} MiB anon=${
            s.anonMiB!.toFixed(1)
          } MiB (${anonText})${trimmed} ` +
          `fds=${s.fds} threads=${s.threads}+${s.tokioThreads} p50=${s.p50Ms.toFixed(2)} ms ` +
          `p99=${s.p99Ms.toFixed(2)} ms asks=${s.asks} crashes=${crashes} errors=${errors} ` +
          `load=${s.load1}`,
      );
    };
    // One clock for everything: each tick is due at a fixed time from the start.
    const period = 1000 / BATCHES_PER_SECOND;
    let nextSample = plan.sampleMs;
    let nextCrash = plan.crashEveryMs;
    for (let tick = 1;; tick++) {
      const due = tick * period;
      if (due > plan.durationMs) break;
      const wait = due - (performance.now() - started);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (due >= nextCrash) {
        nextCrash += plan.crashEveryMs;
        crash();
      }
      await batch();
      if (due >= nextSample) {
        nextSample += plan.sampleMs;
        sample();
      }
    }
    await Promise.all(inflight);
    const report = await aggregator.ask("report");
    if (report.lines !== aggregated || aggregated !== linesSent) {
      fail(
        "count",
        `lines sent ${linesSent}, parsed ${aggregated}, aggregated ${report.lines}`,
      );
    }
    // A crash injected near the end: the pool retried its batch (done above) before the
    // system reported the parser's exit. Its event comes within moments.
    const reported = performance.now() + 5_000;
    while ((system.stats().events["crashed"] ?? 0) < crashes && performance.now() < reported) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const stats = system.stats();
    const crashed = stats.events["crashed"] ?? 0;
    if (crashed !== crashes) {
      fail("crashes", `${crashes} injected, ${crashed} crash events`);
    }
    if ((stats.events["gave-up"] ?? 0) > 0) fail("supervision", "a supervisor gave up");
    const poolStats = parsers.stats();
    if (poolStats.failed > 0) fail("pool", `${poolStats.failed} pool tasks failed`);
    const deadLetters = stats.deadLetters;
    const asks: AskTiming[] = Array.from(
      { length: askCount },
      (_, i) => ({ t: askT[i], ms: askMs[i] }),
    );
    const figures = soakFigures(samples, asks, plan.warmupMs / 1000, errors);
    const results: SoakJson["results"] = {};
    for (const f of figures) {
      results[f.id] = {
        value: f.value,
        unit: f.unit,
        min: f.value,
        max: f.value,
        limit: f.limit,
        pass: f.pass,
      };
    }
    const json: SoakJson = {
      deno: Deno.version.deno,
      mode: "soak",
      results,
      soak: {
        plan,
        crashes,
        errors,
        errorMessages,
        batches,
        skipped,
        lines: report.lines,
        deadLetters,
        samples,
      },
    };
    return { json, figures };
  } finally {
    await Promise.allSettled(inflight);
    const result = await system.shutdown({ timeout: 5_000 });
    if (result.terminated.length > 0) {
      console.error(`soak: terminated at shutdown: ${result.terminated.join(", ")}`);
    }
  }
}

/** The soak's picture: RSS, fds, threads and ask latency over time, one panel each. */
export function soakSvg(json: SoakJson, caption: string): string {
  const samples = json.soak.samples;
  const minutes = json.soak.plan.durationMs >= 10 * 60_000;
  // The last sample may come a moment after the end.
  const end = json.soak.plan.durationMs / 1000;
  const x = (s: SoakSample) => Math.min(s.t, end) / (minutes ? 60 : 1);
  // No crash (`--soak-crash-every off`): Infinity, which JSON writes as null.
  const every = json.soak.plan.crashEveryMs;
  const xLabel = `time (${minutes ? "minutes" : "seconds"}); ${
    every > 0 && Number.isFinite(every) ? `crash every ${every / 1000} s` : "no crash injected"
  }`;
  const points = (f: (s: SoakSample) => number): PlotPoint[] =>
    samples.map((s) => ({ x: x(s), value: f(s), min: f(s), max: f(s) }));
  const panel = (
    title: string,
    unit: string,
    series: [string, (s: SoakSample) => number][],
  ): PlotPanel => ({
    title,
    unit,
    xLabel,
    xScale: "linear",
    series: new Map(series.map(([name, f]) => [name, points(f)])),
  });
  const hasChildren = samples.some((s) => s.childRssMiB > 0);
  // Files of an earlier version of the soak lack the heap and the Tokio threads.
  const has = (key: keyof SoakSample) => samples.every((s) => typeof s[key] === "number");
  return panelsSvg([
    panel("resident memory", "MiB", [
      ["process", (s) => s.rssMiB],
      ...has("anonMiB") ? [["anonymous", (s: SoakSample) => s.anonMiB ?? 0] as const] : [],
      ...has("heapMiB") ? [["main heap", (s: SoakSample) => s.heapMiB] as const] : [],
      ...has("workersHeapMiB")
        ? [["workers' heaps", (s: SoakSample) => s.workersHeapMiB ?? 0] as const]
        : [],
      ...hasChildren ? [["children", (s: SoakSample) => s.childRssMiB] as const] : [],
    ] as [string, (s: SoakSample) => number][]),
    panel("ask latency per window", "ms", [["p50", (s) => s.p50Ms], ["p99", (s) => s.p99Ms]]),
    panel("open file descriptors", "count", [["fds", (s) => s.fds]]),
    panel("threads", "count", [
      [has("tokioThreads") ? "runtime" : "all", (s) => s.threads],
      ...has("tokioThreads") ? [["tokio pool", (s: SoakSample) => s.tokioThreads] as const] : [],
    ] as [string, (s: SoakSample) => number][]),
  ], caption);
}

function soakCaption(json: SoakJson): string {
  const { soak } = json;
  const loads = soak.samples.map((s) => s.load1);
  return `soak, ${soak.plan.durationMs / 60_000} min, Deno ${json.deno}, ` +
    `${new Date().toISOString().slice(0, 10)}, load average ${Math.min(...loads)}-${
      Math.max(...loads)
    } on ${navigator.hardwareConcurrency} cores; ${soak.crashes} crashes, ${soak.errors} errors`;
}

const USAGE = `Usage: deno task bench --soak DURATION [options]

Runs the demo pipeline under steady load for DURATION (such as 30m, 1m or 90s), with a crash
injected every minute (every third of the run for runs under 3 minutes), and prints RSS slope,
fd and thread spread, p99 drift and errors against their targets.

Options:
  --soak-sample DURATION  sample interval (default 10s, or a twelfth of a short run)
  --soak-crash-every DURATION|off
                          crash interval (default as above); off injects none, to tell
                          the memory that restarts leave from that of the steady load
  --soak-strict           exit 1 when a target is missed (errors always do)
  --soak-trim             call glibc's malloc_trim(0) before each sample (FFI), and print what
                          it gave back: free memory malloc kept, not memory in use
  --json FILE             write the samples and figures as JSON to FILE
  --plot FILE.svg         draw the samples as an SVG picture to FILE.svg
  --soak-from FILE.json   with --plot: draw from a file --json wrote, without running
`;

/** Parses the soak's command line, runs it, prints the figures and returns the exit code. */
export async function soakMain(args: string[]): Promise<number> {
  let plan: SoakPlan;
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        soak: { type: "string" },
        "soak-sample": { type: "string" },
        "soak-crash-every": { type: "string" },
        "soak-strict": { type: "boolean", default: false },
        "soak-trim": { type: "boolean", default: false },
        "soak-from": { type: "string" },
        json: { type: "string" },
        plot: { type: "string" },
      },
    }));
    if (values["soak-from"] !== undefined && values.plot === undefined) {
      throw new TypeError("--soak-from needs --plot FILE.svg");
    }
    if (values.soak === undefined && values["soak-from"] === undefined) {
      throw new TypeError("--soak needs a duration, such as 30m");
    }
    const sampleMs = values["soak-sample"] === undefined
      ? undefined
      : parseDuration(values["soak-sample"]);
    plan = soakPlan(parseDuration(values.soak ?? "1s"), sampleMs);
    const crashEvery = values["soak-crash-every"];
    if (crashEvery !== undefined) {
      plan.crashEveryMs = crashEvery === "off" ? Infinity : parseDuration(crashEvery);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`error: ${message}\n\n${USAGE}`);
    return 2;
  }
  if (values["soak-from"] !== undefined && values.plot !== undefined) {
    const json = JSON.parse(await Deno.readTextFile(values["soak-from"])) as SoakJson;
    await Deno.writeTextFile(values.plot, soakSvg(json, soakCaption(json)));
    console.log(`note: wrote ${values.plot}`);
    return 0;
  }
  if (Deno.build.os !== "linux") {
    console.error("error: the soak reads /proc and runs on Linux only");
    return 2;
  }
  console.log(
    `soak: ${plan.durationMs / 1000} s, ${BATCHES_PER_SECOND} batches/s of ${BATCH} lines, ` +
      `crash every ${
        plan.crashEveryMs === Infinity ? "off" : `${plan.crashEveryMs / 1000} s`
      }, sample every ${plan.sampleMs / 1000} s, ` +
      `warm-up ${plan.warmupMs / 1000} s, load average ${load1()}`,
  );
  const { json, figures } = await runSoak(plan, (line) => console.log(line), {
    trim: values["soak-trim"],
  });
  const { soak } = json;
  console.log(
    `\n${formatSoakFigures(figures)}\n\nnote: ${soak.crashes} crashes injected, ` +
      `${soak.lines.toLocaleString("en-US")} lines in ${soak.batches} batches ` +
      `(${soak.skipped} ticks skipped, pipeline full), ${soak.deadLetters} dead letters`,
  );
  for (const message of soak.errorMessages) console.log(`error: ${message}`);
  if (values.json !== undefined) {
    await Deno.writeTextFile(values.json, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`note: wrote ${values.json}`);
  }
  if (values.plot !== undefined) {
    await Deno.writeTextFile(values.plot, soakSvg(json, soakCaption(json)));
    console.log(`note: wrote ${values.plot}`);
  }
  const missed = figures.filter((f) => !f.pass).length;
  if (missed > 0) console.log(`note: ${missed} figure(s) missed their target`);
  if (soak.errors > 0) return 1;
  return values["soak-strict"] && missed > 0 ? 1 : 0;
}
