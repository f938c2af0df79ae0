// A worker actor's console as lines for its parent. A Deno Worker's `console`
// writes straight to the process's stdout and stderr, which the parent never
// sees: in the middle of a progress bar, or inside a stream of JSON lines.
// When the actor's spawn has `onLog`, the worker's bootstrap calls
// `forwardConsole`: from then on `console.log`, `info`, `debug` and `dir`
// become "stdout" lines and `warn`, `error` and `trace` "stderr" lines, posted
// to the parent (as a process actor's output already arrives), which hands
// them to `onLog`. The worker answers a flush request once every line posted
// before it is out, so the parent can wait for them before it ends the
// worker.

/** A line of a worker actor's console, posted to its parent. */
export interface ConsoleLine {
  log: string;
  stream: "stdout" | "stderr";
}

/** What the parent posts to learn that every line before it has arrived. */
export const FLUSH_LOGS = "troupe.flushLogs";
/** What the worker answers to a flush request. */
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

/** The worker's side of its channel to the parent (`self` in a worker). */
export interface ConsoleScope {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
}

/**
 * Replaces this thread's console methods with ones that post each line to
 * the parent through `scope`, and answers the parent's flush requests there.
 */
export function forwardConsole(scope: ConsoleScope): void {
  const lines = (stream: "stdout" | "stderr", text: string) => {
    for (const log of text.split("\n")) scope.postMessage({ log, stream } satisfies ConsoleLine);
  };
  const to = (stream: "stdout" | "stderr") => (...args: unknown[]) =>
    lines(stream, formatConsole(args));
  console.log = to("stdout");
  console.info = to("stdout");
  console.debug = to("stdout");
  console.warn = to("stderr");
  console.error = to("stderr");
  console.dir = (value: unknown, options?: Deno.InspectOptions) =>
    lines("stdout", Deno.inspect(value, { ...options, colors: false }));
  console.trace = (...args: unknown[]) => {
    const stack = new Error().stack?.split("\n").slice(2).join("\n") ?? "";
    lines("stderr", `Trace${args.length > 0 ? `: ${formatConsole(args)}` : ""}\n${stack}`);
  };
  scope.addEventListener("message", (event) => {
    if (event.data === FLUSH_LOGS) scope.postMessage(LOGS_FLUSHED);
  });
}
