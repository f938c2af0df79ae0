/**
 * What serving names from the actors' own threads (`ExposeOptions.inActor`) costs: spawns N echo
 * worker actors, exposes each under its own name (with `inActor` when the first argument is
 * `1`), waits until every actor's thread serves its name, and prints the process's RSS growth
 * per actor and how long the takeover took. Each actor's thread then holds a NATS client of its
 * own (the client and Deno's Node compatibility layer loaded into its isolate) and a connection.
 *
 * Usage: `deno run -A bench/_in_actor_cost_probe.ts 0|1 [N]`
 *
 * @module
 */

import { ActorSystem } from "../mod.ts";
import { NatsNode } from "../actors/cluster/mod.ts";
import { startNatsServer } from "../tests/nats/_server.ts";
import { delay } from "./baselines/_util.ts";

const ECHO = new URL("./actors/echo.ts", import.meta.url);
const inActor = Deno.args[0] === "1";
const n = Number(Deno.args[1] ?? 10);
const rss = () => Deno.memoryUsage().rss / 2 ** 20;

/** Measures, then lets everything go (the server too: `Deno.exit` alone would skip that). */
async function measure(): Promise<void> {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  await using node = await NatsNode.connect({ servers: server.url, namespace: "cost" });
  const refs = [];
  for (let i = 0; i < n; i++) refs.push(await system.spawn(ECHO));
  await delay(500);
  const before = rss();
  const events = node.events();
  const started = performance.now();
  for (let i = 0; i < n; i++) await node.expose(`echo${i}`, refs[i]!, { inActor });
  if (inActor) {
    let serving = 0;
    for await (const event of events) {
      if (event.type === "nats-served-in-actor" && event.serving && ++serving === n) break;
    }
  }
  const ms = performance.now() - started;
  await delay(1000);
  const after = rss();
  console.log(JSON.stringify({
    inActor,
    actors: n,
    rssBeforeMiB: Number(before.toFixed(1)),
    rssAfterMiB: Number(after.toFixed(1)),
    perActorMiB: Number(((after - before) / n).toFixed(2)),
    takeoverMs: Math.round(ms),
  }));
}

await measure();
// Ends what the NATS client may still hold open; everything of ours is closed by now.
Deno.exit(0);
