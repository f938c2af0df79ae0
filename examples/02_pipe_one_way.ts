// Scenario 2, Pipe(duplex=False): a child actor only sends, the parent only receives.
// deno run --allow-read --allow-write --allow-net --allow-run examples/02_pipe_one_way.ts [--host worker|process] [--transport queue|pipe|ring|socket]
// --allow-run starts process actors; --allow-write and --allow-net serve sockets (the socket transport, and pipe ends given to process actors).
import { parseArgs } from "node:util";
import { ActorSystem, type HostKind, Pipe } from "../mod.ts";
import type { writer } from "./actors/writer.ts";

const { values } = parseArgs({
  options: { host: { type: "string", default: "worker" }, transport: { type: "string" } },
});
await using system = await ActorSystem.start();
const [output, input] = Pipe<string>({ duplex: false }); // output receives, input sends
await using reader = output; // a ReadConnection: no send()
const child = await system.spawn<typeof writer>(new URL("./actors/writer.ts", import.meta.url), {
  host: values.host as HostKind,
  transport: values.transport,
  args: input,
});
await child.tell("write", 3);
const lines = await Array.fromAsync(reader); // until the child closes its end
console.log(`received ${lines.length} lines: ${lines.join(", ")}`);

// Misuse is caught twice: by the type checker, and at run time.
try {
  // @ts-expect-error: the receiving end of a one-way pipe has no send()
  reader.send("oops");
} catch (error) {
  console.log(`send on the receiving end: ${error}`);
}
