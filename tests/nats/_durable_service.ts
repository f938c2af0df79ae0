// A service process for the durable tests: spawns the ledger actor, exposes
// it durably under a name (the durable options as JSON in the fifth
// argument), reports on stdout as JSON lines ("ready", its node's cluster
// events, and the actor's own lines), and shuts down when its stdin ends.
// Usage: deno run -A _durable_service.ts <server url> <namespace> <name> <label> <durable JSON>
import { ActorSystem } from "../../mod.ts";
import { NatsNode } from "../../actors/cluster/mod.ts";
import type { ledger } from "./_durable_actor.ts";

const [servers, namespace, name, label, durable] = Deno.args;
const say = (data: Record<string, unknown>) => console.log(JSON.stringify(data));

const system = await ActorSystem.start();
const node = await NatsNode.connect({
  servers,
  namespace,
  name: `durable-${label}`,
  reconnectWait: 50,
});
const events = (async () => {
  for await (const event of node.events()) say(event);
})();
const ref = await system.spawn<typeof ledger>(new URL("./_durable_actor.ts", import.meta.url), {
  args: { label },
});
await node.expose(name, ref, { durable: JSON.parse(durable) });
say({ type: "ready", label, pid: Deno.pid });

for await (const _ of Deno.stdin.readable) {
  // Nothing is sent on stdin: its end is the signal to stop.
}
await node.close({ timeout: 200 });
await events;
await system.shutdown({ timeout: 500 });
