// Command-line parsing shared by the subcommands: node:util's parseArgs in
// strict mode, with its errors turned into short usage errors.

import { parseArgs } from "node:util";

/** Exit codes of every subcommand. */
export const EXIT = {
  /** The command did what it was asked, and every actor stopped cleanly. */
  ok: 0,
  /** Something failed: the app, a shutdown, a connection. */
  failed: 1,
  /** The command line was wrong. */
  usage: 2,
  /** Interrupted by Ctrl-C (SIGINT). */
  interrupted: 130,
} as const;

/** A mistake on the command line: printed with a hint, exit code 2. */
export class UsageError extends Error {
  /** The subcommand whose help the hint points to (`""` for the top level). */
  readonly command: string;

  constructor(command: string, message: string) {
    super(message);
    this.name = "UsageError";
    this.command = command;
  }
}

/** The options a subcommand takes, as parseArgs describes them. */
export type OptionSpec = Record<
  string,
  { type: "boolean" | "string"; short?: string; multiple?: false }
>;

type Values<O extends OptionSpec> = {
  [K in keyof O]?: O[K]["type"] extends "boolean" ? boolean : string;
};

/**
 * Parses `args` strictly: an unknown option, a missing value or a value given
 * to a flag is a {@linkcode UsageError} naming the option.
 */
export function parse<O extends OptionSpec>(
  command: string,
  args: string[],
  options: O,
): { values: Values<O>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options,
      strict: true,
      allowPositionals: true,
    });
    return { values: { ...values } as Values<O>, positionals };
  } catch (error) {
    throw new UsageError(command, describe(error));
  }
}

function describe(error: unknown): string {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const option = message.match(/'([^']+)'/)?.[1] ?? message;
    return `unknown option '${option}'`;
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    // "Option '-w, --watch' does not take an argument": name the long form.
    const quoted = message.match(/'([^']+)'/)?.[1] ?? "";
    const names = quoted.match(/--?[A-Za-z][\w-]*/g) ?? [];
    const option = names.find((name) => name.startsWith("--")) ?? names[0] ?? quoted;
    if (message.includes("argument missing")) return `option '${option}' needs a value`;
    if (message.includes("does not take an argument")) {
      return `option '${option}' does not take a value`;
    }
  }
  return message.replace(/\.$/, "");
}

/**
 * Reads a duration: milliseconds (`5000`, `500ms`) or seconds (`5s`, `1.5s`).
 *
 * @throws {UsageError} When it is not a non-negative duration.
 */
export function parseDuration(command: string, option: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text.trim());
  if (!match) {
    throw new UsageError(
      command,
      `option '--${option}' must be a duration such as 5000, 500ms or 5s, received '${text}'`,
    );
  }
  const value = Number(match[1]) * (match[2] === "s" ? 1000 : 1);
  if (!Number.isFinite(value) || value > 2 ** 31 - 1) {
    throw new UsageError(command, `option '--${option}' is too large, received '${text}'`);
  }
  return Math.round(value);
}

/** A service name: what the control socket file is called. */
export function checkName(command: string, name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
    throw new UsageError(
      command,
      `option '--name' must be 1 to 64 letters, digits, '.', '_' or '-', received '${name}'`,
    );
  }
  return name;
}

/** Writes text to stdout in full, synchronously; a closed stdout (a pipe to `head`) is ignored. */
export function writeOut(text: string): void {
  writeAll(Deno.stdout, text);
}

/** Writes text to stderr in full, synchronously. */
export function writeErr(text: string): void {
  writeAll(Deno.stderr, text);
}

const encoder = new TextEncoder();

function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  try {
    while (offset < bytes.length) offset += stream.writeSync(bytes.subarray(offset));
  } catch (error) {
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
  }
}
