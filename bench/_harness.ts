/**
 * A tiny benchmark harness: runs cases several times, reports median, min and max of every
 * figure, compares figures with baselines measured in the same run, and writes JSON.
 *
 * - Every case runs at least {@linkcode MIN_RUNS} times; each figure reports the median of its
 *   runs as its value, with the min and max beside it.
 * - The suite runs in rounds: every case once per round, in order. A figure's n-th run and its
 *   baseline's n-th run are therefore minutes apart at most, not the length of the suite.
 * - A case returns one number, or a record of several figures measured by one run (for example
 *   the p50 and the p99 of one ping-pong run). A case that returns a record declares its figure
 *   ids up front in `figures`, so filters, skips and the table know them before it runs.
 * - A figure that declares a `baseline` figure id and a `target` ratio is compared with that
 *   baseline as measured in the same run: its ratio is the median of the per-round ratios
 *   (each run divided by the baseline's run of the same round), so a fast or slow phase of the
 *   machine that spans a round moves both sides of a ratio together. For throughput units (higher is better) the target is
 *   the lowest acceptable ratio; for latency and memory units (lower is better) it is the highest.
 * - A failing or timed-out case is reported and makes the exit code 1; target misses are
 *   reported but do not change the exit code, because the machines are noisy.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { plotSvg } from "./_plot.ts";

/** The unit of a figure; it also decides whether higher or lower is better. */
export type BenchUnit = "msg/s" | "tasks/s" | "MB/s" | "us" | "ms" | "MiB" | "%";

/** What a case's `run` receives. */
export interface BenchRunOptions {
  /** Shorten the run so that the whole suite takes under a minute. */
  readonly quick: boolean;
  /** Aborted when the run exceeds its time limit; the case must then clean up and reject. */
  readonly signal: AbortSignal;
}

/** Per-figure settings of a case that measures several figures in one run. */
export interface BenchFigure {
  /** Unit of this figure; defaults to the case's unit. */
  readonly unit?: BenchUnit;
  /** Id of the figure this one is compared with (measured in the same run). */
  readonly baseline?: string;
  /** Target ratio of this figure to its baseline (see the module doc for its direction). */
  readonly target?: number;
  /**
   * An absolute target, in the figure's unit, for a figure that has no baseline to be a ratio
   * of (for example `cpu.ring.idle <= 1%`); same direction as `target`.
   */
  readonly limit?: number;
}

/** One benchmark case. */
export interface BenchCase {
  /** Case id; also the figure id when the case returns a single number. */
  readonly id: string;
  /** Group name, used to order and label the output. */
  readonly group: string;
  /** Unit of the case's figures unless a figure overrides it. */
  readonly unit: BenchUnit;
  /** Baseline figure id for a single-figure case. */
  readonly baseline?: string;
  /** Target ratio for a single-figure case. */
  readonly target?: number;
  /** Absolute target for a single-figure case (see {@linkcode BenchFigure.limit}). */
  readonly limit?: number;
  /** Figure ids (with optional settings) that `run` returns as a record. */
  readonly figures?: Readonly<Record<string, BenchFigure>>;
  /**
   * Called once before the runs; returns a reason to skip the case (a missing tool, for
   * example) or `undefined` to run it. Setup that must not be timed (installs) belongs here.
   */
  prepare?(options: BenchRunOptions): Promise<string | undefined>;
  /** Measures once and returns the figure, or a record of the declared figures. */
  run(options: BenchRunOptions): Promise<number | Record<string, number>>;
}

/** The measured result of one figure. */
export interface FigureResult {
  readonly id: string;
  readonly caseId: string;
  readonly group: string;
  readonly unit: BenchUnit;
  /** Median of the runs. */
  readonly value: number;
  readonly min: number;
  readonly max: number;
  /** Every run's figure, in run order. */
  readonly samples: readonly number[];
  readonly baseline?: string;
  readonly target?: number;
  readonly limit?: number;
}

/** A case that did not produce figures, with the reason. */
export interface CaseNote {
  readonly caseId: string;
  readonly figures: readonly string[];
  readonly reason: string;
}

/** Everything one suite run produced. */
export interface SuiteReport {
  readonly quick: boolean;
  readonly runs: number;
  readonly results: readonly FigureResult[];
  readonly skipped: readonly CaseNote[];
  readonly failed: readonly CaseNote[];
  /** Cases that were not selected by the filter but run because a selected figure needs them. */
  readonly addedBaselines: readonly string[];
  readonly elapsedMs: number;
  /** Wall time each case took, prepare and every round together, in ms. */
  readonly caseMs?: ReadonlyMap<string, number>;
}

