// Closing a node or an exposure takes a signal as every other call that
// waits does: on abort the waits for requests being handled end at once, as
// if the timeout had passed. An ask cut off that way reaches its caller as
// ActorStoppedError (the name stopped being served), not as a handler's
// failure.
import assert from "node:assert/strict";
import { connect, headers } from "@nats-io/transport-node";
import { ActorError, ActorStoppedError, ActorSystem } from "../../mod.ts";
import { NatsNode } from "../../actors/cluster/mod.ts";
import { eventually, within } from "../_helpers.ts";
import { startNatsServer } from "./_server.ts";

type NatsProbeModule = typeof import("../fixtures/nats_actor.ts");
const PROBE = new URL("../fixtures/nats_actor.ts", import.meta.url);

/**
 * A node serving the probe (on a process actor, whose stdout says when a
 * handler runs) and a node asking it; `asking` settles with "replied" or the
 * ask's error.
 */
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
    () => "replied" as const,
    (error: unknown) => error,
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

Deno.test("an ask cut off by its exposure closing rejects with ActorStoppedError naming the name, not ActorError", async () => {
  await using server = await startNatsServer();
  const s = await serving(server.url, "close-cut");
  const nc = await connect({ servers: server.url });
  try {
    // A plain client's ask too, to see the wire's error type.
    const h = headers();
    h.set("Troupe-Message", "hang");
    const raw = nc.request("troupe.close-cut.probe", '"y"', { headers: h, timeout: 30_000 });
    await eventually(() => s.exposure.stats().pending === 2, 10_000, "both asks handled");
    await within(s.exposure.close({ timeout: 100 }), 10_000, "the exposure's close");
    const error = await within(s.asking, 10_000, "the looked-up ask settles");
    assert.ok(error instanceof ActorStoppedError, String(error));
    assert.ok(!(error instanceof ActorError));
    assert.equal(error.actorId, "probe");
    assert.match(String((error.cause as Error)?.message), /exposure .*closed while the ask/);
    const reply = await within(raw, 10_000, "the plain ask's reply");
    assert.equal(reply.headers?.get("Troupe-Status"), "error");
    const { error: wire } = JSON.parse(new TextDecoder().decode(reply.data)) as {
      error: Record<string, unknown>;
    };
    assert.equal(wire.type, "ActorStoppedError");
    assert.equal(wire.actor, "probe");
    assert.match(String(wire.reason), /exposure .*closed while the ask/);
    assert.equal(wire.remote, undefined);
    assert.equal(s.exposure.stats().failed, 2);
  } finally {
    await nc.close();
    await s.client.close({ timeout: 1000 });
    await s.server.close({ timeout: 1000 });
    await s.system.shutdown({ timeout: 1000 });
  }
});
