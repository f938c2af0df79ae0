// Scenario 8: ten child actors each add 1 to one shared value; the result is exactly 10.
// deno run --allow-read --allow-write --allow-net examples/08_many_writers.ts [--transport queue|pipe|ring|socket]
// Worker actors only: processes share no memory. --allow-write and --allow-net serve the socket transport.
import { parseArgs } from "node:util";
import { ActorSystem, SharedValue } from "../mod.ts";
import type { adder } from "./actors/adder.ts";

const { values } = parseArgs({ options: { transport: { type: "string" } } });
await using system = await ActorSystem.start();
const total = SharedValue.of("i32", 0);
const url = new URL("./actors/adder.ts", import.meta.url);
const writers = await Promise.all(
  Array.from({ length: 10 }, () =>
    system.spawn<typeof adder>(url, {
      transport: values.transport,
      args: { counter: total.share() },
    })),
);
await Promise.all(writers.map((writer) => writer.ask("add", 1)));
console.log(`${writers.length} writers, value = ${total.load()}`);
