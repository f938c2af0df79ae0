/**
 * The Troupe demo: three word-counting actors in three Deno Workers share a
 * text, the parent merges their answers, and everything shuts down cleanly.
 *
 * Run: deno task demo   (or: deno run --allow-read examples/demo.ts)
 *
 * @module
 */
import { ActorError, ActorSystem } from "../mod.ts";
import type { wordCount } from "./actors/word_count.ts";

const TEXT = `It was the best of times, it was the worst of times, it was the age of
wisdom, it was the age of foolishness, it was the epoch of belief, it was the epoch
of incredulity, it was the season of Light, it was the season of Darkness, it was
the spring of hope, it was the winter of despair.`;

const started = performance.now();
await using system = await ActorSystem.start();
const url = new URL("./actors/word_count.ts", import.meta.url);
const workers = await Promise.all(
  ["alpha", "beta", "gamma"].map((id) =>
    system.spawn<typeof wordCount>(url, { id, args: { minLength: 3 } })
  ),
);
console.log(`spawned ${workers.map((w) => w.id).join(", ")} in ${ms(started)}`);

// Send 300 lines round-robin; each reply is a Map, merged as it arrives.
const lines = Array.from({ length: 100 }, () => TEXT.split("\n")).flat();
const totals = new Map<string, number>();
await Promise.all(lines.map(async (line, i) => {
  const counts = await workers[i % workers.length]!.ask("count", line);
  for (const [word, n] of counts) totals.set(word, (totals.get(word) ?? 0) + n);
}));
const top = [...totals].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 5);
console.log(
  `counted ${lines.length} lines; top words: ${top.map(([w, n]) => `${w}=${n}`).join(" ")}`,
);

for (const worker of workers) {
  const { texts, words } = await worker.ask("totals");
  console.log(`  ${worker.id}: ${texts} texts, ${words} words`);
}

// A handler's error comes back typed, and the actor keeps running.
try {
  await workers[0]!.ask("count", "");
} catch (error) {
  if (!(error instanceof ActorError)) throw error;
  console.log(`alpha refused bad input: ${error.remote.name}: ${error.remote.message}`);
}

const result = await system.shutdown({ timeout: 2000 });
console.log(
  `shutdown ${result.clean ? "clean" : "NOT clean"}: stopped ${result.stopped.join(", ")}` +
    ` in ${ms(started)} total`,
);
if (!result.clean) Deno.exitCode = 1;

function ms(since: number): string {
  return `${Math.round(performance.now() - since)} ms`;
}
