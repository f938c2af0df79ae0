// `system.tree()` carries each node's state: what the observer page and
// `troupe status --tree` draw, read in one sample instead of being pieced
// together from `actors()` and the events.
import assert from "node:assert/strict";
import { ActorSystem, type SupervisionNode } from "../mod.ts";
import type { crashy } from "./fixtures/crashy_actor.ts";
import { nextEvent } from "./_helpers.ts";

const CRASHY = new URL("./fixtures/crashy_actor.ts", import.meta.url);

/** The tree as `id:state` lines, depth-first, indented by depth. */
function lines(nodes: readonly SupervisionNode[], depth = 0): string[] {
  return nodes.flatMap((node) => [
    `${"  ".repeat(depth)}${node.id}:${node.state}`,
    ...lines(node.children ?? [], depth + 1),
  ]);
}

Deno.test("tree() gives each supervisor and actor its state: running, then restarting in a backoff, gave-up while the parent waits", async () => {
  await using system = await ActorSystem.start();
  const events = system.events();
  // The parent's backoff is long, so the nested supervisor that gave up and
  // the actor waiting for its restart stay in those states while we look.
  const root = await system.supervise({
    id: "root",
    backoff: { initialMs: 60_000, maxMs: 60_000, jitter: false },
    children: [
      { id: "a", module: CRASHY },
      { id: "inner", maxRestarts: 0, children: [{ id: "deep", module: CRASHY }] },
    ],
  });
  assert.deepEqual(lines(system.tree()), [
    "root:running",
    "  a:running",
    "  inner:running",
    "    deep:running",
  ]);

  await root.ref<typeof crashy>("a").ask("crash").catch(() => {});
  await nextEvent(events, (e) => e.type === "crashed" && e.id === "a");
  await root.ref<typeof crashy>("deep").ask("crash").catch(() => {});
  await nextEvent(events, (e) => e.type === "gave-up" && e.id === "inner");
  assert.deepEqual(lines(system.tree()), [
    "root:running",
    "  a:restarting",
    "  inner:gave-up",
    "    deep:restarting",
  ]);
  await events.return?.();
});

Deno.test("tree() shows a supervisor being stopped as stopping, and it leaves the tree once stopped", async () => {
  await using system = await ActorSystem.start();
  const root = await system.supervise({
    id: "root",
    children: [{ id: "a", module: CRASHY }, { id: "b", module: CRASHY }],
  });
  const stopping = root.stop();
  assert.equal(system.tree()[0]?.state, "stopping");
  await stopping;
  assert.deepEqual(lines(system.tree()), [], "a stopped top-level supervisor leaves the tree");
});