/** Options of {@linkcode runSuite}. */
export interface SuiteOptions {
  readonly quick: boolean;
  /** Runs per case; at least {@linkcode MIN_RUNS}. */
  readonly runs?: number;
  /** Selects cases whose id or one of whose figure ids matches. */
  readonly filter?: RegExp;
  /** Time limit of one run in milliseconds. */
  readonly runTimeoutMs?: number;
  /** Where progress goes; defaults to stderr. */
  readonly progress?: Progress;
}

/** The smallest number of runs per case. */
export const MIN_RUNS = 3;

const HIGHER_IS_BETTER: Readonly<Record<BenchUnit, boolean>> = {
  "msg/s": true,
  "tasks/s": true,
  "MB/s": true,
  "us": false,
  "ms": false,
  "MiB": false,
  "%": false,
};

/** Returns whether a higher value of the unit is better. */
export function higherIsBetter(unit: BenchUnit): boolean {
  return HIGHER_IS_BETTER[unit];
}

/** A progress reporter: one line that says what is running. */
export interface Progress {
  update(line: string): void;
  done(): void;
}

function terminalWidth(): number {
  try {
    const { columns } = Deno.consoleSize();
    return columns >= 20 ? columns : 100;
  } catch {
    return 100;
  }
}

/** Progress on stderr: one overwritten line on a terminal, plain lines otherwise. */
export function stderrProgress(): Progress {
  const encoder = new TextEncoder();
  const tty = Deno.stderr.isTerminal();
  let dirty = false;
  function write(text: string): void {
    const bytes = encoder.encode(text);
    let offset = 0;
    while (offset < bytes.length) offset += Deno.stderr.writeSync(bytes.subarray(offset));
  }
  return {
    update(line: string): void {
      if (tty) {
        write(`\r\x1b[2K${line.slice(0, terminalWidth() - 1)}`);
        dirty = true;
      } else {
        write(`${line}\n`);
      }
    },
    done(): void {
      if (tty && dirty) write("\r\x1b[2K");
      dirty = false;
    },
  };
}

function figureIds(benchCase: BenchCase): string[] {
  return benchCase.figures === undefined ? [benchCase.id] : Object.keys(benchCase.figures);
}

interface ResolvedFigure {
  unit: BenchUnit;
  baseline?: string;
  target?: number;
  limit?: number;
}

function figureSettings(benchCase: BenchCase, id: string): ResolvedFigure {
  if (benchCase.figures === undefined) {
    return {
      unit: benchCase.unit,
      baseline: benchCase.baseline,
      target: benchCase.target,
      limit: benchCase.limit,
    };
  }
  const figure = benchCase.figures[id];
  return {
    unit: figure?.unit ?? benchCase.unit,
    baseline: figure?.baseline,
    target: figure?.target,
    limit: figure?.limit,
  };
}

/**
 * Checks a list of cases for duplicate ids, unknown baselines and bad targets.
 *
 * @throws {TypeError} when the list is inconsistent
 */
export function validateCases(cases: readonly BenchCase[]): void {
  const seen = new Set<string>();
  for (const benchCase of cases) {
    if (benchCase.figures !== undefined && Object.keys(benchCase.figures).length === 0) {
      throw new TypeError(`Cannot use bench case: "${benchCase.id}" declares no figures`);
    }
    if (
      benchCase.figures !== undefined &&
      (benchCase.baseline !== undefined || benchCase.target !== undefined ||
        benchCase.limit !== undefined)
    ) {
      throw new TypeError(
        `Cannot use bench case: "${benchCase.id}" declares figures, so baselines belong to them`,
      );
    }
    for (const id of new Set([benchCase.id, ...figureIds(benchCase)])) {
      if (seen.has(id)) throw new TypeError(`Cannot use bench case: duplicate id "${id}"`);
      seen.add(id);
    }
  }
  const figures = new Set(cases.flatMap(figureIds));
  for (const benchCase of cases) {
    for (const id of figureIds(benchCase)) {
      const { baseline, target, limit } = figureSettings(benchCase, id);
      if (limit !== undefined && !(limit > 0 && Number.isFinite(limit))) {
        throw new TypeError(
          `Cannot use bench case: "${id}" limit must be a positive number, received ${limit}`,
        );
      }
      if (baseline !== undefined && !figures.has(baseline)) {
        throw new TypeError(
          `Cannot use bench case: "${id}" compares with unknown figure "${baseline}"`,
        );
      }
      if ((baseline === undefined) !== (target === undefined)) {
        throw new TypeError(
          `Cannot use bench case: "${id}" needs both a baseline and a target, or neither`,
        );
      }
      if (target !== undefined && !(target > 0 && Number.isFinite(target))) {
        throw new TypeError(
          `Cannot use bench case: "${id}" target must be a positive number, received ${target}`,
        );
      }
    }
  }
}

