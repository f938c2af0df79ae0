// A worker or thread actor's output as lines for its parent. A Deno Worker's
// (and a node:worker_threads thread's) `console` and `Deno.stdout` /
// `Deno.stderr` write straight to the process's stdout and stderr, which the
// parent never sees: in the middle of a progress bar, or inside a stream of
// JSON lines. When the actor's spawn has `onLog`, the bootstrap calls
// `forwardOutput`: from then on `console.log`, `info`, `debug` and `dir` and
// the writes to `Deno.stdout` become "stdout" lines and `warn`, `error` and
// `trace` and the writes to `Deno.stderr` "stderr" lines, posted to the
// parent (as a process actor's output already arrives), which hands them to
// `onLog`. The thread answers a flush request once every line posted before
// it is out (the rest of an unfinished line with it), so the parent can wait
// for them before it ends the thread.

import { tableText } from "./_console_table.ts";

/** A line of a worker or thread actor's output, posted to its parent. */
export interface ConsoleLine {
  log: string;
  stream: "stdout" | "stderr";
}

/** What the parent posts to learn that every line before it has arrived. */
export const FLUSH_LOGS = "troupe.flushLogs";
/** What the thread answers to a flush request. */
export const LOGS_FLUSHED = "troupe.logsFlushed";

/**
 * Formats console arguments as Deno's console does, without colour: a first
 * string with more arguments after it takes %s, %d, %i, %f, %j, %o, %O, %c
 * and %%; the rest follow, inspected, separated by spaces.
 */
export function formatConsole(args: readonly unknown[]): string {
  const inspect = (value: unknown) =>
    typeof value === "string" ? value : Deno.inspect(value, { colors: false });
  if (typeof args[0] !== "string" || args.length === 1) return args.map(inspect).join(" ");
  const rest = args.slice(1);
  const head = args[0].replace(/%([sdifjoOc%])/g, (match, spec: string) => {
    if (spec === "%") return "%";
    if (rest.length === 0) return match;
    const value = rest.shift();
    switch (spec) {
      case "s":
        return String(value);
      case "d":
      case "i":
        return typeof value === "bigint" ? String(value) : String(parseInt(String(value)));
      case "f":
        return String(parseFloat(String(value)));
      case "j":
        return JSON.stringify(value);
      case "c":
        return "";
      default:
        return inspect(value);
    }
  });
  return [head, ...rest.map(inspect)].join(" ");
}

/** A stream of the actor's output. */
type Stream = "stdout" | "stderr";

/**
 * Replaces this thread's console methods, and the `write`, `writeSync` and
 * `writable` of its `Deno.stdout` and `Deno.stderr`, with ones that post
 * each line to the parent with `post`, and answers the parent's flush
 * requests, which `listen` hands over with the thread's other messages.
 * A write's bytes are decoded as UTF-8 and kept until their line ends (a
 * console call ends its own); a flush request posts what is left.
 */
export function forwardOutput(
  post: (message: unknown) => void,
  listen: (listener: (data: unknown) => void) => void,
): void {
  const partial = { stdout: "", stderr: "" };
  const decoders: { stdout?: TextDecoder; stderr?: TextDecoder } = {};
  const text = (stream: Stream, text: string) => {
    const lines = (partial[stream] + text).split("\n");
    partial[stream] = lines.pop()!;
    for (const log of lines) post({ log, stream } satisfies ConsoleLine);
  };
  const bytes = (stream: Stream, data: Uint8Array) =>
    text(stream, (decoders[stream] ??= new TextDecoder()).decode(data, { stream: true }));
  const flush = (stream: Stream) => {
    const rest = partial[stream] + (decoders[stream]?.decode() ?? "");
    partial[stream] = "";
    if (rest !== "") post({ log: rest, stream } satisfies ConsoleLine);
  };
  patchConsole((stream, line) => text(stream, `${line}\n`));
  for (const [stream, file] of [["stdout", Deno.stdout], ["stderr", Deno.stderr]] as const) {
    const own = (name: string, descriptor: PropertyDescriptor) =>
      Object.defineProperty(file, name, { configurable: true, ...descriptor });
    const writeSync = (data: Uint8Array) => {
      bytes(stream, data);
      return data.byteLength;
    };
    own("writeSync", { value: writeSync, writable: true });
    own("write", {
      value: (data: Uint8Array) => {
        try {
          return Promise.resolve(writeSync(data));
        } catch (error) {
          return Promise.reject(error);
        }
      },
      writable: true,
    });
    // Made on first use, as Deno makes its own; closing it ends the line.
    let writable: WritableStream<Uint8Array> | undefined;
    own("writable", {
      get: () =>
        writable ??= new WritableStream<Uint8Array>({
          write: (chunk) => void writeSync(chunk),
          close: () => flush(stream),
        }),
    });
  }
  listen((data) => {
    if (data !== FLUSH_LOGS) return;
    flush("stdout");
    flush("stderr");
    post(LOGS_FLUSHED);
  });
}

