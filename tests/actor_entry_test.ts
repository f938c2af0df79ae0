import assert from "node:assert/strict";
import { ActorSystem } from "../mod.ts";
import type { lean } from "./fixtures/lean_actor.ts";

const LEAN = new URL("./fixtures/lean_actor.ts", import.meta.url);

for (const host of ["worker", "process"] as const) {
  Deno.test(`an actor module importing only @troupe/troupe/actor runs on a ${host} host`, async () => {
    await using system = await ActorSystem.start();
    const queue = system.queue<number>("jobs");
    const ref = await system.spawn<typeof lean>(LEAN, {
      host,
      id: `lean-${host}`,
      args: { greeting: "hi" },
    });
    assert.equal(await ref.ask("hello", "you"), `hi you from lean-${host}`);
    const drained = ref.ask("drain", "jobs");
    await queue.put(1);
    await queue.put(2);
    queue.close();
    assert.deepEqual(await drained, [1, 2]);
    assert.equal((await ref.stop()).reason, "normal");
  });
}

/** The modules `entry` loads when it runs: its static imports, without type-only ones. */
async function runtimeGraph(entry: URL): Promise<string[]> {
  const { stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry.href],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const graph = JSON.parse(new TextDecoder().decode(stdout)) as {
    modules: { specifier: string; dependencies?: { code?: { specifier: string } }[] }[];
  };
  const modules = new Map(graph.modules.map((m) => [m.specifier, m]));
  const root = new URL("../", import.meta.url).href;
  const seen = new Set<string>();
  const visit = (specifier: string) => {
    if (seen.has(specifier)) return;
    seen.add(specifier);
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if (dep.code) visit(dep.code.specifier);
    }
  };
  visit(entry.href);
  return [...seen].map((s) => s.slice(root.length)).sort();
}

Deno.test("@troupe/troupe/actor loads none of the parent's side of the runtime", async () => {
  assert.deepEqual(await runtimeGraph(new URL("../actor.ts", import.meta.url)), [
    "actor.ts",
    "actors/core/define_actor.ts",
    "internal/queue_errors.ts",
  ]);
});
