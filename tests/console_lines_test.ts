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