/** Returns the cases that match the filter, plus the cases owning the baselines they need. */
export function selectCases(
  cases: readonly BenchCase[],
  filter: RegExp | undefined,
): { selected: BenchCase[]; added: string[] } {
  if (filter === undefined) return { selected: [...cases], added: [] };
  const owner = new Map<string, BenchCase>();
  for (const benchCase of cases) for (const id of figureIds(benchCase)) owner.set(id, benchCase);
  const chosen = new Set<BenchCase>(
    cases.filter((c) => filter.test(c.id) || figureIds(c).some((id) => filter.test(id))),
  );
  const added: string[] = [];
  for (const benchCase of [...chosen]) {
    for (const id of figureIds(benchCase)) {
      const { baseline } = figureSettings(benchCase, id);
      const needed = baseline === undefined ? undefined : owner.get(baseline);
      if (needed !== undefined && !chosen.has(needed)) {
        chosen.add(needed);
        added.push(needed.id);
      }
    }
  }
  return { selected: cases.filter((c) => chosen.has(c)), added };
}

/** Returns the median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (cause: ${error.cause.message})` : "";
    return `${error.name}: ${error.message}${cause}`;
  }
  return String(error);
}

async function runOnce<T>(
  caseId: string,
  quick: boolean,
  timeoutMs: number,
  fn: (options: BenchRunOptions) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const work = fn({ quick, signal: controller.signal });
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const reason = new DOMException(
        `Cannot finish bench case: "${caseId}" exceeded ${timeoutMs} ms`,
        "TimeoutError",
      );
      controller.abort(reason);
      reject(reason);
    }, timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } catch (error) {
    if (controller.signal.aborted) {
      // Give the case a moment to clean up after the abort, but never wait forever.
      let grace: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        work.catch(() => {}),
        new Promise<void>((resolve) => grace = setTimeout(resolve, 5_000)),
      ]);
      clearTimeout(grace);
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

function checkRun(
  benchCase: BenchCase,
  value: number | Record<string, number>,
): Map<string, number> {
  const out = new Map<string, number>();
  if (benchCase.figures === undefined) {
    if (typeof value !== "number") {
      throw new TypeError(
        `Cannot record bench case: "${benchCase.id}" returned a record but declares no figures`,
      );
    }
    out.set(benchCase.id, value);
  } else {
    if (typeof value === "number") {
      throw new TypeError(
        `Cannot record bench case: "${benchCase.id}" returned a number but declares figures`,
      );
    }
    for (const id of Object.keys(benchCase.figures)) {
      if (!(id in value)) {
        throw new TypeError(`Cannot record bench case: "${benchCase.id}" did not return "${id}"`);
      }
      out.set(id, value[id]);
    }
    for (const id of Object.keys(value)) {
      if (!(id in benchCase.figures)) {
        throw new TypeError(
          `Cannot record bench case: "${benchCase.id}" returned undeclared figure "${id}"`,
        );
      }
    }
  }
  for (const [id, figure] of out) {
    if (typeof figure !== "number" || !Number.isFinite(figure)) {
      throw new TypeError(
        `Cannot record bench case: "${id}" must be a finite number, received ${figure}`,
      );
    }
  }
  return out;
}

/** Runs the selected cases and returns their figures; it never throws for a failing case. */
export async function runSuite(
  cases: readonly BenchCase[],
  options: SuiteOptions,
): Promise<SuiteReport> {
  validateCases(cases);
  const runs = options.runs ?? (options.quick ? MIN_RUNS : 5);
  if (!Number.isInteger(runs) || runs < MIN_RUNS) {
    throw new RangeError(
      `Cannot run bench suite: runs must be an integer of at least ${MIN_RUNS}, received ${runs}`,
    );
  }
  const timeoutMs = options.runTimeoutMs ?? (options.quick ? 30_000 : 120_000);
  const progress = options.progress ?? stderrProgress();
  const { selected, added } = selectCases(cases, options.filter);
  const results: FigureResult[] = [];
  const skipped: CaseNote[] = [];
  const failed: CaseNote[] = [];
  const started = performance.now();
  const caseMs = new Map<string, number>();
  const spent = (id: string, since: number) =>
    caseMs.set(id, (caseMs.get(id) ?? 0) + performance.now() - since);
  const fail = (benchCase: BenchCase, error: unknown, label: string) => {
    progress.update(`${label}: failed, ${errorText(error)}`);
    failed.push({ caseId: benchCase.id, figures: figureIds(benchCase), reason: errorText(error) });
  };
  // Prepare every case first (installs, smoke tests), so that the rounds measure only.
  const active: { benchCase: BenchCase; samples: Map<string, number[]> }[] = [];
  for (const [index, benchCase] of selected.entries()) {
    const label = `bench [${index + 1}/${selected.length}] ${benchCase.id}`;
    const ids = figureIds(benchCase);
    const since = performance.now();
    try {
      if (benchCase.prepare !== undefined) {
        progress.update(`${label}: preparing`);
        const prepare = benchCase.prepare.bind(benchCase);
        const reason = await runOnce(benchCase.id, options.quick, 10 * timeoutMs, prepare);
        if (reason !== undefined) {
          progress.update(`${label}: skipped, ${reason}`);
          skipped.push({ caseId: benchCase.id, figures: ids, reason });
          continue;
        }
      }
      active.push({ benchCase, samples: new Map(ids.map((id) => [id, []])) });
    } catch (error) {
      fail(benchCase, error, label);
    } finally {
      spent(benchCase.id, since);
    }
  }
  for (let round = 1; round <= runs; round++) {
    for (const [index, entry] of [...active.entries()]) {
      const { benchCase, samples } = entry;
      const label = `bench round ${round}/${runs} [${index + 1}/${active.length}] ${benchCase.id}`;
      const since = performance.now();
      try {
        progress.update(label);
        const value = await runOnce(
          benchCase.id,
          options.quick,
          timeoutMs,
          (o) => benchCase.run(o),
        );
        for (const [id, figure] of checkRun(benchCase, value)) samples.get(id)!.push(figure);
      } catch (error) {
        fail(benchCase, error, label);
        active.splice(active.indexOf(entry), 1);
      } finally {
        spent(benchCase.id, since);
      }
    }
  }
  for (const { benchCase, samples } of active) {
    for (const [id, values] of samples) {
      results.push({
        id,
        caseId: benchCase.id,
        group: benchCase.group,
        ...figureSettings(benchCase, id),
        value: median(values),
        min: Math.min(...values),
        max: Math.max(...values),
        samples: values,
      });
    }
  }
  progress.done();
  return {
    quick: options.quick,
    runs,
    results,
    skipped,
    failed,
    addedBaselines: added,
    elapsedMs: performance.now() - started,
    caseMs,
  };
}

