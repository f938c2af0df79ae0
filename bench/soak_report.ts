/**
 * The soak's arithmetic: parses durations, and turns a soak's samples into its figures, each
 * with its target and whether it met it (`bench/soak.ts` takes the samples). Pure functions, so
 * a test can feed them numbers.
 *
 * @module
 */

import { percentile } from "./baselines/_util.ts";

/** What the process looked like at one moment of a soak. */
export interface SoakSample {
  /** Seconds since the load started. */
  t: number;
  /** This process's `VmRSS` in MiB. */
  rssMiB: number;
  /** The main isolate's JavaScript heap in use (`Deno.memoryUsage().heapUsed`), in MiB. */
  heapMiB: number;
  /** The `VmRSS` of this process's descendant processes (process actors), in MiB. */
  childRssMiB: number;
  /** The worker actors' V8 heaps in use, summed (what each last reported), in MiB. */
  workersHeapMiB?: number;
  /** This process's anonymous resident memory (`RssAnon`: heaps, malloc; not code or files), in MiB. */
  anonMiB?: number;
  /** The main isolate's heap as committed (`Deno.memoryUsage().heapTotal`), in MiB. */
  heapTotalMiB?: number;
  /**
   * The anonymous memory by who holds it (`bench/_smaps.ts`): glibc's main arena (`brk`), its
   * thread arenas, V8's 256 KiB heap pages (every isolate's), the rest; in MiB.
   */
  anonKinds?: { brk: number; arenas: number; v8Pages: number; other: number };
  /** Open file descriptors (`/proc/self/fd`). */
  fds: number;
  /** Threads (`/proc/self/task`) other than Tokio's blocking pool (`tokio-runtime-w`). */
  threads: number;
  /** Tokio's threads, which come and go with file system calls. */
  tokioThreads: number;
  /** Ask p50 and p99 over the window since the previous sample, in ms (0 when none). */
  p50Ms: number;
  p99Ms: number;
  /** Asks completed in the window. */
  asks: number;
  /** Crashes injected and unexpected errors so far. */
  crashes: number;
  errors: number;
  /** The machine's 1-minute load average (`/proc/loadavg`). */
  load1: number;
}

/** One figure of a soak, with its target. */
export interface SoakFigure {
  readonly id: string;
  readonly label: string;
  readonly value: number;
  readonly unit: string;
  /** The target, as `value <= limit`. */
  readonly limit: number;
  readonly pass: boolean;
}

/** The targets of issue 17 (fds and threads: "flat", read as at most this much spread). */
export const SOAK_TARGETS = {
  rssSlopeMiBPer10Min: 1,
  fdSpread: 8,
  threadSpread: 4,
  p99DriftPercent: 20,
  errors: 0,
} as const;

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration such as `30m`, `1m`, `90s`, `500ms` or `1h` into milliseconds.
 *
 * @throws {RangeError} When `text` is not a positive number followed by a unit.
 */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  const ms = match === null ? NaN : Number(match[1]) * UNITS[match[2]];
  if (!(ms > 0)) {
    throw new RangeError(
      `Cannot parse the duration: expected a number and ms, s, m or h (such as 30m or 90s), ` +
        `received "${text}"`,
    );
  }
  return ms;
}

/** How a soak of `durationMs` is paced: crash interval, warm-up and sample interval. */
export interface SoakPlan {
  durationMs: number;
  sampleMs: number;
  crashEveryMs: number;
  warmupMs: number;
}

/**
 * Returns the plan of a soak: a crash every minute and a 2-minute warm-up for runs of 10
 * minutes or more; for shorter ones a crash every third of the run (at most every minute) and a
 * warm-up of the first 20%. Samples every 10 s, or twelve per run when that is less.
 */
