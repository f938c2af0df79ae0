// The layout's rules, read from the source: every published module's imports
// (static, dynamic, type-only, and module URLs built with `import.meta.url`)
// must point down the layers below, never into another folder's `_private`
// file, and never around a cycle. ARCHITECTURE.md draws the same layers.
// Tests, benchmarks and examples sit above every layer and may look inside.

import assert from "node:assert/strict";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/**
 * The layers, lowest first. A file belongs to the layer with the longest
 * matching path; it may import its own layer and the layers in `may`.
 */
export const LAYERS: readonly Layer[] = (() => {
  const layer = (name: string, paths: string[], may: string[]): Layer => ({ name, paths, may });
  /** What a layer directly above `below` may import: `below` and all it may. */
  const over = (...below: Layer[]) => [...new Set(below.flatMap((l) => [...l.may, l.name]))];
  const internal = layer("internal", ["internal/"], []);
  const contract = layer(
    "transport contract",
    ["transports/transport.ts", "transports/codec.ts", "transports/_v8_wire.ts"],
    over(internal),
  );
  const transports = layer("transports", ["transports/"], over(contract));
  const preset = layer(
    "transport preset",
    ["transports/preset.ts", "transports/mod.ts"],
    over(transports),
  );
  // The actor layers see the transport contract, never an implementation;
  // only the system takes the built-ins, from the preset.
  const sync = layer("sync", ["actors/sync/"], over(internal));
  const core = layer("core", ["actors/core/"], over(contract, sync));
  const hosts = layer("hosts", ["actors/hosts/"], over(core));
  // Telemetry sits beside the hosts: it sees the core (its hooks), and only
  // the system wires it in; the core never imports it.
  const telemetry = layer("telemetry", ["actors/telemetry/"], over(core));
  const supervision = layer("supervision", ["actors/supervision/"], over(hosts));
  // The cluster layer (actors over NATS) sits above the core, beside the
  // hosts: it serves and calls refs, and neither the core nor the system
  // imports it (its own entry, `@troupe/troupe/nats`, is its front door).
  const cluster = layer("cluster", ["actors/cluster/"], over(core));
  const system = layer(
    "system",
    ["actors/system/"],
    over(supervision, telemetry, preset).filter((n) => n !== "transports"),
  );
  const entries = layer("entries", ["mod.ts", "actor.ts"], over(system, preset));
  const cli = layer("cli", ["cli/"], over(entries, cluster));
  return [
    internal,
    contract,
    transports,
    preset,
    sync,
    core,
    hosts,
    telemetry,
    supervision,
    cluster,
    system,
    entries,
    cli,
  ];
})();

/** One layer of the layout. */
export interface Layer {
  name: string;
  /** Folders (ending in `/`) or files, relative to the package root. */
  paths: string[];
  /** The layers below it that it may import. */
  may: string[];
}

/** The layer of a file, by its longest matching path, or undefined outside the package. */
export function layerOf(file: string, layers: readonly Layer[] = LAYERS): Layer | undefined {
  let best: Layer | undefined;
  let bestLength = -1;
  for (const layer of layers) {
    for (const p of layer.paths) {
      const match = p.endsWith("/") ? file.startsWith(p) : file === p;
      if (match && p.length > bestLength) {
        best = layer;
        bestLength = p.length;
      }
    }
  }
  return best;
}

/** Removes comments (doc examples import the package by name; they are not arrows). */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

const SPECIFIER = new RegExp(
  [
    String.raw`\bfrom\s*["']([^"']+)["']`,
    String.raw`\bimport\s*["']([^"']+)["']`,
    String.raw`\bimport\s*\(\s*["']([^"']+)["']\s*\)`,
    String.raw`new URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)`,
  ].join("|"),
  "g",
);

/** The relative modules a source file points at, as package-root paths. */
export function importsOf(file: string, source: string): string[] {
  const found = new Set<string>();
  for (const match of stripComments(source).matchAll(SPECIFIER)) {
    const specifier = match[1] ?? match[2] ?? match[3] ?? match[4];
    if (!specifier.startsWith(".")) continue;
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
    if (/\.(ts|js|json)$/.test(target)) found.add(target);
  }
  return [...found];
}

/** What breaks the layout, one sentence per broken arrow or cycle. */
export function violations(
  graph: ReadonlyMap<string, readonly string[]>,
  layers: readonly Layer[] = LAYERS,
): string[] {
  const problems: string[] = [];
  for (const [file, imports] of graph) {
    const from = layerOf(file, layers);
    for (const target of imports) {
      const to = layerOf(target, layers);
      if (from && to && from !== to && !from.may.includes(to.name)) {
        problems.push(`${file} (${from.name}) imports ${target} (${to.name}): not a layer below`);
      }
      const base = path.posix.basename(target);
      if (base.startsWith("_") && path.posix.dirname(target) !== path.posix.dirname(file)) {
        problems.push(`${file} imports ${target}: a private module of another folder`);
      }
    }
  }
  for (const cycle of cycles(graph)) {
    problems.push(`import cycle: ${[...cycle, cycle[0]].join(" -> ")}`);
  }
  return problems;
}

/** Every strongly connected group of more than one file (or a file importing itself). */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    indices.set(node, index);
    low.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indices.get(next)!));
      }
    }
    if (low.get(node) === indices.get(node)) {
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        group.push(member);
      } while (member !== node);
      if (group.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(group.reverse());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!indices.has(node)) visit(node);
  return found;
}

