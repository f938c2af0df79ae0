// How a process actor resolves modules: exactly as its parent does. The
// child's main module is a data: URL, and Deno discovers no configuration
// file for a main module that is not a local file, so without help an actor
// module importing `@troupe/troupe/actor` through the app's deno.json (or an
// import map) fails in the child with `Import ... not a dependency`. The
// parent hands over its own resolution: the flags it was started with that
// decide how modules resolve (read from its command line where it may read
// it), and otherwise the configuration file Deno found for it, the first
// deno.json or deno.jsonc in its working directory or above. The lock file
// and the node_modules mode come with the configuration file, or with the
// flags that set them.

import * as path from "node:path";

/** Resolution flags that take a value, as `--flag=value` or `--flag value`. */
const VALUE_FLAGS = new Set(["--config", "-c", "--import-map"]);
/** Resolution flags passed on as they are (some with an optional `=value`). */
const PLAIN_FLAGS = new Set([
  "--no-config",
  "--lock",
  "--no-lock",
  "--frozen",
  "--node-modules-dir",
  "--vendor",
  "--cached-only",
  "--no-remote",
  "--no-npm",
]);
/** Other flags whose value may be the next argument: skipped with it. */
const OTHER_VALUE_FLAGS = new Set(["--location", "--seed", "--cert", "-L", "--log-level"]);
/** Flags whose value is a path, resolved against the parent's working directory. */
const PATH_FLAGS = new Set(["--config", "-c", "--import-map", "--lock"]);
const SUBCOMMANDS = new Set(["run", "test", "bench", "serve", "repl", "eval"]);
const CONFIG_NAMES = ["deno.json", "deno.jsonc"];

/** A flag of a deno command line: its name, and its value (inline or the next argument). */
interface CommandFlag {
  name: string;
  value: string | undefined;
}

/**
 * The flags of a command line (`argv` as in /proc/self/cmdline, the binary
 * first) before its script: what follows the script belongs to the script.
 * A flag that takes a value and has none inline takes the next argument.
 */
function flagsBeforeScript(argv: readonly string[]): CommandFlag[] {
  const flags: CommandFlag[] = [];
  let sawSubcommand = false;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") break;
    if (!arg.startsWith("-")) {
      if (!sawSubcommand && SUBCOMMANDS.has(arg)) {
        sawSubcommand = true;
        continue;
      }
      break; // the script
    }
    const equals = arg.indexOf("=");
    const name = equals === -1 ? arg : arg.slice(0, equals);
    let value = equals === -1 ? undefined : arg.slice(equals + 1);
    if (value === undefined && (VALUE_FLAGS.has(name) || OTHER_VALUE_FLAGS.has(name))) {
      value = argv[++i];
      if (value === undefined) break;
    }
    flags.push({ name, value });
  }
  return flags;
}

/**
 * The resolution flags of a command line (`argv` as in /proc/self/cmdline,
 * the binary first), with relative paths made absolute against `cwd`. Reads
 * up to the script: what follows it belongs to the script.
 */
export function resolutionFlags(argv: readonly string[], cwd: string): string[] {
  const absolute = (name: string, value: string) =>
    PATH_FLAGS.has(name) && !/^[a-z][a-z0-9+.-]*:/i.test(value) ? path.resolve(cwd, value) : value;
  const flags: string[] = [];
  for (const { name, value } of flagsBeforeScript(argv)) {
    if (VALUE_FLAGS.has(name)) {
      flags.push(`${name === "-c" ? "--config" : name}=${absolute(name, value!)}`);
    } else if (PLAIN_FLAGS.has(name)) {
      flags.push(value === undefined ? name : `${name}=${absolute(name, value)}`);
    }
  }
  return flags;
}

/**
 * The V8 flags of a command line (`argv` as in /proc/self/cmdline) that a
 * child `deno run` should share: `--max-semi-space-size`, which bounds each
 * isolate's young generation (a long-running service's RSS then stays
 * flat). Read up to the script, from every `--v8-flags` (the last wins).
 */
export function sharedV8Flags(argv: readonly string[]): string[] {
  let semiSpace: string | undefined;
  for (const { name, value } of flagsBeforeScript(argv)) {
    // Deno takes V8 flags only as `--v8-flags=a,b`.
    if (name !== "--v8-flags" || value === undefined) continue;
    for (const flag of value.split(",")) {
      if (/^--max-semi-space-size=\d+$/.test(flag)) semiSpace = flag;
    }
  }
  return semiSpace === undefined ? [] : [semiSpace];
}

/**
 * Whether a command line (`argv` as in /proc/self/cmdline) enables worker
 * options by a flag before its script (`--unstable-worker-options`, or
 * `--unstable`).
 */
export function workerOptionsFlag(argv: readonly string[]): boolean {
  return flagsBeforeScript(argv).some(({ name }) =>
    name === "--unstable-worker-options" || name === "--unstable"
  );
}

let v8Shared: string[] | undefined;

/** {@linkcode sharedV8Flags} of this process, read once (none when its command line is unreadable). */
export function parentV8Flags(): readonly string[] {
  return v8Shared ??= sharedV8Flags(readCommandLine() ?? []);
}

/** The first deno.json or deno.jsonc in `dir` or above it, as Deno finds it. */
export function discoverConfig(dir: string): string | undefined {
  for (let current = path.resolve(dir);;) {
    for (const name of CONFIG_NAMES) {
      const candidate = path.join(current, name);
      try {
        if (Deno.statSync(candidate).isFile) return candidate;
      } catch {
        // Absent, or not ours to read: go on up.
      }
    }
    const parent = path.dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

function readCommandLine(): string[] | undefined {
  try {
    // Each argument ends with a NUL.
    return Deno.readTextFileSync("/proc/self/cmdline").split("\u0000").slice(0, -1);
  } catch {
    // No /proc (not Linux), or no permission to read it.
    return undefined;
  }
}

let inherited: string[] | undefined;

/**
 * The flags that make a child `deno run` resolve modules as this process
 * does: its own resolution flags, and without a configuration flag the
 * configuration file Deno discovered for it. Computed once per process.
 */
export function parentResolution(): readonly string[] {
  if (inherited !== undefined) return inherited;
  let cwd: string;
  try {
    cwd = Deno.cwd();
  } catch {
    return inherited = [];
  }
  const argv = readCommandLine();
  const flags = argv === undefined ? [] : resolutionFlags(argv, cwd);
  const configured = flags.some((flag) => flag.startsWith("--config=") || flag === "--no-config");
  if (!configured) {
    const config = discoverConfig(cwd);
    if (config !== undefined) flags.push(`--config=${config}`);
  }
  return inherited = flags;
}

/**
 * Whether this process runs with worker options enabled (the
 * `--unstable-worker-options` flag, or `"worker-options"` in the `unstable`
 * list of its deno.json), or `undefined` when it cannot read its own
 * command line to tell.
 */
export function workerOptionsEnabled(): boolean | undefined {
  const argv = readCommandLine();
  if (argv === undefined) return undefined;
  if (workerOptionsFlag(argv)) return true;
  const config = parentResolution().find((flag) => flag.startsWith("--config="));
  if (config === undefined) return false;
  try {
    const text = Deno.readTextFileSync(config.slice("--config=".length));
    // deno.jsonc: drop comments (a string holding "//" is not expected in these files).
    const json = JSON.parse(text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, ""));
    return Array.isArray(json?.unstable) && json.unstable.includes("worker-options");
  } catch {
    return false;
  }
}
