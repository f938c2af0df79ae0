// The fault suite's harness: each program under test runs in its own OS
// process (a fixture script under fixtures/, run with `deno run`), under a
// watchdog, tagged so that every process it starts can be found in /proc
// afterwards. Fixtures print JSON lines; the tests assert on them.
//
// The tag travels two ways: as TROUPE_FAULT_TAG in the fixture's environment,
// and as its TMPDIR (a fresh directory named after the tag), which process
// actors inherit even with a cleared environment. A survivor is any live
// process (not a zombie: PID 1 here does not reap) whose environment holds
// either.

import assert from "node:assert/strict";

const FIXTURES = new URL("./fixtures/", import.meta.url);

/** A tag for one test: its processes carry it. */
export interface Tag {
  readonly id: string;
  /** The fixture's TMPDIR (also its XDG_RUNTIME_DIR), removed after the test. */
  readonly dir: string;
}

/** The output of a fixture that ended. */
export interface Finished {
  code: number;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from spawn to exit. */
  ms: number;
  /** Every JSON object line the fixture printed on stdout. */
  lines: Record<string, unknown>[];
}

export interface FixtureOptions {
  /** Arguments after the script. */
  args?: string[];
  /** Deno flags; default `-A --unstable-worker-options`. */
  flags?: string[];
  /** Extra environment. */
  env?: Record<string, string>;
  /** The watchdog: kill the fixture and fail past this many milliseconds. Default 30 s. */
  timeoutMs?: number;
}

function parseLines(stdout: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // Not one of ours.
    }
  }
  return out;
}

/** A running fixture: read its lines as they come, signal it, wait for its end. */
export class Running {
  readonly child: Deno.ChildProcess;
  readonly started = performance.now();
  stdout = "";
  stderr = "";
  #lines: Record<string, unknown>[] = [];
  #waiters: (() => void)[] = [];
  #done: Promise<Finished>;
  #timer: ReturnType<typeof setTimeout>;
  #timedOut = false;
  #name: string;

  constructor(name: string, tag: Tag, options: FixtureOptions) {
    this.#name = name;
    const flags = options.flags ?? ["-A", "--unstable-worker-options"];
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        ...flags,
        new URL(`${name}.ts`, FIXTURES).pathname,
        ...(options.args ?? []),
      ],
      env: {
        NO_COLOR: "1",
        TROUPE_FAULT_TAG: tag.id,
        TMPDIR: tag.dir,
        XDG_RUNTIME_DIR: tag.dir,
        ...options.env,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.child = child;
    const timeoutMs = options.timeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      this.#timedOut = true;
      try {
        this.child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }, timeoutMs);
    this.#timer = timer;
    const read = async (stream: ReadableStream<Uint8Array>, out: "stdout" | "stderr") => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        this[out] += chunk;
        if (out === "stdout") {
          this.#lines = parseLines(this.stdout);
          for (const wake of this.#waiters.splice(0)) wake();
        }
      }
    };
    const reading = Promise.all([read(child.stdout, "stdout"), read(child.stderr, "stderr")]);
    this.#done = (async () => {
      const status = await child.status;
      await reading;
      clearTimeout(timer);
      for (const wake of this.#waiters.splice(0)) wake();
      const finished: Finished = {
        code: status.code,
        signal: status.signal,
        stdout: this.stdout,
        stderr: this.stderr,
        ms: performance.now() - this.started,
        lines: parseLines(this.stdout),
      };
      if (this.#timedOut) {
        throw new Error(
          `watchdog: fixture ${name} ran past ${timeoutMs} ms and was killed\n` +
            `--- stdout\n${this.stdout}\n--- stderr\n${this.stderr}`,
        );
      }
      return finished;
    })();
    // Observed by whoever awaits it; never an unhandled rejection.
    this.#done.catch(() => {});
  }

  /** Resolves with the first JSON line for which `match` holds (bounded by the watchdog). */
  async line(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    let ended = false;
    this.#done.finally(() => ended = true).catch(() => {});
    while (true) {
      const found = this.#lines.find(match);
      if (found) return found;
      if (ended) {
        throw new Error(
          `fixture ${this.#name} ended without the expected line\n--- stdout\n${this.stdout}\n--- stderr\n${this.stderr}`,
        );
      }
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        this.#done.finally(resolve).catch(() => {});
      });
    }
  }

  kill(signal: Deno.Signal): void {
    this.child.kill(signal);
  }

  get done(): Promise<Finished> {
    return this.#done;
  }
}

