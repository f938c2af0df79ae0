// Scenario 5: a pool of four child actors handles 0..9; closing it sends one sentinel per worker.
// deno run --allow-read --allow-write --allow-net --allow-run examples/05_pool_sentinels.ts [--host worker|process] [--transport queue|pipe|ring|socket]
// --allow-run starts process actors; --allow-write and --allow-net serve sockets (the socket transport, and pipe ends given to process actors).
import { parseArgs } from "node:util";
import { ActorSystem, type HostKind } from "../mod.ts";
import type { poolWorker } from "./actors/pool_worker.ts";

const { values } = parseArgs({
  options: { host: { type: "string", default: "worker" }, transport: { type: "string" } },
});
await using system = await ActorSystem.start();
const results = system.queue<Uint8Array>("results");
const pool = await system.pool<typeof poolWorker>(
  new URL("./actors/pool_worker.ts", import.meta.url),
  { size: 4, host: values.host as HostKind, transport: values.transport },
);
for (let i = 0; i < 10; i++) await pool.tell("handle", i); // each puts a 1 MiB result
await pool.drain(); // like JoinableQueue.join(): every task handled
await pool.close(); // exactly one stop sentinel per worker, behind its tasks
console.log(`workers that exited cleanly: ${system.stats().exits.normal} of ${pool.size}`);

// Python deadlocks joining workers that put big items nobody has read yet.
// These workers exited with 10 MiB of results still queued; read them now.
const firsts: number[] = [];
while (results.size > 0) firsts.push((await results.get())[0]!);
console.log(`results, each handled once: ${firsts.sort((a, b) => a - b).join(" ")}`);
