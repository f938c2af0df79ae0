// Scenario 4, JoinableQueue: the parent puts 0..9, one child actor takes them; join, then the sentinel.
// deno run --allow-read --allow-write --allow-net --allow-run examples/04_queue_one_worker.ts [--host worker|process] [--transport queue|pipe|ring|socket]
// --allow-run starts process actors; --allow-write and --allow-net serve sockets (the socket transport, and pipe ends given to process actors).
import { parseArgs } from "node:util";
import { ActorSystem, type HostKind } from "../mod.ts";
import type { consumer } from "./actors/consumer.ts";

const { values } = parseArgs({
  options: { host: { type: "string", default: "worker" }, transport: { type: "string" } },
});
await using system = await ActorSystem.start();
const jobs = system.queue<number>("jobs", { capacity: 4 });
const worker = await system.spawn<typeof consumer>(
  new URL("./actors/consumer.ts", import.meta.url),
  { host: values.host as HostKind, transport: values.transport },
);
const handled = worker.ask("consume", "jobs"); // runs until the sentinel

for (let i = 0; i < 10; i++) await jobs.put(i); // waits while 4 are queued
// join() returns once every item is marked done. It takes a timeout, and an
// item taken by an actor that crashed goes back to the queue: no endless join.
await jobs.join({ timeout: 10_000 });
console.log(`join returned: ${jobs.unfinished} items unfinished`);
jobs.close(); // the sentinel: one close ends every consumer, after the last item
console.log(`the worker handled ${(await handled).join(" ")}, then stopped at the sentinel`);