/**
 * Replaces this thread's console methods with ones that hand each call's
 * text to `say` (without its final newline), as Deno's console formats it
 * without colour: the same streams, `group` indentation, counters, timers,
 * `assert` and `table`. `clear` does nothing: the parent owns the terminal.
 */
function patchConsole(say: (stream: Stream, text: string) => void): void {
  let indent = "";
  const out = (stream: Stream, text: string) =>
    say(stream, indent === "" ? text : indent + text.replaceAll("\n", `\n${indent}`));
  const to = (stream: Stream) => (...args: unknown[]) => out(stream, formatConsole(args));
  const log = to("stdout");
  const info = to("stdout");
  const warn = to("stderr");
  const error = to("stderr");
  const counts = new Map<string, number>();
  const timers = new Map<string, number>();
  const elapsed = (label: string) => `${(performance.now() - timers.get(label)!).toFixed(3)}ms`;
  const dir = (value: unknown, options?: Deno.InspectOptions) =>
    out("stdout", Deno.inspect(value, { ...options, colors: false }));
  const group = (...label: unknown[]) => {
    if (label.length > 0) log(...label);
    indent += "  ";
  };
  Object.assign(
    console,
    {
      log,
      info,
      debug: to("stdout"),
      warn,
      error,
      dir,
      dirxml: dir,
      trace: (...args: unknown[]) => {
        const stack = new Error().stack?.split("\n").slice(2).join("\n") ?? "";
        error(`Trace${args.length > 0 ? `: ${formatConsole(args)}` : ""}\n${stack}`);
      },
      assert: (condition = false, ...args: unknown[]) => {
        if (condition) return;
        if (args.length === 0) error("Assertion failed");
        else if (typeof args[0] === "string") {
          error(`Assertion failed: ${args[0]}`, ...args.slice(1));
        } else error("Assertion failed:", ...args);
      },
      count: (label: unknown = "default") => {
        const name = String(label);
        const count = (counts.get(name) ?? 0) + 1;
        counts.set(name, count);
        info(`${name}: ${count}`);
      },
      countReset: (label: unknown = "default") => {
        const name = String(label);
        if (counts.has(name)) counts.set(name, 0);
        else warn(`Count for '${name}' does not exist`);
      },
      time: (label: unknown = "default") => {
        const name = String(label);
        if (timers.has(name)) warn(`Timer '${name}' already exists`);
        else timers.set(name, performance.now());
      },
      timeLog: (label: unknown = "default", ...args: unknown[]) => {
        const name = String(label);
        if (!timers.has(name)) warn(`Timer '${name}' does not exist`);
        else info(`${name}: ${elapsed(name)}`, ...args);
      },
      timeEnd: (label: unknown = "default") => {
        const name = String(label);
        if (!timers.has(name)) return warn(`Timer '${name}' does not exist`);
        const took = elapsed(name);
        timers.delete(name);
        info(`${name}: ${took}`);
      },
      group,
      groupCollapsed: group,
      groupEnd: () => {
        indent = indent.slice(2);
      },
      table: (data?: unknown, properties?: string[]) => {
        const table = tableText(data, properties);
        if (table === undefined) log(data);
        else out("stdout", table);
      },
      clear: () => {},
    } satisfies Partial<Console>,
  );
}

/**
 * The parent's side of a thread's output lines: hands them to `onLog`, and
 * waits for those posted before a flush request.
 */
export class OutputLines {
  readonly #onLog: (line: string, stream: Stream) => void;
  #flushed: (() => void) | undefined;

  /** Lines taken go to `onLog`. */
  constructor(onLog: (line: string, stream: Stream) => void) {
    this.#onLog = onLog;
  }

  /** Takes `data`, a message from the thread, if it is a line or a flush answer: says whether. */
  take(data: unknown): boolean {
    if (data === LOGS_FLUSHED) {
      this.#flushed?.();
      return true;
    }
    const line = data as Partial<ConsoleLine> | undefined;
    if (typeof line?.log !== "string") return false;
    this.#onLog(line.log, line.stream === "stderr" ? "stderr" : "stdout");
    return true;
  }

  /**
   * Posts a flush request with `post` and resolves once the thread has
   * answered it (every line before the answer has been taken by then), or
   * once `gone` settles (the thread ended), or after `ms`.
   */
  flush(post: (message: unknown) => void, ms: number, gone?: Promise<unknown>): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#flushed = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#flushed = done;
      gone?.then(done, done);
      post(FLUSH_LOGS);
    });
  }
}
