// Scenario 7, Value and Array: two child actors each add 1 a thousand times; the counter ends at 2000.
// deno run --allow-read --allow-write --allow-net examples/07_shared_counter.ts [--transport queue|pipe|ring|socket] [--times N]
// Worker actors only: processes share no memory. --allow-write and --allow-net serve the socket transport.
import { parseArgs } from "node:util";
import { ActorSystem, SharedArray, SharedValue } from "../mod.ts";
import type { adder } from "./actors/adder.ts";

const { values } = parseArgs({
  options: { transport: { type: "string" }, times: { type: "string", default: "1000" } },
});
await using system = await ActorSystem.start();
const counter = SharedValue.of("i32", 0); // Value('i', 0)
const tallies = SharedArray.of("i32", 2); // Array('i', 2): both actors add to both slots
const args = { counter: counter.share(), tallies: tallies.share() };
const url = new URL("./actors/adder.ts", import.meta.url);
const [a, b] = await Promise.all([
  system.spawn<typeof adder>(url, { transport: values.transport, args }),
  system.spawn<typeof adder>(url, { transport: values.transport, args }),
]);
// Both add at once. `counter.value += 1` loses updates in Python; add() is atomic.
await Promise.all([a.ask("add", Number(values.times)), b.ask("add", Number(values.times))]);
console.log(`counter = ${counter.load()}`);
console.log(`tallies = [${tallies.toArray().join(", ")}]`);
