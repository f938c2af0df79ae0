// Closing a node or an exposure takes a signal as every other call that
// waits does: on abort the waits for requests being handled end at once, as
// if the timeout had passed.
import assert from "node:assert/strict";
import { ActorSystem } from "../../mod.ts";
import { NatsNode } from "../../actors/cluster/mod.ts";
import { within } from "../_helpers.ts";
import { startNatsServer } from "./_server.ts";

type NatsProbeModule = typeof import("../fixtures/nats_actor.ts");
const PROBE = new URL("../fixtures/nats_actor.ts", import.meta.url);

/** A node serving the probe (on a process actor, whose stdout says when a handler runs) and a node asking it. */
async function serving(url: string, namespace: string) {
  const system = await ActorSystem.start();
  const entered = Promise.withResolvers<void>();
  const probe = await system.spawn<NatsProbeModule["natsProbe"]>(PROBE, {
    host: "process",
    args: { label: "a" },
    onLog: (line) => line.includes('"entered"') && entered.resolve(),
  });
  const server = await NatsNode.connect({ servers: url, namespace });
  const exposure = await server.expose("probe", probe);
  const client = await NatsNode.connect({ servers: url, namespace });
  const remote = client.lookup<NatsProbeModule>("probe");
  const asking = remote.ask("hang", "x", { timeout: 30_000 }).then(
    () => "replied",
    () => "rejected",
  );
  await within(entered.promise, 10_000, "the hanging handler started");
  return { system, server, exposure, client, asking };
}

for (const what of ["node", "exposure"] as const) {
  Deno.test(`closing a ${what} with an aborted signal stops waiting for a hanging handler at once`, async () => {
    await using server = await startNatsServer();
    const s = await serving(server.url, `close-${what}`);
    try {
      const signal = AbortSignal.abort(new Error("enough"));
      const closing = what === "node"
        ? s.server.close({ timeout: 60_000, signal })
        : s.exposure.close({ timeout: 60_000, signal });
      // Without the signal the close would wait out its 60 s for the handler.
      await within(closing, 10_000, `the ${what}'s close`);
      assert.equal(s.exposure.stats().received, 1);
    } finally {
      await s.client.close({ timeout: 1000 });
      await s.server.close({ timeout: 1000 });
      await s.system.shutdown({ timeout: 1000 });
      await s.asking;
    }
  });
}
