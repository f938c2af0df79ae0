// Scenario 3: five child actors each send "hello N" (64 KiB each) to one receiver; all arrive whole.
// deno run --allow-read --allow-write --allow-net --allow-run examples/03_many_senders.ts [--host worker|process] [--transport queue|pipe|ring|socket]
// --allow-run starts process actors; --allow-write and --allow-net serve sockets (the socket transport, and pipe ends given to process actors).
import { parseArgs } from "node:util";
import { ActorSystem, type HostKind } from "../mod.ts";
import { PADDING, type sender } from "./actors/sender.ts";

const { values } = parseArgs({
  options: { host: { type: "string", default: "worker" }, transport: { type: "string" } },
});
await using system = await ActorSystem.start();
// Writers sharing one Python pipe can interleave writes over 4 KiB. Many
// senders and one receiver share a queue instead: each put is one whole item.
const inbox = system.queue<string>("inbox");
const url = new URL("./actors/sender.ts", import.meta.url);
const senders = await Promise.all([0, 1, 2, 3, 4].map((n) =>
  system.spawn<typeof sender>(url, {
    host: values.host as HostKind,
    transport: values.transport,
    args: n,
  })
));
for (const child of senders) await child.tell("send", "inbox");
const received: string[] = [];
for (const _ of senders) received.push(await inbox.get({ timeout: 10_000 }));
const whole = received.filter((m) => /^hello \d \.+$/.test(m) && m.length === 8 + PADDING);
const names = whole.map((m) => m.slice(0, 7)).sort();
console.log(`received ${received.length} messages, ${whole.length} whole: ${names.join(", ")}`);
