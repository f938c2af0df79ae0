// The `troupe` command as a real subprocess, for the tests that drive it:
// a service in the background, its stdout read line by line.
import { within } from "./_helpers.ts";

/** The checkout's root. */
export const ROOT: URL = new URL("..", import.meta.url);
/** The CLI's entry. */
export const CLI: string = new URL("./cli/mod.ts", ROOT).pathname;
/** How long any one wait on a service may take. */
export const WAIT_MS = 30_000;

/** How a `troupe` run ended, and all it printed. */
export interface Finished {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

/** A `troupe run` (or `status --watch`) in the background, read line by line. */
export class Background {
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  #reader: ReadableStreamDefaultReader<string>;
  #partial = "";
  #ended = false;
  #stderr: Promise<string>;

  /**
   * With `terminal`, it runs as `deno task troupe ...` in a process group of
   * its own, the way a shell runs a foreground job: Ctrl-C is then
   * {@linkcode Background.interrupt}, SIGINT to the whole group.
   */
  constructor(args: string[], env: Record<string, string>, terminal = false) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: terminal ? ["task", "-q", "troupe", ...args] : ["run", "-A", CLI, ...args],
      cwd: ROOT.pathname,
      env,
      detached: terminal,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#reader = this.child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    this.#stderr = new Response(this.child.stderr).text();
  }

  async #more(what: string): Promise<boolean> {
    if (this.#ended) return false;
    const { value, done } = await within(this.#reader.read(), WAIT_MS, what);
    if (done) {
      this.#ended = true;
      if (this.#partial !== "") this.lines.push(this.#partial);
      this.#partial = "";
      return false;
    }
    const parts = (this.#partial + value).split("\n");
    this.#partial = parts.pop()!;
    this.lines.push(...parts);
    return true;
  }

  /** Waits for a stdout line that matches (at `from` or later), and returns its index. */
  async waitFor(pattern: RegExp, from = 0): Promise<number> {
    let checked = from;
    while (true) {
      for (; checked < this.lines.length; checked++) {
        if (pattern.test(this.lines[checked]!)) return checked;
      }
      if (!await this.#more(`a line matching ${pattern}`)) {
        throw new Error(`stdout ended before ${pattern}:\n${this.lines.join("\n")}`);
      }
    }
  }

  /** Waits for the exit; returns the code and all the output. */
  async finish(): Promise<Finished> {
    while (await this.#more("the end of stdout"));
    const status = await within(this.child.status, WAIT_MS, "the exit");
    return {
      code: status.code,
      signal: status.signal,
      stdout: this.lines.join("\n"),
      stderr: await this.#stderr,
    };
  }

  /** What a terminal's Ctrl-C does: SIGINT to every process of the job's group. */
  interrupt(): void {
    Deno.kill(-this.child.pid, "SIGINT");
  }

  /** Kills it for good (after a failed test). */
  async kill(): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // Gone already.
    }
    await this.#reader.cancel().catch(() => {});
    await this.child.status;
    await this.#stderr.catch(() => {});
  }
}

/** Runs `troupe ...args` to the end. */
export async function troupe(args: string[], env: Record<string, string> = {}): Promise<Finished> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd: ROOT.pathname,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    const output = await within(child.output(), WAIT_MS, `troupe ${args.join(" ")}`);
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return {
      code: output.code,
      signal: output.signal,
      stdout: decode(output.stdout),
      stderr: decode(output.stderr),
    };
  } catch (error) {
    child.kill("SIGKILL");
    await child.status;
    throw error;
  }
}

/** A private state dir for one test (XDG_RUNTIME_DIR), removed afterwards. */
export async function withStateDir(
  fn: (env: Record<string, string>, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "troupe-cli-test-" });
  try {
    await fn({ XDG_RUNTIME_DIR: dir }, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
