// Scenario 1, Pipe(): the parent and a child actor each hold one end of a duplex pipe.
// deno run --allow-read --allow-write --allow-net --allow-run examples/01_pipe_duplex.ts [--host worker|process] [--transport queue|pipe|ring|socket]
// --allow-run starts process actors; --allow-write and --allow-net serve sockets (the socket transport, and pipe ends given to process actors).
import { parseArgs } from "node:util";
import { ActorSystem, type HostKind, Pipe } from "../mod.ts";
import type { greeter } from "./actors/greeter.ts";

const { values } = parseArgs({
  options: { host: { type: "string", default: "worker" }, transport: { type: "string" } },
});
await using system = await ActorSystem.start();
const [mine, theirs] = Pipe<string>(); // two connected ends, like multiprocessing.Pipe()
await using parent = mine; // closed at the end of the script
const child = await system.spawn<typeof greeter>(new URL("./actors/greeter.ts", import.meta.url), {
  host: values.host as HostKind,
  transport: values.transport,
  args: theirs, // the child's end goes with its spawn args, and arrives there as a connection
});
console.log(`parent received: ${await parent.recv({ timeout: 5000 })}`);
await parent.send("hi back");
console.log(`parent received: ${await parent.recv({ timeout: 5000 })}`);

// Python's recv() with no sender blocks forever. Here it times out...
const silence = await parent.recv({ timeout: 100 }).catch((e: Error) => e.name);
console.log(`recv with nothing sent: ${silence}`);
// ...and once the child is gone it says so, at once.
await child.stop();
const gone = await parent.recv({ timeout: 5000 }).catch((e: Error) => e.name);
console.log(`recv after the child stopped: ${gone}`);