/** The published source files (no tests) and their imports. */
export async function packageGraph(root = ROOT): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  const add = async (file: string) => {
    graph.set(file, importsOf(file, await Deno.readTextFile(path.join(root, file))));
  };
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(path.join(root, dir))) {
      const file = `${dir}${entry.name}`;
      if (entry.isDirectory) await walk(`${file}/`);
      else if (file.endsWith(".ts") && !file.endsWith("_test.ts")) await add(file);
    }
  };
  for (const file of ["mod.ts", "actor.ts"]) await add(file);
  for (const dir of ["internal/", "actors/", "transports/", "cli/"]) await walk(dir);
  return graph;
}

Deno.test("every published module belongs to a layer", async () => {
  const graph = await packageGraph();
  const outside = [...graph.keys()].filter((file) => layerOf(file) === undefined);
  assert.deepEqual(outside, []);
});

Deno.test("the package's imports point down the layers, into no other folder's private files, around no cycle", async () => {
  assert.deepEqual(violations(await packageGraph()), []);
});

/** Each layer folder's README and the layer whose rule it states. */
const FOLDER_READMES: Record<string, string> = {
  "internal/": "internal",
  "transports/": "transports",
  "actors/sync/": "sync",
  "actors/core/": "core",
  "actors/hosts/": "hosts",
  "actors/telemetry/": "telemetry",
  "actors/supervision/": "supervision",
  "actors/system/": "system",
  "actors/cluster/": "cluster",
  "cli/": "cli",
};

Deno.test("each layer folder's README says what the folder may import, as the check enforces", async () => {
  for (const [folder, name] of Object.entries(FOLDER_READMES)) {
    const text = await Deno.readTextFile(path.join(ROOT, folder, "README.md"));
    const line = text.replace(/\n(?!\n)/g, " ").match(/May import: ([^\n]*?)\.( |$)/)?.[1];
    assert.ok(line !== undefined, `${folder}README.md has no "May import:" sentence`);
    const layer = LAYERS.find((l) => l.name === name)!;
    // Layers that live inside the folder itself go without saying.
    const outside = (l: Layer) => !l.paths.every((p) => p.startsWith(folder));
    const expected = LAYERS.filter((l) => layer.may.includes(l.name) && outside(l));
    let stated: (Layer | string)[];
    if (line === "nothing of the package") stated = [];
    else if (line === "every layer of the package") stated = LAYERS.filter((l) => l !== layer);
    else {
      stated = [...line.matchAll(/`([^`]+)`/g)].map(([, p]) =>
        layerOf(p.endsWith("/") ? `${p}x.ts` : p) ?? p
      );
    }
    const names = (list: (Layer | string)[]) =>
      [...new Set(list.map((l) => typeof l === "string" ? l : l.name))].sort();
    assert.deepEqual(names(stated), names(expected), `${folder}README.md`);
  }
});

Deno.test("the layout check names an upward import, a private import and a cycle", () => {
  const graph = new Map<string, string[]>([
    ["transports/queue.ts", ["actors/core/cell.ts"]],
    ["actors/core/cell.ts", ["actors/hosts/_stdio.ts", "actors/core/actor_ref.ts"]],
    ["actors/core/actor_ref.ts", ["actors/core/cell.ts"]],
    ["actors/hosts/_stdio.ts", []],
  ]);
  assert.deepEqual(violations(graph), [
    "transports/queue.ts (transports) imports actors/core/cell.ts (core): not a layer below",
    "actors/core/cell.ts (core) imports actors/hosts/_stdio.ts (hosts): not a layer below",
    "actors/core/cell.ts imports actors/hosts/_stdio.ts: a private module of another folder",
    "import cycle: actors/core/actor_ref.ts -> actors/core/cell.ts -> actors/core/actor_ref.ts",
  ]);
});

Deno.test("the layout check reads static, type-only, dynamic and URL imports but not doc comments", () => {
  const source = [
    `import { a } from "./a.ts";`,
    `import type { B } from "../b/b.ts";`,
    `export * from "./c.ts";`,
    `const d = await import("./d.ts");`,
    `const e = new URL("./_e.ts", import.meta.url).href;`,
    `import "./f.ts";`,
    `import { x } from "npm:x";`,
    `/**`,
    ` * import { g } from "./g.ts";`,
    ` */`,
    `// import { h } from "./h.ts";`,
  ].join("\n");
  assert.deepEqual(importsOf("actors/core/z.ts", source).sort(), [
    "actors/b/b.ts",
    "actors/core/_e.ts",
    "actors/core/a.ts",
    "actors/core/c.ts",
    "actors/core/d.ts",
    "actors/core/f.ts",
  ]);
});

Deno.test("only the cluster layer imports the NATS client, so mod.ts users never load it", async () => {
  const outside: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(path.join(ROOT, dir))) {
      const file = `${dir}${entry.name}`;
      if (entry.isDirectory) await walk(`${file}/`);
      else if (file.endsWith(".ts") && !file.startsWith("actors/cluster/")) {
        const source = stripComments(await Deno.readTextFile(path.join(ROOT, file)));
        if (/["'](npm:)?@nats-io\//.test(source)) outside.push(file);
      }
    }
  };
  for (const dir of ["internal/", "actors/", "transports/", "cli/"]) await walk(dir);
  for (const file of ["mod.ts", "actor.ts"]) {
    if (/@nats-io\//.test(stripComments(await Deno.readTextFile(path.join(ROOT, file))))) {
      outside.push(file);
    }
  }
  assert.deepEqual(outside, []);
});
