// Credentials go to the NATS client and nowhere else: not into errors (a
// refused login, an unreachable server), events, stats, toString or JSON.
import assert from "node:assert/strict";
import { AuthenticationError, BrokerUnavailableError } from "../../mod.ts";
import { type ClusterEvent, NatsNode } from "../../actors/cluster/mod.ts";
import { within } from "../_helpers.ts";
import { startNatsServer } from "./_server.ts";
import { everythingSaid } from "./_said.ts";

const SECRET = "s3cret-Pa55-word";
const TOKEN = "t0ken-Value-xyz";

Deno.test("user and password reach the server but no error, event, stats, string or JSON", async () => {
  await using server = await startNatsServer(["--user", "troupe", "--pass", SECRET]);
  const refused = await NatsNode.connect({ servers: server.url, user: "troupe", pass: "wrong" })
    .then(() => assert.fail("the connect should fail"), (e: unknown) => e);
  assert.ok(refused instanceof AuthenticationError, String(refused));
  assert.ok(!everythingSaid(refused).includes("wrong"));

  const inUrl = server.url.replace("nats://", `nats://troupe:${SECRET}@`);
  const events: ClusterEvent[] = [];
  for (
    const options of [{ servers: server.url, user: "troupe", pass: SECRET }, { servers: inUrl }]
  ) {
    const node = await NatsNode.connect({ ...options, reconnectWait: 50 });
    const reading = (async () => {
      for await (const event of node.events()) events.push(event);
    })();
    const stats = node.stats();
    assert.equal(stats.connected, true);
    await server.stop();
    await server.restart();
    await node.close();
    await within(reading, 5000, "events end");
    for (const said of [node, stats, node.toString(), node.toJSON(), events]) {
      assert.ok(!everythingSaid(said).includes(SECRET), everythingSaid(said));
    }
  }
  assert.ok(events.some((e) => e.type === "nats-disconnected"));
});

Deno.test("a token reaches the server; an unreachable server's error names it without credentials", async () => {
  await using server = await startNatsServer(["--auth", TOKEN]);
  await using node = await NatsNode.connect({ servers: server.url, token: TOKEN });
  assert.equal(node.stats().connected, true);
  assert.ok(!everythingSaid(node).includes(TOKEN));
  await assert.rejects(
    NatsNode.connect({ servers: server.url, token: "nope" }),
    AuthenticationError,
  );

  const port = server.port;
  await server.stop();
  const error = await NatsNode.connect({
    servers: `nats://troupe:${SECRET}@127.0.0.1:${port}`,
    connectTimeout: 1000,
  }).then(() => assert.fail("the connect should fail"), (e: unknown) => e);
  assert.ok(error instanceof BrokerUnavailableError, String(error));
  assert.deepEqual(error.servers, [`nats://127.0.0.1:${port}`]);
  assert.ok(!everythingSaid(error).includes(SECRET), everythingSaid(error));
  await server.restart();
});
