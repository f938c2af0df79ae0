// A process actor resolves modules as its parent does: an app outside the
// checkout, shaped like a JSR user's project (the package mapped by name in
// its deno.json or an import map), spawns process actors that import
// `@troupe/troupe/actor` by name, over pipe and socket.
import assert from "node:assert/strict";
import * as path from "node:path";
import {
  discoverConfig,
  resolutionFlags,
  sharedV8Flags,
  workerOptionsFlag,
} from "../actors/hosts/_resolution.ts";

const PACKAGE = new URL("../", import.meta.url);
const IMPORTS = {
  "@troupe/troupe": new URL("mod.ts", PACKAGE).href,
  "@troupe/troupe/actor": new URL("actor.ts", PACKAGE).href,
};

const COUNTER = `import { defineActor } from "@troupe/troupe/actor";
export const counter = defineActor({
  init: () => ({ n: 0 }),
  handlers: { inc(s, by: number) { s.n += by; }, get: (s) => s.n },
});
`;

const MAIN = `import { ActorSystem } from "@troupe/troupe";
import type { counter } from "./counter.ts";
await using system = await ActorSystem.start();
const results: Record<string, unknown> = {};
for (const transport of ["pipe", "socket"] as const) {
  try {
    const ref = await system.spawn<typeof counter>(new URL("./counter.ts", import.meta.url), {
      host: "process",
      transport,
      onLog: () => {},
    });
    await ref.tell("inc", 2);
    results[transport] = await ref.ask("get", undefined, { timeout: 20_000 });
  } catch (error) {
    results[transport] = String(error).slice(0, 200);
  }
}
console.log(JSON.stringify(results));
`;

/** A temporary project: counter.ts, main.ts, and what `files` adds. */
async function project(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "troupe-app-" });
  await Deno.writeTextFile(path.join(dir, "counter.ts"), COUNTER);
  await Deno.writeTextFile(path.join(dir, "main.ts"), MAIN);
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(path.join(dir, name), text);
  }
  return dir;
}

async function runApp(cwd: string, args: string[]): Promise<unknown> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const stdout = new TextDecoder().decode(output.stdout).trim();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return JSON.parse(stdout.split("\n").at(-1)!);
}

const BOTH = { pipe: 2, socket: 2 };

Deno.test("a process actor imports the package by name through the app's deno.json", async () => {
  const dir = await project({ "deno.json": JSON.stringify({ imports: IMPORTS }) });
  try {
    assert.deepEqual(await runApp(dir, ["main.ts"]), BOTH);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a process actor uses the --config its parent was given, from any working directory", async () => {
  const dir = await project({ "app.json": JSON.stringify({ imports: IMPORTS }) });
  const elsewhere = await Deno.makeTempDir();
  try {
    const args = ["--config", path.join(dir, "app.json"), path.join(dir, "main.ts")];
    assert.deepEqual(await runApp(elsewhere, args), BOTH);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(elsewhere, { recursive: true });
  }
});

Deno.test("a process actor uses the import map its parent was given", async () => {
  const dir = await project({ "map.json": JSON.stringify({ imports: IMPORTS }) });
  try {
    assert.deepEqual(await runApp(dir, ["--import-map=map.json", "main.ts"]), BOTH);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resolutionFlags() keeps the flags that decide resolution, with absolute paths", () => {
  const argv = [
    "/usr/bin/deno",
    "run",
    "-A",
    "-c",
    "app.json",
    "--import-map=map.json",
    "--lock=locks/deno.lock",
    "--node-modules-dir=auto",
    "--location",
    "https://example.com",
    "--cached-only",
    "main.ts",
    "--config",
    "not-ours.json",
  ];
  assert.deepEqual(resolutionFlags(argv, "/app"), [
    "--config=/app/app.json",
    "--import-map=/app/map.json",
    "--lock=/app/locks/deno.lock",
    "--node-modules-dir=auto",
    "--cached-only",
  ]);
  assert.deepEqual(resolutionFlags(["deno", "test", "--no-lock", "tests/"], "/app"), ["--no-lock"]);
  assert.deepEqual(resolutionFlags(["deno", "run", "--config=file:///x.json", "a.ts"], "/app"), [
    "--config=file:///x.json",
  ]);
});

Deno.test("sharedV8Flags() keeps the young-generation bound of the flags before the script", () => {
  const argv = (...args: string[]) => ["/usr/bin/deno", ...args];
  assert.deepEqual(
    sharedV8Flags(argv("run", "-A", "--v8-flags=--expose-gc,--max-semi-space-size=2", "app.ts")),
    ["--max-semi-space-size=2"],
  );
  // The last one wins, as in V8; a value flag's own value is skipped, not taken for the script.
  assert.deepEqual(
    sharedV8Flags(
      argv(
        "run",
        "--v8-flags=--max-semi-space-size=2",
        "--config",
        "deno.json",
        "--v8-flags=--max-semi-space-size=4",
        "app.ts",
      ),
    ),
    ["--max-semi-space-size=4"],
  );
  // What follows the script is the script's; other V8 flags stay the parent's.
  assert.deepEqual(sharedV8Flags(argv("run", "app.ts", "--v8-flags=--max-semi-space-size=2")), []);
  assert.deepEqual(sharedV8Flags(argv("run", "--v8-flags=--max-old-space-size=64", "a.ts")), []);
  assert.deepEqual(sharedV8Flags(argv("run", "--v8-flags=--max-semi-space-size=x", "a.ts")), []);
});

for (const flags of [[], ["--v8-flags=--max-semi-space-size=3"]]) {
  Deno.test(`a process actor's child ${flags.length ? "shares the" : "gets no"} young-generation bound of its parent's command line`, async () => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", ...flags, new URL("./fixtures/v8_flags_parent.ts", import.meta.url).href],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const childFlags = JSON.parse(new TextDecoder().decode(stdout)) as string[];
    assert.equal(childFlags.length, 1, String(childFlags));
    const semi = childFlags[0]!.split(",").filter((flag) => flag.startsWith("--max-semi-space"));
    assert.deepEqual(semi, flags.length ? ["--max-semi-space-size=3"] : []);
    assert.match(childFlags[0]!, /--max-old-space-size=\d+/);
  });
}

Deno.test("workerOptionsFlag() finds the flag before the script, past a flag's value", () => {
  const argv = (...args: string[]) => ["/usr/bin/deno", ...args];
  assert.equal(workerOptionsFlag(argv("run", "--unstable-worker-options", "app.ts")), true);
  assert.equal(workerOptionsFlag(argv("run", "--unstable", "app.ts")), true);
  // A flag's separate value is not the script (it was taken for one, and the flag missed).
  assert.equal(
    workerOptionsFlag(argv("run", "--config", "deno.json", "--unstable-worker-options", "a.ts")),
    true,
  );
  assert.equal(workerOptionsFlag(argv("run", "app.ts", "--unstable-worker-options")), false);
  assert.equal(workerOptionsFlag(argv("run", "-A", "app.ts")), false);
});

Deno.test("discoverConfig() finds the nearest deno.json or deno.jsonc at or above a directory", async () => {
  const root = await Deno.makeTempDir();
  try {
    const inner = path.join(root, "a", "b");
    await Deno.mkdir(inner, { recursive: true });
    await Deno.writeTextFile(path.join(root, "deno.jsonc"), "{}");
    assert.equal(discoverConfig(inner), path.join(root, "deno.jsonc"));
    await Deno.writeTextFile(path.join(root, "a", "deno.json"), "{}");
    assert.equal(discoverConfig(inner), path.join(root, "a", "deno.json"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
