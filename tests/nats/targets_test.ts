// What can be exposed: a supervised child's ref (served on across its
// restarts, as the name stays served) and a pool (its workers share the
// name's traffic).
import assert from "node:assert/strict";
import { ActorCrashedError, ActorSystem, MessageNotCloneableError } from "../../mod.ts";
import type { wordCount } from "../../examples/actors/word_count.ts";
import { NatsNode } from "../../actors/cluster/mod.ts";
import type { probe } from "../fixtures/probe_actor.ts";
import type { poolWorker } from "../fixtures/pool_worker.ts";
import { within } from "../_helpers.ts";
import { startNatsServer } from "./_server.ts";

Deno.test("a supervised child's exposed ref keeps serving its name across a restart", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  const root = await system.supervise({
    id: "root",
    children: [{ id: "probe", module: new URL("../fixtures/probe_actor.ts", import.meta.url) }],
  });
  await using serving = await NatsNode.connect({ servers: server.url, namespace: "s1" });
  await serving.expose("probe", root.ref<typeof probe>("probe"));
  await using asking = await NatsNode.connect({ servers: server.url, namespace: "s1" });
  const remote = asking.lookup<typeof probe>("probe");
  await remote.tell("inc", 3);
  assert.equal(await remote.ask("get"), 3);
  const events = system.events();
  const restarted = (async () => {
    for await (const event of events) if (event.type === "restarted") return event.id;
    return undefined;
  })();
  await assert.rejects(
    within(remote.ask("crashSoon", undefined, { timeout: 10_000 }), 10_000, "the crash"),
    ActorCrashedError,
  );
  assert.equal(await within(restarted, 10_000, "the restart"), "probe");
  // A new incarnation, fresh state, the same name.
  assert.equal(await remote.ask("get", undefined, { timeout: 5000 }), 0);
});

Deno.test("an exposed pool spreads the name's asks over its workers", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  const pool = await system.pool<typeof poolWorker>(
    new URL("../fixtures/pool_worker.ts", import.meta.url),
    { size: 2 },
  );
  await using serving = await NatsNode.connect({ servers: server.url, namespace: "s2" });
  const exposure = await serving.expose("tasks", pool);
  await using asking = await NatsNode.connect({ servers: server.url, namespace: "s2" });
  const remote = asking.lookup<typeof poolWorker>("tasks");
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => remote.ask("task", i)));
  assert.deepEqual(answers.map((a) => a.n), Array.from({ length: 40 }, (_, i) => i));
  assert.equal(new Set(answers.map((a) => a.worker)).size, 2);
  assert.equal(pool.stats().completed, 40);
  assert.equal(exposure.stats().replied, 40);
  await serving.close();
  await pool.close();
});

Deno.test("a reply JSON cannot carry as it is (a Map) fails the remote ask with MessageNotCloneableError", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof wordCount>(
    new URL("../../examples/actors/word_count.ts", import.meta.url),
    { args: { minLength: 1 } },
  );
  await using serving = await NatsNode.connect({ servers: server.url, namespace: "s3" });
  const exposure = await serving.expose("words", ref);
  await using asking = await NatsNode.connect({ servers: server.url, namespace: "s3" });
  const remote = asking.lookup<typeof wordCount>("words");
  const error = await remote.ask("count", "a b a").then(
    () => assert.fail("the ask should reject"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof MessageNotCloneableError, String(error));
  assert.equal(error.path, "reply");
  assert.equal(exposure.stats().failed, 1);
  // A sender is refused the same way, before anything is sent.
  const echo = remote as unknown as { ask(name: string, payload: unknown): Promise<unknown> };
  await assert.rejects(echo.ask("count", new Map()), MessageNotCloneableError);
  assert.equal(asking.stats().asks, 1);
});
