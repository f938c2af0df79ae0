// Scenario 6: a child actor returns its result through a pipe, a queue and a shared value.
// deno run --allow-read --allow-write --allow-net --allow-run examples/06_results_back.ts [--host worker|process] [--transport queue|pipe|ring|socket]
// --allow-run starts process actors; --allow-write and --allow-net serve sockets (the socket transport, and pipe ends given to process actors).
import { parseArgs } from "node:util";
import { ActorSystem, type HostKind, Pipe, SharedValue } from "../mod.ts";
import type { reporter } from "./actors/reporter.ts";

const { values } = parseArgs({
  options: { host: { type: "string", default: "worker" }, transport: { type: "string" } },
});
const host = values.host as HostKind;
await using system = await ActorSystem.start();
const results = system.queue<Uint8Array>("results");
const [output, input] = Pipe<number>({ duplex: false });
await using pipe = output;
const value = SharedValue.of("i32", 0); // memory is shared with worker actors only
const url = new URL("./actors/reporter.ts", import.meta.url);
const child = await system.spawn<typeof reporter>(url, {
  host,
  transport: values.transport,
  args: { pipe: input, value: host === "worker" ? value.share() : undefined },
});
await child.tell("compute", 6);
console.log(`via pipe: ${await pipe.recv({ timeout: 5000 })}`);
// Python deadlocks joining a child whose big queue items were not drained yet.
// Stopping (joining) the child first is fine here; the 1 MiB item waits.
await child.stop();
const big = await results.get({ timeout: 5000 });
console.log(`via queue: ${big.byteLength} bytes of ${big[0]}`);
console.log(`via shared value: ${host === "worker" ? value.load() : "(worker actors only)"}`);
