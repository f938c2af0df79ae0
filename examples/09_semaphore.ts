// Scenario 9, Semaphore(2): three child actors, at most two inside at once; a crashed holder's permit comes back.
// deno run --allow-read --allow-write --allow-net examples/09_semaphore.ts [--transport queue|pipe|ring|socket]
// Worker actors only: the gauge that measures the peak is shared memory. --allow-write and --allow-net serve the socket transport.
import { parseArgs } from "node:util";
import { ActorSystem } from "../mod.ts";
import type { guarded } from "./actors/guarded.ts";

const { values } = parseArgs({ options: { transport: { type: "string" } } });
await using system = await ActorSystem.start();
const db = system.semaphore("db", 2); // owned by the system; create it before spawning
const gauge = new SharedArrayBuffer(12); // the actors count who is inside here
const url = new URL("./actors/guarded.ts", import.meta.url);
const spawn = () => system.spawn<typeof guarded>(url, { transport: values.transport, args: gauge });
const holders = await Promise.all([spawn(), spawn(), spawn()]);
const seen = await Promise.all(holders.map((holder) => holder.ask("enter", holders.length)));
console.log(`peak concurrency = ${Math.max(...seen)}`);

// In Python a holder that dies keeps its permit forever. Here it comes back.
const doomed = await spawn();
const crash = await doomed.ask("holdThenCrash").catch((e: Error) => e.name);
await system.watch(doomed);
console.log(`a holder died (${crash}); permits free: ${db.available} of ${db.permits}`);
