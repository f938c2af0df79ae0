// `troupe status --nats URL`: the cluster view, from the $SRV.STATS every
// node answers: every exposed actor with its process, pid, host, mailbox
// depth (a durable name's from the broker), messages handled and restarts.
import assert from "node:assert/strict";
import { ActorSystem } from "../../mod.ts";
import { NatsNode } from "../../actors/cluster/mod.ts";
import { startNatsServer } from "./_server.ts";
import { Service } from "./_service.ts";
import { eventually } from "../_helpers.ts";
import type { counter } from "../../examples/actors/counter.ts";

const CLI = new URL("../../cli/mod.ts", import.meta.url);
const COUNTER = new URL("../../examples/actors/counter.ts", import.meta.url);

async function status(...args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI.href, "status", ...args],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

Deno.test("troupe status --nats lists every exposed actor with its process, host, depth, handled and restarts", async () => {
  await using server = await startNatsServer();
  await using service = await Service.start(server.url, "shop", "probe", "a");
  await using system = await ActorSystem.start();
  await using node = await NatsNode.connect({
    servers: server.url,
    namespace: "shop",
    name: "ledger-1",
  });
  const ref = await system.spawn<typeof counter>(COUNTER);
  const exposure = await node.expose("counter", ref, { durable: true });
  await node.lookup<typeof counter>("counter").ask("inc", 2);
  await node.lookupDurable<typeof counter>("counter").tell("inc", 3);
  await node.lookup<typeof import("../fixtures/nats_actor.ts")>("probe").ask("get");
  // Wait until the durable message was acked (the broker's depth is then 0).
  await eventually(() => exposure.stats().durable!.acked === 1, 5000, "the durable one acked");

  const json = await status("--nats", server.url, "--json");
  assert.equal(json.code, 0, json.stderr);
  const { servers, actors } = JSON.parse(json.stdout);
  assert.deepEqual(servers, [server.url]);
  assert.equal(actors.length, 2, json.stdout);
  const [mine, probe] = actors;
  assert.equal(mine.name, "counter");
  assert.equal(mine.namespace, "shop");
  assert.equal(mine.process, "ledger-1");
  assert.equal(mine.pid, Deno.pid);
  assert.equal(mine.host, Deno.hostname());
  assert.equal(mine.durable, true);
  assert.equal(mine.depth, 0);
  assert.equal(mine.handled, 2); // one ask, one durable message
  assert.equal(mine.restarts, 0);
  assert.equal(mine.servedIn, "node");
  assert.equal(mine.dropped, 0);
  assert.equal(probe.name, "probe");
  assert.equal(probe.process, "service-a");
  assert.equal(probe.pid, service.pid);
  assert.equal(probe.durable, false);
  assert.equal(probe.handled, 1);

  const text = await status("--nats", server.url, "--namespace", "shop");
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    /cluster at nats:\/\/127\.0\.0\.1:\d+ {2}2 exposed actors {2}2 processes/,
  );
  assert.match(
    text.stdout,
    /NAME\s+NAMESPACE\s+PROCESS\s+PID\s+HOST\s+MAILBOX\s+HANDLED\s+RESTARTS\s+ERRORS\s+SERVED IN/,
  );
  assert.match(
    text.stdout,
    new RegExp(
      `counter\\s+shop\\s+ledger-1\\s+${Deno.pid}\\s+\\S+\\s+0 durable\\s+2\\s+0\\s+0\\s+node`,
    ),
  );

  const other = await status("--nats", server.url, "--namespace", "elsewhere");
  assert.equal(other.code, 0, other.stderr);
  assert.match(other.stdout, /no Troupe actors exposed/);
});

Deno.test("troupe status --nats says so when no broker answers, and refuses --watch with it", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const down = await status("--nats", `nats://user:secret@127.0.0.1:${port}`);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /Cannot connect to the broker at nats:\/\/127\.0\.0\.1:\d+/);
  assert.doesNotMatch(down.stderr + down.stdout, /secret/);
  const watch = await status("--nats", "nats://127.0.0.1:4222", "--watch");
  assert.equal(watch.code, 2);
  assert.match(watch.stderr, /--watch does not go with --nats/);
});
