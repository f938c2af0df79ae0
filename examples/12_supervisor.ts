// Scenario 12: a supervisor restarts a crashed child actor, and gives up, saying why, after too many crashes.
// deno run --allow-read --allow-write --allow-net --allow-run examples/12_supervisor.ts [--host worker|process] [--transport queue|pipe|ring|socket]
// --allow-run starts process actors; --allow-write and --allow-net serve sockets (the socket transport, and pipe ends given to process actors).
import { parseArgs } from "node:util";
import { ActorSystem, type HostKind, type SupervisorGaveUpError } from "../mod.ts";
import type { flaky } from "./actors/flaky.ts";

const { values } = parseArgs({
  options: { host: { type: "string", default: "worker" }, transport: { type: "string" } },
});
await using system = await ActorSystem.start();
const keeper = await system.supervise({
  id: "keeper",
  maxRestarts: 2, // more than 2 restarts within 10 s and it gives up
  periodMs: 10_000,
  backoff: false,
  children: [{
    id: "service",
    module: new URL("./actors/flaky.ts", import.meta.url),
    host: values.host as HostKind,
    transport: values.transport,
  }],
});
const service = keeper.ref<typeof flaky>("service"); // valid across restarts
for (let crash = 1; crash <= 3; crash++) {
  const answer = await service.ask("ping"); // waits while the service restarts
  console.log(`service says ${answer} after ${service.stats().restarts} restarts`);
  await service.ask("crash").catch((e: Error) => console.log(`crash ${crash}: ${e.name}`));
}
const error = await keeper.done.then(() => undefined, (e: SupervisorGaveUpError) => e);
console.log(error?.message.split("\n")[0]); // why it gave up, then the crashes
for (const c of error?.crashes ?? []) console.log(`  ${c.id}: ${c.reason} (${c.message})`);