/** Formats a figure with a precision that suits its size. */
export function formatNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString("en-US");
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** How a figure compares with its baseline. */
export interface Comparison {
  readonly ratio: number;
  readonly met: boolean;
  /** How far the value is from the value the target asks for, in percent (0 when met). */
  readonly gapPercent: number;
}

/**
 * Compares a figure with its baseline, or returns `undefined` when it has none. The ratio is
 * the median of the per-round ratios when both have a run in every round, else the ratio of
 * the medians.
 */
export function compare(figure: FigureResult, baseline: FigureResult | undefined):
  | Comparison
  | undefined {
  if (figure.target === undefined || baseline === undefined || baseline.value === 0) {
    return undefined;
  }
  const paired = figure.samples.length === baseline.samples.length &&
    baseline.samples.every((value) => value > 0);
  const ratio = paired
    ? median(figure.samples.map((value, i) => value / baseline.samples[i]!))
    : figure.value / baseline.value;
  const higher = higherIsBetter(figure.unit);
  const met = higher ? ratio >= figure.target : ratio <= figure.target;
  const gapPercent = met ? 0 : Math.abs(ratio / figure.target - 1) * 100;
  return { ratio, met, gapPercent };
}

/** How far `value` is from an absolute `limit`, in percent of the limit. */
function limitGap(value: number, limit: number): number {
  return Math.abs(value / limit - 1) * 100;
}

function formatGap(percent: number): string {
  return `${percent < 10 ? percent.toFixed(1) : percent.toFixed(0)}%`;
}

function pad(text: string, width: number, right: boolean): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