/** Starts fixture `name` (without `.ts`) and returns it while it runs. */
export function start(name: string, tag: Tag, options: FixtureOptions = {}): Running {
  return new Running(name, tag, options);
}

/** Runs fixture `name` to its end; fails with its output if it exits non-zero (unless `anyExit`). */
export async function run(
  name: string,
  tag: Tag,
  options: FixtureOptions & { anyExit?: boolean } = {},
): Promise<Finished> {
  const finished = await start(name, tag, options).done;
  if (!options.anyExit && finished.code !== 0) {
    throw new Error(
      `fixture ${name} exited ${finished.code} (${finished.signal})\n--- stdout\n${finished.stdout}\n--- stderr\n${finished.stderr}`,
    );
  }
  return finished;
}

/** The one line with `kind`, from a finished fixture. */
export function result(finished: Finished, kind = "result"): Record<string, unknown> {
  const found = finished.lines.filter((line) => line.kind === kind);
  assert.equal(
    found.length,
    1,
    `expected one "${kind}" line\n--- stdout\n${finished.stdout}\n--- stderr\n${finished.stderr}`,
  );
  return found[0];
}

/** Live (not zombie) processes whose environment carries the tag. */
export function survivors(tag: Tag): { pid: number; state: string; cmdline: string }[] {
  const found: { pid: number; state: string; cmdline: string }[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid) || pid === Deno.pid) continue;
    let environ: string;
    let stat: string;
    let cmdline: string;
    try {
      environ = Deno.readTextFileSync(`/proc/${pid}/environ`);
      stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
    } catch {
      continue; // Gone, or not ours to read.
    }
    const vars = environ.split("\0");
    if (!vars.includes(`TROUPE_FAULT_TAG=${tag.id}`) && !vars.includes(`TMPDIR=${tag.dir}`)) {
      continue;
    }
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    if (state === "Z" || state === "X") continue;
    found.push({ pid, state, cmdline: cmdline.slice(0, 200) });
  }
  return found;
}

/** Resolves once no tagged process lives, or fails after `ms` naming them (and kills them). */
export async function assertNoSurvivors(tag: Tag, ms = 2000): Promise<number> {
  const startedAt = performance.now();
  while (true) {
    const left = survivors(tag);
    if (left.length === 0) return performance.now() - startedAt;
    if (performance.now() - startedAt > ms) {
      for (const { pid } of left) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch {
          // Gone meanwhile.
        }
      }
      assert.fail(
        `${left.length} tagged process(es) survived the test by ${ms} ms:\n` +
          left.map((p) => `  ${p.pid} [${p.state}] ${p.cmdline}`).join("\n"),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Prints a figure: "F01 restart p95 = 42 ms". */
export function figure(id: string, text: string): void {
  console.log(`${id} ${text}`);
}

/** The p-th percentile (0..100) of `values`. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)];
}

export interface FaultTestOptions {
  /** Registered but not run: the row fails today because of an open defect (say which in a comment). */
  ignore?: boolean;
}

/**
 * One row (or part of one) of the fault matrix: a test that gets a fresh tag,
 * and after which no process carrying that tag may live.
 */
export function faultTest(
  name: string,
  fn: (tag: Tag) => Promise<void>,
  options: FaultTestOptions = {},
): void {
  Deno.test({
    name,
    // TROUPE_FAULT_OPEN=1 runs the ignored rows too: to check a fix, or that they still fail.
    ignore: (options.ignore ?? false) && Deno.env.get("TROUPE_FAULT_OPEN") !== "1",
    // Fixtures are other processes: nothing of the test's own leaks.
    sanitizeOps: true,
    sanitizeResources: true,
    async fn() {
      const id = crypto.randomUUID().slice(0, 12);
      const dir = Deno.makeTempDirSync({ prefix: `troupe-fault-${id}-` });
      const tag: Tag = { id, dir };
      let failure: unknown;
      try {
        await fn(tag);
      } catch (error) {
        failure = error;
      }
      let leftover: unknown;
      try {
        await assertNoSurvivors(tag);
      } catch (error) {
        leftover = error;
      } finally {
        Deno.removeSync(dir, { recursive: true });
      }
      if (failure !== undefined && leftover !== undefined) {
        throw new AggregateError(
          [failure, leftover],
          `${String(failure)}\nand: ${String(leftover)}`,
        );
      }
      if (failure !== undefined || leftover !== undefined) throw failure ?? leftover;
    },
  });
}
