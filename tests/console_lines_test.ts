// A worker actor's console lines as its parent gets them (`onLog`): the
// arguments formatted as Deno's console formats them, without colour.
import assert from "node:assert/strict";
import { formatConsole } from "../actors/hosts/_console_lines.ts";

Deno.test("formatConsole() formats console arguments as Deno's console does, without colour", async () => {
  const cases: unknown[][] = [
    [],
    ["plain"],
    ["a", "b", 3],
    ["%s is %d years, %i, %f", "Ada", 36.6, 2.9, 1.5],
    ["%c styled", "color: red"],
    ["100%% and %s"],
    ["100%% and %s", "more"],
    ["%o and %O", { a: [1] }, { b: 2 }],
    [{ a: 1 }, "x"],
    ["%d %s", 5n, 5n],
    ["%d %f", "12px", "3.5x"],
    ["%s %s", null, [1, 2]],
    ["a %s", "b", { c: 1 }, "d"],
    ["%s"],
    [1, "%s", 2],
    ["two\nlines", "and\nmore"],
  ];
  // What Deno's own console prints for the same arguments, in a child without colour.
  const program = `for (const args of ${
    JSON.stringify(cases, (_, v) => typeof v === "bigint" ? `__big${v}` : v)
  }) console.log(...args.map((a) => typeof a === "string" && a.startsWith("__big") ? BigInt(a.slice(5)) : a));`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", program],
    env: { NO_COLOR: "1" },
    stdout: "piped",
  }).output();
  const expected = new TextDecoder().decode(output.stdout);
  assert.equal(cases.map((args) => `${formatConsole(args)}\n`).join(""), expected);
});

const OUTPUT_PROGRAM = new URL("./fixtures/output_program.ts", import.meta.url);

/** Runs `deno run FLAGS PROGRAM ARGS` without color and returns its exit code and output. */
async function runProgram(program: URL, flags: string[], args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, program.href, ...args],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Runs the output program (see its opening comment) and returns its exit code and output. */
function runOutputProgram(...args: string[]) {
  return runProgram(OUTPUT_PROGRAM, ["-A"], args);
}

/** What the output actor writes, as lines with their streams. */
const WRITTEN = [
  "stdout console.log line",
  "stdout writeSync, in two parts",
  "stdout writeSync, two lines",
  "stdout console.log after a write",
  "stdout write",
  "stderr console.error line",
  "stderr stderr writeSync",
  "stderr stderr write",
  "stdout writable line",
  "stdout process.stdout line",
  "stderr process.stderr line",
  "stdout café",
  "stdout unfinished line",
  "stdout from the stop hook, no newline",
];

for (const host of ["worker", "thread"]) {
  Deno.test(`a ${host} actor's console and Deno.stdout / Deno.stderr writes arrive at onLog as lines, in order, and none reaches the process's output`, async () => {
    const { code, stdout, stderr } = await runOutputProgram(host);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "");
    assert.equal(
      stdout,
      `${JSON.stringify({ written: 6, lines: WRITTEN.map((line) => `writer ${line}`) })}\n`,
    );
  });

  Deno.test(`without onLog a ${host} actor's console and Deno.stdout / Deno.stderr writes go straight to the process's stdout and stderr`, async () => {
    const { code, stdout, stderr } = await runOutputProgram(host, "direct");
    assert.equal(code, 0, stderr);
    const written = (stream: string) =>
      WRITTEN.filter((line) => line.startsWith(`${stream} `))
        .map((line) => line.slice(stream.length + 1));
    const out = written("stdout");
    // The last stdout line has no newline: the program's own line follows it.
    assert.equal(
      stdout,
      `${out.join("\n")}${JSON.stringify({ written: 6, lines: [] })}\n`,
    );
    assert.equal(stderr, `${written("stderr").join("\n")}\n`);
  });
}

const CONSOLE_CALLS = new URL("./fixtures/console_calls_program.ts", import.meta.url);

Deno.test("a forwarded console prints every method's lines as Deno's console does, on the same streams", async () => {
  const run = async (...args: string[]) => {
    const out = await runProgram(CONSOLE_CALLS, [], args);
    assert.equal(out.code, 0, out.stderr);
    return { stdout: out.stdout, stderr: out.stderr };
  };
  // Timers' figures differ from run to run.
  const times = (text: string) => text.replace(/: \d+(\.\d+)?ms/g, ": Nms");
  const [deno, forwarded] = await Promise.all([run(), run("forward")]);
  assert.equal(forwarded.stderr, "");
  const lines = JSON.parse(forwarded.stdout) as { stdout: string[]; stderr: string[] };
  assert.equal(times(lines.stdout.map((line) => `${line}\n`).join("")), times(deno.stdout));
  assert.equal(lines.stderr.map((line) => `${line}\n`).join(""), deno.stderr);
});