/** Renders the report as a plain-text table followed by notes. */
export function formatTable(report: SuiteReport): string {
  const byId = new Map(report.results.map((r) => [r.id, r]));
  const header = ["id", "median", "min", "max", "unit", "ratio", "target", "vs baseline"];
  const right = [false, true, true, true, false, true, true, false];
  const rows: string[][] = [];
  const groups: string[] = [];
  for (const r of report.results) {
    if (!groups.includes(r.group)) groups.push(r.group);
  }
  const ordered = groups.flatMap((g) => report.results.filter((r) => r.group === g));
  let misses = 0;
  for (const r of ordered) {
    let ratio = "";
    let target = "";
    let against = "";
    if (r.limit !== undefined) {
      const higher = higherIsBetter(r.unit);
      target = `${higher ? ">=" : "<="}${formatNumber(r.limit)} ${r.unit}`;
      const met = higher ? r.value >= r.limit : r.value <= r.limit;
      against = met ? "(absolute)" : `(absolute)  MISS by ${formatGap(limitGap(r.value, r.limit))}`;
      if (!met) misses++;
    } else if (r.target !== undefined && r.baseline !== undefined) {
      target = `${higherIsBetter(r.unit) ? ">=" : "<="}${r.target.toFixed(2)}x`;
      const comparison = compare(r, byId.get(r.baseline));
      if (comparison === undefined) {
        ratio = "n/a";
        against = `${r.baseline} (not measured)`;
      } else {
        ratio = `${comparison.ratio.toFixed(2)}x`;
        against = comparison.met
          ? r.baseline
          : `${r.baseline}  MISS by ${formatGap(comparison.gapPercent)}`;
        if (!comparison.met) misses++;
      }
    }
    rows.push([
      r.id,
      formatNumber(r.value),
      formatNumber(r.min),
      formatNumber(r.max),
      r.unit,
      ratio,
      target,
      against,
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]): string =>
    cells.map((cell, i) => pad(cell, widths[i], right[i])).join("  ").trimEnd();
  const out = [line(header), line(widths.map((w) => "-".repeat(w)))];
  for (const row of rows) out.push(line(row));
  const notes: string[] = [];
  const mode = report.quick ? "quick" : "full";
  notes.push(
    `${report.results.length} figures, ${report.runs} rounds of every case (${mode}), ` +
      `${(report.elapsedMs / 1000).toFixed(1)} s, Deno ${Deno.version.deno}`,
  );
  notes.push("ratio: the median of per-round ratios (each run against its baseline's run)");
  if (report.caseMs !== undefined && report.caseMs.size > 0) {
    const slowest = [...report.caseMs].sort((a, b) => b[1] - a[1]).slice(0, 6);
    notes.push(
      `slowest cases (all rounds): ${
        slowest.map(([id, ms]) => `${id} ${(ms / 1000).toFixed(1)} s`).join(", ")
      }`,
    );
  }
  if (misses > 0) notes.push(`${misses} figure(s) missed their target`);
  for (const id of report.addedBaselines) {
    notes.push(`ran ${id} because a selected figure compares with it`);
  }
  // Cases skipped for one shared reason (the full-run points of --quick) make one note.
  const byReason = new Map<string, string[]>();
  for (const s of report.skipped) {
    byReason.set(s.reason, [...byReason.get(s.reason) ?? [], s.caseId]);
  }
  for (const [reason, ids] of byReason) {
    notes.push(
      ids.length > 3
        ? `skipped ${ids.length} cases: ${reason}: ${ids.join(", ")}`
        : ids.map((id) => `skipped ${id}: ${reason}`).join("\nnote: "),
    );
  }
  for (const f of report.failed) notes.push(`FAILED ${f.caseId}: ${f.reason}`);
  return `${out.join("\n")}\n\n${notes.map((n) => `note: ${n}`).join("\n")}\n`;
}

/** The JSON document that `--json FILE` writes. */
export interface BenchJson {
  readonly deno: string;
  /** `"quick"` or `"full"`. */
  readonly mode?: string;
  readonly results: Record<string, BenchJsonFigure>;
}

/** One figure in {@linkcode BenchJson}; `ratio` and `baseline` only where a baseline was measured. */
export interface BenchJsonFigure {
  value: number;
  unit: BenchUnit;
  min: number;
  max: number;
  /** The figure's ratio to its baseline, as in the table (median of per-round ratios). */
  ratio?: number;
  baseline?: string;
  /** The absolute target, for a figure that declares one. */
  limit?: number;
}

/** Returns the JSON document for a report. */
export function toJson(report: SuiteReport): BenchJson {
  const byId = new Map(report.results.map((r) => [r.id, r]));
  const results: BenchJson["results"] = {};
  for (const r of report.results) {
    const figure: BenchJsonFigure = { value: r.value, unit: r.unit, min: r.min, max: r.max };
    const comparison = r.baseline === undefined ? undefined : compare(r, byId.get(r.baseline));
    if (comparison !== undefined) {
      figure.ratio = comparison.ratio;
      figure.baseline = r.baseline;
    }
    if (r.limit !== undefined) figure.limit = r.limit;
    results[r.id] = figure;
  }
  return { deno: Deno.version.deno, mode: report.quick ? "quick" : "full", results };
}

const USAGE = `Usage: deno task bench [options]

Options:
  --quick           shorten every case so the whole suite runs in under a minute
  --filter REGEX    run only cases whose id or figure ids match REGEX (plus their baselines)
  --json FILE       also write the results as JSON to FILE
  --runs N          runs per case (at least ${MIN_RUNS}; default 3 with --quick, else 5)
  --plot FILE.svg   also draw the scale.* curves as an SVG picture to FILE.svg
  --from FILE.json  with --plot: draw from a file --json wrote, without running
  --list            list the case and figure ids and exit
  -h, --help        show this help
`;

/**
 * Parses the command line, runs the cases, prints the table and returns the exit code:
 * 0 on success, 1 when a case failed, 2 on a usage error.
 */
export async function benchMain(cases: readonly BenchCase[], args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: "boolean", default: false },
        filter: { type: "string" },
        json: { type: "string" },
        runs: { type: "string" },
        plot: { type: "string" },
        from: { type: "string" },
        list: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`error: ${message}\n\n${USAGE}\nhint: run "deno task bench --help"`);
    return 2;
  }
  const { values } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  let filter: RegExp | undefined;
  if (values.filter !== undefined) {
    try {
      filter = new RegExp(values.filter);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      console.error(`error: --filter is not a valid regular expression: ${message}`);
      return 2;
    }
  }
  let runs: number | undefined;
  if (values.runs !== undefined) {
    runs = Number(values.runs);
    if (!Number.isInteger(runs) || runs < MIN_RUNS) {
      console.error(
        `error: --runs must be an integer of at least ${MIN_RUNS}, received ${values.runs}`,
      );
      return 2;
    }
  }
  if (values.from !== undefined) {
    if (values.plot === undefined) {
      console.error("error: --from needs --plot FILE.svg");
      return 2;
    }
    const json = JSON.parse(await Deno.readTextFile(values.from)) as BenchJson;
    const figures = Object.entries(json.results).map(([id, r]) => ({ id, ...r }));
    const mode = json.mode === undefined ? "" : `${json.mode} run, `;
    return await writePlot(values.plot, figures, `${mode}Deno ${json.deno}, from ${values.from}`);
  }
  validateCases(cases);
  if (values.list) {
    for (const c of selectCases(cases, filter).selected) {
      for (const id of figureIds(c)) {
        console.log(`${id}\t${figureSettings(c, id).unit}\t${c.group}`);
      }
    }
    return 0;
  }
  const { selected } = selectCases(cases, filter);
  if (selected.length === 0) {
    console.error(`error: --filter ${values.filter} matches no case; try --list`);
    return 2;
  }
  const report = await runSuite(cases, { quick: values.quick, filter, runs });
  console.log(formatTable(report));
  if (values.json !== undefined) {
    await Deno.writeTextFile(values.json, `${JSON.stringify(toJson(report), null, 2)}\n`);
    console.log(`note: wrote ${values.json}`);
  }
  if (values.plot !== undefined) {
    const mode = report.quick ? "quick" : "full";
    const caption = `${mode} run, ${report.runs} rounds, Deno ${Deno.version.deno}, ` +
      `${new Date().toISOString().slice(0, 10)}: median of the runs, whiskers min to max`;
    const code = await writePlot(values.plot, report.results, caption);
    if (code !== 0) return code;
  }
  return report.failed.length > 0 ? 1 : 0;
}

async function writePlot(
  file: string,
  figures: Parameters<typeof plotSvg>[0],
  caption: string,
): Promise<number> {
  const svg = plotSvg(figures, caption);
  if (svg === undefined) {
    console.error(`error: no scale.* figure to plot into ${file}`);
    return 1;
  }
  await Deno.writeTextFile(file, svg);
  console.log(`note: wrote ${file}`);
  return 0;
}
