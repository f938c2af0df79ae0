// What a JSR user gets: the files `deno publish` would upload, and nothing
// else. The test copies exactly that file set (from `deno publish --dry-run`)
// into a temporary directory and checks there that the README's links and
// images point at published files, that every module's doc examples type-check
// and the entries' examples run, and that an app outside it imports the
// package by name.
import assert from "node:assert/strict";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Runs deno with `args` in `cwd`; fails the test with its output on a non-zero exit. */
async function deno(cwd: string, args: string[], ms = 120_000): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(ms),
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(
    out.code,
    0,
    `deno ${args.slice(0, 4).join(" ")} ... exited ${out.code}:\n${text.slice(-4000)}`,
  );
  return text;
}

/** The package-relative paths `deno publish` would upload. */
async function publishedFiles(): Promise<string[]> {
  const text = await deno(ROOT, ["publish", "--dry-run", "--allow-dirty"]);
  const files = [...text.matchAll(/^\s+(file:\/\/\S+) \(/gm)].map((m) =>
    path.relative(ROOT, fileURLToPath(m[1]!))
  );
  assert.ok(files.length > 50, `the dry run listed ${files.length} files:\n${text.slice(-2000)}`);
  return files;
}

/** A directory holding only the published files. */
async function packageImage(files: string[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "troupe-published-" });
  for (const file of files) {
    await Deno.mkdir(path.join(dir, path.dirname(file)), { recursive: true });
    await Deno.copyFile(path.join(ROOT, file), path.join(dir, file));
  }
  // The lock file is not published; the user's own project has one. Reuse the
  // checkout's so npm packages resolve to the versions CI has cached.
  await Deno.copyFile(path.join(ROOT, "deno.lock"), path.join(dir, "deno.lock"));
  return dir;
}

