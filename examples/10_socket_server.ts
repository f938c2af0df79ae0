// Scenario 10: a server actor on TCP 127.0.0.1 reads a client actor's messages until it closes; both prove a shared secret.
// deno run --allow-read --allow-write --allow-net --allow-run examples/10_socket_server.ts [--host worker|process] [--transport queue|pipe|ring|socket]
// --allow-net for TCP; --allow-run starts process actors; --allow-write serves the socket transport (a private Unix socket).
import { parseArgs } from "node:util";
import { ActorSystem, dialSocket, type HostKind } from "../mod.ts";
import type { client, server } from "./actors/socket_peers.ts";

const { values } = parseArgs({
  options: { host: { type: "string", default: "worker" }, transport: { type: "string" } },
});
const host = values.host as HostKind;
await using system = await ActorSystem.start();
const url = new URL("./actors/socket_peers.ts", import.meta.url);
const secret = crypto.randomUUID(); // travels in spawn args, never on a command line
const permissions = host === "process" ? { net: ["127.0.0.1"] } : undefined; // workers inherit
const options = { host, transport: values.transport, permissions };
const srv = await system.spawn<typeof server>(url, { ...options, export: "server", args: secret });
const cli = await system.spawn<typeof client>(url, { ...options, export: "client" });
const port = await srv.ask("port");
const received = srv.ask("receive"); // until the client closes
await cli.ask("send", { port, secret, count: 300 });
const { count, bytes, whole } = await received;
console.log(`server received ${count} messages (${bytes} bytes), ${whole} of them whole`);

// Python's socket has no notion of a peer's identity. Here a wrong secret is refused.
const intruder = await dialSocket({ port, secret: "not the secret, though long" }).catch((e) => e);
console.log(`a client with a wrong secret: ${intruder.name}`);