export function soakPlan(durationMs: number, sampleMs?: number): SoakPlan {
  const long = durationMs >= 10 * 60_000;
  return {
    durationMs,
    sampleMs: sampleMs ?? Math.min(10_000, Math.max(1_000, Math.floor(durationMs / 12))),
    crashEveryMs: long ? 60_000 : Math.min(60_000, Math.floor(durationMs / 3)),
    warmupMs: long ? 120_000 : Math.floor(durationMs / 5),
  };
}

/** The least-squares slope of `ys` over `xs` (0 with fewer than two points). */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** One ask's latency, at the second it completed. */
export interface AskTiming {
  t: number;
  ms: number;
}

/**
 * The p99 drift: p99 of the asks in the last third of the span after warm-up against the
 * first third, in percent (positive: slower at the end). 0 when a third has no ask.
 */
export function p99Drift(asks: readonly AskTiming[], fromS: number, toS: number): {
  first: number;
  last: number;
  percent: number;
} {
  const third = (toS - fromS) / 3;
  const pick = (a: number, b: number) =>
    asks.filter((x) => x.t >= a && x.t < b).map((x) => x.ms).sort((x, y) => x - y);
  const head = pick(fromS, fromS + third);
  const tail = pick(toS - third, toS + 1);
  if (head.length === 0 || tail.length === 0) return { first: 0, last: 0, percent: 0 };
  const first = percentile(head, 99);
  const last = percentile(tail, 99);
  return { first, last, percent: first > 0 ? (last - first) / first * 100 : 0 };
}

/** Returns the soak's figures: every sample from `warmupS` on counts. */
export function soakFigures(
  samples: readonly SoakSample[],
  asks: readonly AskTiming[],
  warmupS: number,
  errors: number,
): SoakFigure[] {
  const after = samples.filter((s) => s.t >= warmupS);
  const spread = (f: (s: SoakSample) => number) =>
    after.length === 0 ? 0 : Math.max(...after.map(f)) - Math.min(...after.map(f));
  const perSecond = slope(after.map((s) => s.t), after.map((s) => s.rssMiB + s.childRssMiB));
  const end = samples.at(-1)?.t ?? warmupS;
  const drift = p99Drift(asks, warmupS, end);
  const figure = (
    id: string,
    label: string,
    value: number,
    unit: string,
    limit: number,
  ): SoakFigure => ({ id, label, value, unit, limit, pass: value <= limit });
  return [
    figure(
      "soak.rss.slope",
      "RSS slope (least squares, this process + process actors)",
      perSecond * 600,
      "MiB/10min",
      SOAK_TARGETS.rssSlopeMiBPer10Min,
    ),
    figure(
      "soak.fds.spread",
      "open fds, max - min",
      spread((s) => s.fds),
      "fds",
      SOAK_TARGETS.fdSpread,
    ),
    figure(
      "soak.threads.spread",
      "threads besides Tokio's pool, max - min",
      spread((s) => s.threads),
      "threads",
      SOAK_TARGETS.threadSpread,
    ),
    figure(
      "soak.p99.drift",
      `ask p99 drift, last third ${drift.last.toFixed(2)} ms vs first ${drift.first.toFixed(2)} ms`,
      drift.percent,
      "%",
      SOAK_TARGETS.p99DriftPercent,
    ),
    figure(
      "soak.errors",
      "errors other than the injected crashes",
      errors,
      "errors",
      SOAK_TARGETS.errors,
    ),
  ];
}

/** The table a soak prints: each figure, its target and PASS or MISS. */
export function formatSoakFigures(figures: readonly SoakFigure[]): string {
  const width = Math.max(...figures.map((f) => f.label.length));
  return figures.map((f) => {
    const value = Number.isInteger(f.value) ? `${f.value}` : f.value.toFixed(2);
    return `${f.label.padEnd(width)}  ${value.padStart(8)} ${f.unit.padEnd(9)} target <= ${
      String(f.limit).padEnd(3)
    } ${f.pass ? "PASS" : "MISS"}`;
  }).join("\n");
}
