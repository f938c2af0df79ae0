// Actors called by name across OS processes through a real nats-server:
// typed tell and ask, remote errors, deadlines, aborts, nobody serving, and a
// name served by three processes as one queue group.
import assert from "node:assert/strict";
import { ActorSystem, MailboxFullError, NoRespondersError } from "../../mod.ts";
import { NatsNode } from "../../actors/cluster/mod.ts";
import type { probe } from "../fixtures/probe_actor.ts";
import { Flags, within } from "../_helpers.ts";
import { startNatsServer } from "./_server.ts";
import { assertRemoteErrors } from "./_remote_errors.ts";
import { Service } from "./_service.ts";

type NatsProbeModule = typeof import("../fixtures/nats_actor.ts");

Deno.test("a looked-up ref tells and asks, typed, an actor another process exposes", async () => {
  await using server = await startNatsServer();
  await using service = await Service.start(server.url, "t1", "probe", "a");
  await using node = await NatsNode.connect({ servers: server.url, namespace: "t1" });
  const remote = node.lookup<NatsProbeModule>("probe");
  await remote.tell("inc", 2);
  await remote.tell("inc", 3);
  assert.equal(await remote.ask("get", undefined, { timeout: 5000 }), 5);
  const who = await remote.ask("whoami");
  assert.deepEqual(who, { label: "a", pid: service.pid });
  assert.notEqual(who.pid, Deno.pid);
  const value = { list: [1, "two", null, { deep: true }], text: "é€😀" };
  assert.deepEqual(await remote.ask("echo", value), value);
  assert.equal(await remote.ask("echo", null), null);
  assert.deepEqual(node.stats().pendingAsks, 0);
});

Deno.test("a remote handler's error arrives as ActorError with its name, message and stack; an unknown name as UnknownMessageError", async () => {
  await using server = await startNatsServer();
  await using _service = await Service.start(server.url, "t2", "probe", "a");
  await using node = await NatsNode.connect({ servers: server.url, namespace: "t2" });
  const remote = node.lookup<NatsProbeModule>("probe");
  await assertRemoteErrors(remote, /nats_actor\.ts/, "whoami");
  // The actor still serves.
  assert.equal(await remote.ask("get"), 0);
});

Deno.test("a remote ask rejects with TimeoutError at its deadline and with the signal's reason on abort; an aborted tell is not sent", async () => {
  await using server = await startNatsServer();
  await using service = await Service.start(server.url, "t3", "probe", "a");
  await using node = await NatsNode.connect({ servers: server.url, namespace: "t3" });
  const remote = node.lookup<NatsProbeModule>("probe");

  await assert.rejects(
    within(remote.ask("hang", "deadline", { timeout: 200 }), 5000, "the ask's deadline"),
    (e: unknown) => e instanceof DOMException && e.name === "TimeoutError",
  );

  const controller = new AbortController();
  const reason = new Error("the user gave up");
  const asking = remote.ask("hang", "abort", { signal: controller.signal });
  await service.next((l) => l.type === "entered" && l.tag === "abort", 5000, "hang entered");
  controller.abort(reason);
  await assert.rejects(within(asking, 5000, "the aborted ask"), (e: unknown) => e === reason);
  await assert.rejects(
    remote.ask("get", undefined, { signal: AbortSignal.abort(reason) }),
    (e: unknown) => e === reason,
  );
  // A tell whose signal has already aborted is not sent (the count below stays 0).
  await assert.rejects(
    remote.tell("inc", 5, { signal: AbortSignal.abort(reason) }),
    (e: unknown) => e === reason,
  );
  assert.equal(node.stats().pendingAsks, 0);
  assert.equal(await remote.ask("get"), 0);
});

Deno.test("an ask of a name nobody serves rejects with NoRespondersError, not a timeout", async () => {
  await using server = await startNatsServer();
  await using node = await NatsNode.connect({ servers: server.url, namespace: "t4" });
  const remote = node.lookup<NatsProbeModule>("nobody");
  const error = await within(
    remote.ask("get", undefined, { timeout: 10_000 }),
    5000,
    "no responders",
  )
    .then(() => assert.fail("the ask should reject"), (e: unknown) => e);
  assert.ok(error instanceof NoRespondersError, String(error));
  assert.equal(error.target, "nobody");
  assert.equal(error.subject, "troupe.t4.nobody");
});

Deno.test("a full mailbox under overflow fail answers MailboxFullError to the remote asker", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  const flags = new Flags();
  const ref = await system.spawn<typeof probe>(
    new URL("../fixtures/probe_actor.ts", import.meta.url),
    { args: { flags: flags.buffer }, capacity: 1, overflow: "fail" },
  );
  await using serving = await NatsNode.connect({ servers: server.url, namespace: "t5" });
  await serving.expose("probe", ref);
  await using asking = await NatsNode.connect({ servers: server.url, namespace: "t5" });
  const remote = asking.lookup<typeof probe>("probe");
  const entered = remote.ask("enter");
  await flags.until(3, 1);
  // `enter` runs with the gate shut: the one-message mailbox takes at most one more.
  const first = remote.ask("get").then((v) => v, (e: unknown) => e);
  const second = remote.ask("get").then((v) => v, (e: unknown) => e);
  const secondResult = await within(second, 5000, "the second get");
  assert.ok(secondResult instanceof MailboxFullError, String(secondResult));
  assert.equal(secondResult.capacity, 1);
  flags.open();
  await within(entered, 5000, "enter");
  const firstResult = await within(first, 5000, "the first get");
  assert.ok(firstResult === 0 || firstResult instanceof MailboxFullError, String(firstResult));
  assert.equal(await remote.ask("get"), 0);
  await serving.close();
});

Deno.test("processes that expose one name form a queue group: asks spread over all three", async () => {
  await using server = await startNatsServer();
  const services = await Promise.all(
    ["a", "b", "c"].map((label) => Service.start(server.url, "t6", "probe", label)),
  );
  try {
    await using node = await NatsNode.connect({ servers: server.url, namespace: "t6" });
    const remote = node.lookup<NatsProbeModule>("probe");
    const answers = await Promise.all(
      Array.from({ length: 90 }, () => remote.ask("whoami", undefined, { timeout: 5000 })),
    );
    const byLabel: Record<string, number> = {};
    for (const { label } of answers) byLabel[label] = (byLabel[label] ?? 0) + 1;
    assert.deepEqual(Object.keys(byLabel).sort(), ["a", "b", "c"], JSON.stringify(byLabel));
    assert.equal(Object.values(byLabel).reduce((a, b) => a + b), 90);
  } finally {
    await Promise.all(services.map((s) => s[Symbol.asyncDispose]()));
  }
});

Deno.test("a burst of tells from two refs of one node, asks between them, arrives in the order sent", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof probe>(
    new URL("../fixtures/probe_actor.ts", import.meta.url),
  );
  await using serving = await NatsNode.connect({ servers: server.url, namespace: "t9" });
  await serving.expose("probe", ref);
  await using node = await NatsNode.connect({ servers: server.url, namespace: "t9" });
  const remote = node.lookup<typeof probe>("probe");
  const other = node.lookup<typeof probe>("probe");
  for (let n = 0; n < 3000; n++) {
    // Two refs of one node, the odd asks through the other: one order still.
    if (n % 250 === 249) {
      const report = await (n % 500 === 499 ? other : remote).ask("seqReport");
      assert.deepEqual(report, { received: n, outOfOrder: 0 });
    }
    await remote.tell("seq", n);
  }
  assert.deepEqual(await other.ask("seqReport"), { received: 3000, outOfOrder: 0 });
  assert.equal(node.stats().tells, 3000);
});