/** The README's relative link and image targets (anchors and absolute URLs left out). */
function relativeTargets(markdown: string): string[] {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
  const targets = [...withoutCode.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
  return targets.filter((t) => !t.startsWith("#") && !/^[a-z][a-z0-9+.-]*:/i.test(t))
    .map((t) => t.split("#")[0]!);
}

/**
 * Where jsr.io sends a README link of a package with no GitHub repository
 * linked: the rule of jsr-io/jsr's `get_url_rewriter` (api/src/docs.rs) for a
 * README. Anchors and protocol-relative URLs stay; a root-relative link and a
 * relative one both resolve against the package's own files of that version.
 * (With a repository linked, jsr.io sends them to the repository's HEAD
 * instead; the paths are the same there.)
 */
function jsrReadmeHref(target: string, pkg: string, version: string): string {
  if (target.startsWith("#") || target.startsWith("//")) return target;
  const base = `/${pkg}/${version}`;
  return target.startsWith("/") ? `${base}/${target.slice(1)}` : `${base}/${target}`;
}

/** The published file a jsr.io path names, or undefined when it leaves the package. */
function publishedPath(href: string, pkg: string, version: string): string | undefined {
  const prefix = `/${pkg}/${version}/`;
  if (!href.startsWith(prefix)) return undefined;
  // The browser resolves `./` and `../` in the path: past the version is outside the package.
  const resolved = new URL(href, "https://jsr.io").pathname;
  return resolved.startsWith(prefix)
    ? decodeURIComponent(resolved.slice(prefix.length))
    : undefined;
}

Deno.test("jsrReadmeHref follows jsr.io's rewriting of README links (its own test cases)", () => {
  // The cases of `test_url_rewriter` in jsr-io/jsr, README without a repository.
  assert.equal(jsrReadmeHref("#hello", "@foo/bar", "1.2.3"), "#hello");
  assert.equal(
    jsrReadmeHref("src/assets/logo.svg", "@foo/bar", "1.2.3"),
    "/@foo/bar/1.2.3/src/assets/logo.svg",
  );
  assert.equal(jsrReadmeHref("/LICENSE", "@foo/bar", "1.2.3"), "/@foo/bar/1.2.3/LICENSE");
  assert.equal(
    publishedPath("/@foo/bar/1.2.3/./src/x.ts", "@foo/bar", "1.2.3"),
    "src/x.ts",
  );
  assert.equal(publishedPath("/@foo/bar/1.2.3/../x.ts", "@foo/bar", "1.2.3"), undefined);
});

Deno.test("relativeTargets finds links and images, and skips code, anchors and URLs", () => {
  const md = "[a](examples/x.ts) ![p](docs/p.png) [b](#sec) [c](https://x.y/z)\n" +
    "`[d](nope.ts)`\n```md\n[e](nope2.ts)\n```\n[f](ARCHITECTURE.md#layers)";
  assert.deepEqual(relativeTargets(md), ["examples/x.ts", "docs/p.png", "ARCHITECTURE.md"]);
});

Deno.test({
  name:
    "the published files alone: README links resolve, doc examples check and run, import by name",
  // Sanitizers off: the test only runs child processes it awaits.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const files = await publishedFiles();
    const published = new Set(files);
    const image = await packageImage(files);
    try {
      const readme = await Deno.readTextFile(path.join(image, "README.md"));
      assert.match(readme, /deno add jsr:@troupe\/troupe/, "the README has an install line");
      const missing = relativeTargets(readme).filter((t) => !published.has(path.normalize(t)));
      assert.deepEqual(missing, [], "README links to files that are not published");
      // On jsr.io, with no repository linked, each link opens the published file itself.
      const { name, version } = JSON.parse(await Deno.readTextFile(path.join(image, "deno.json")));
      const offJsr = relativeTargets(readme).filter((t) => {
        const file = publishedPath(jsrReadmeHref(t, name, version), name, version);
        return file === undefined || !published.has(file);
      });
      assert.deepEqual(
        offJsr,
        [],
        "README links that jsr.io would not resolve to a published file",
      );

      // Every published module's doc examples type-check from the image alone.
      const modules = files.filter((f) => f.endsWith(".ts"));
      await deno(image, ["check", "--doc", "--quiet", ...modules]);
      // The entries' examples run there too (they spawn real actors).
      await deno(image, [
        "test",
        "--doc",
        "--no-check",
        "-A",
        "--unstable-worker-options",
        "mod.ts",
        "actor.ts",
        "actors/supervision/pool.ts",
      ]);

      // An app of its own imports the package by name from the image, as
      // `deno add` would map it, and runs a worker and a process actor.
      const app = await Deno.makeTempDir({ prefix: "troupe-user-" });
      try {
        const mod = pathToFileURL(path.join(image, "mod.ts")).href;
        const actor = pathToFileURL(path.join(image, "actor.ts")).href;
        const counter = pathToFileURL(path.join(image, "examples/actors/counter.ts")).href;
        const imports = { "@troupe/troupe": mod, "@troupe/troupe/actor": actor };
        await Deno.writeTextFile(path.join(app, "deno.json"), JSON.stringify({ imports }));
        // An actor of the app's own that reads 64 KiB blocks in place on the ring.
        await Deno.writeTextFile(
          path.join(app, "lender.ts"),
          `import { defineActor } from "@troupe/troupe/actor";
export const lender = defineActor({
  lendBytes: true,
  init: () => ({ sum: 0, lent: 0 }),
  handlers: {
    take(state, bytes: Uint8Array) {
      for (const byte of bytes) state.sum += byte;
      if (bytes.buffer instanceof SharedArrayBuffer) state.lent++;
    },
    seen: (state) => state,
  },
});
`,
        );
        await Deno.writeTextFile(
          path.join(app, "main.ts"),
          `import { ActorSystem } from "@troupe/troupe";
import type { counter } from "${counter}";
import type { lender } from "./lender.ts";
await using system = await ActorSystem.start();
const out: unknown[] = [];
for (const host of ["worker", "process"] as const) {
  const ref = await system.spawn<typeof counter>(new URL("${counter}"), { host });
  await ref.tell("inc", 3);
  out.push(await ref.ask("get", undefined, { timeout: 20_000 }));
}
const ring = await system.spawn<typeof lender>(new URL("./lender.ts", import.meta.url), {
  transport: "ring",
});
let sum = 0;
for (let i = 0; i < 64; i++) {
  const block = new Uint8Array(65536).fill(i + 1);
  sum += 65536 * (i + 1);
  void ring.tell("take", block);
}
const seen = await ring.ask("seen", undefined, { timeout: 20_000 });
out.push(seen.sum === sum, seen.lent > 0);
console.log(JSON.stringify(out));
`,
        );
        const text = await deno(app, ["run", "-A", "main.ts"]);
        assert.match(text, /\[3,3,true,true\]/);
      } finally {
        await Deno.remove(app, { recursive: true });
      }
    } finally {
      await Deno.remove(image, { recursive: true });
    }
  },
});
