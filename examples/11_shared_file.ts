// Scenario 11: two child actors read the same file the parent wrote.
// deno run --allow-read --allow-write --allow-net --allow-run examples/11_shared_file.ts [--host worker|process] [--transport queue|pipe|ring|socket]
// --allow-write writes the file; --allow-run starts process actors; --allow-net serves sockets (the socket transport).
import { parseArgs } from "node:util";
import { ActorSystem, type HostKind } from "../mod.ts";
import type { fileReader } from "./actors/file_reader.ts";

const { values } = parseArgs({
  options: { host: { type: "string", default: "worker" }, transport: { type: "string" } },
});
await using system = await ActorSystem.start();
const path = await Deno.makeTempFile({ suffix: ".txt" });
await Deno.writeTextFile(path, "alpha\nbeta\ngamma\ndelta\n");
const url = new URL("./actors/file_reader.ts", import.meta.url);
const options = {
  host: values.host as HostKind,
  transport: values.transport,
  // A process actor may do nothing unless granted: let it read this one file.
  permissions: values.host === "process" ? { read: [path] } : undefined,
};
const readers = await Promise.all([1, 2].map(() => system.spawn<typeof fileReader>(url, options)));
const summaries = await Promise.all(readers.map((reader) => reader.ask("summarize", path)));
for (const [i, { lines, first, last }] of summaries.entries()) {
  console.log(`reader ${i + 1}: ${lines} lines, from "${first}" to "${last}"`);
}
await Deno.remove(path);
