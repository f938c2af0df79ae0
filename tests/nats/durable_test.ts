// Durable mailboxes on a real nats-server with JetStream: at least once
// across a consumer's SIGKILL, max-deliver then dead letter, a duplicate id
// stored once, nothing confirmed lost across server restarts, and publishes
// into a partition (row F28 of FAULTS.md, durable mode) reported as
// PublishOutcomeUnknownError, whose retry with the same id stores once.
import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { ActorSystem, NoRespondersError, PublishOutcomeUnknownError } from "../../mod.ts";
import { type DurableReceipt, NatsNode } from "../../actors/cluster/mod.ts";
import { eventually, within } from "../_helpers.ts";
import { startNatsServer } from "./_server.ts";
import { Service } from "./_service.ts";
import { TcpProxy } from "./_proxy.ts";
import { eventsOf } from "./_events.ts";
import type { ledger } from "./_durable_actor.ts";

type LedgerModule = typeof import("./_durable_actor.ts");
const LEDGER = new URL("./_durable_actor.ts", import.meta.url);
const DURABLE_SERVICE = new URL("./_durable_service.ts", import.meta.url);

/**
 * Resolves once the asynchronous `condition()` holds (checked every 20 ms:
 * the broker's and the actor's counts have no event to wait on); rejects after `ms`.
 */
async function until(condition: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Messages of the name's stream not yet acked, as the broker counts them. */
async function consumerDepth(url: string, stream: string): Promise<number> {
  const { connect } = await import("@nats-io/transport-node");
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.consumers.info(stream, "troupe");
    return info.num_pending + info.num_ack_pending;
  } finally {
    await nc.close();
  }
}

const service = (url: string, ns: string, label: string, durable: Record<string, unknown>) =>
  Service.start(url, ns, "jobs", label, {
    script: DURABLE_SERVICE,
    extra: [JSON.stringify(durable)],
  });

Deno.test("a consumer killed mid-handler (SIGKILL) gets its message redelivered to another process", async () => {
  await using server = await startNatsServer();
  await using a = await service(server.url, "d1", "a", { ackWait: 1000 });
  await using node = await NatsNode.connect({ servers: server.url, namespace: "d1" });
  const jobs = node.lookupDurable<LedgerModule>("jobs");
  const receipt = await jobs.tell("work", { tag: "j1", hangIn: "a" });
  assert.equal(receipt.duplicate, false);
  await a.next((l) => l.type === "entered" && l.tag === "j1", 5000, "a entered j1");
  await using b = await service(server.url, "d1", "b", { ackWait: 1000 });
  await a.kill();
  await b.next((l) => l.type === "handled" && l.tag === "j1", 10_000, "b handled j1");
  // Handled once in b, acked: the stream is empty.
  assert.deepEqual(await node.lookup<LedgerModule>("jobs").ask("runs"), { j1: 1 });
  await until(async () => await consumerDepth(server.url, "TROUPE_d1_jobs") === 0, 5000, "acked");
});

Deno.test("a message that killed its consumer on every delivery is dead-lettered past maxDeliver, without running again", async () => {
  await using server = await startNatsServer();
  // The ack deadline outlasts a's kill even on a loaded machine, so the
  // second delivery goes to b, not back to a.
  await using a = await service(server.url, "d2", "a", { ackWait: 3000, maxDeliver: 1 });
  await using node = await NatsNode.connect({ servers: server.url, namespace: "d2" });
  const receipt = await node.lookupDurable<LedgerModule>("jobs").tell("work", {
    tag: "poison",
    hangIn: "a",
  });
  await a.next((l) => l.type === "entered" && l.tag === "poison", 5000, "a entered");
  await a.kill();
  await using b = await service(server.url, "d2", "b", { ackWait: 3000, maxDeliver: 1 });
  const dead = await b.next((l) => l.type === "nats-dead-letter", 10_000, "b dead-lettered");
  assert.equal(dead.msgId, receipt.id);
  assert.equal(dead.messageName, "work");
  assert.ok(Number(dead.deliveries) >= 2, String(dead.deliveries));
  assert.deepEqual(await node.lookup<LedgerModule>("jobs").ask("runs"), {});
  await until(async () => await consumerDepth(server.url, "TROUPE_d2_jobs") === 0, 5000, "removed");
});

Deno.test("a handler that throws is retried up to maxDeliver, then dead-lettered with an event and a count", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  await using node = await NatsNode.connect({ servers: server.url, namespace: "d3" });
  const events = eventsOf(node);
  const ref = await system.spawn<typeof ledger>(LEDGER, { args: { label: "local", quiet: true } });
  const exposure = await node.expose("jobs", ref, {
    durable: { maxDeliver: 3, retryDelay: 50 },
  });
  const jobs = node.lookupDurable<LedgerModule>("jobs");
  const receipt = await jobs.tell("fail", "f1");
  const dead = await within(events.until("nats-dead-letter"), 10_000, "dead letter");
  assert.ok(dead.type === "nats-dead-letter");
  assert.equal(dead.msgId, receipt.id);
  assert.equal(dead.deliveries, 3);
  assert.match(dead.reason, /failed on all 3 deliveries.*fails every time/);
  assert.deepEqual(await ref.ask("runs"), { f1: 3 });
  // An unknown message name cannot be mended by a retry: dead at once.
  const untyped = jobs as unknown as { tell(name: string): Promise<DurableReceipt> };
  const unknown = await untyped.tell("nope");
  const second = await within(events.until("nats-dead-letter", 2), 10_000, "second dead letter");
  assert.ok(second.type === "nats-dead-letter");
  assert.equal(second.msgId, unknown.id);
  assert.equal(second.deliveries, 1);
  const stats = exposure.stats().durable!;
  assert.equal(stats.deadLetters, 2);
  assert.equal(stats.retried, 2);
  assert.equal(stats.acked, 0);
  assert.equal(stats.redelivered, 2);
  await until(async () => await exposure.depth() === 0, 5000, "dead letters acked away");
  assert.equal(node.stats().events["nats-dead-letter"], 2);
  await node.close();
  await events.reading;
});

Deno.test("a handler that runs past ackWait is given up on, retried, and dead-lettered past maxDeliver", async () => {
  await using server = await startNatsServer();
  const system = await ActorSystem.start();
  try {
    await using node = await NatsNode.connect({ servers: server.url, namespace: "d7" });
    const events = eventsOf(node);
    const ref = await system.spawn<typeof ledger>(LEDGER, {
      args: { label: "local", quiet: true },
    });
    const exposure = await node.expose("jobs", ref, {
      durable: { ackWait: 1000, maxDeliver: 2, retryDelay: 50 },
    });
    const receipt = await node.lookupDurable<LedgerModule>("jobs").tell("work", {
      tag: "slow",
      hangIn: "local",
    });
    const dead = await within(events.until("nats-dead-letter"), 10_000, "dead letter");
    assert.ok(dead.type === "nats-dead-letter");
    assert.equal(dead.msgId, receipt.id);
    // Given up on before the broker's own deadline, so normally twice; a
    // loaded machine can let the broker redeliver on top (at least once).
    assert.ok(Number(dead.deliveries) >= 2, String(dead.deliveries));
    assert.match(dead.reason, /ran past its deadline of 800 ms \(0\.8 × ackWait 1000 ms\)/);
    assert.ok((await ref.ask("runs")).slow >= 2);
    const stats = exposure.stats().durable!;
    assert.equal(stats.inflight, 0);
    assert.ok(stats.retried >= 1);
    await until(async () => await exposure.depth() === 0, 5000, "given up and removed");
    await node.close();
    await events.reading;
  } finally {
    // The two hung handlers never end: the actor is terminated.
    await system.shutdown({ timeout: 200 });
  }
});

Deno.test("a durable handler's deadline is 0.8 × ackWait: one past it is given up on with that limit in ms, one within it is acked", async () => {
  await using server = await startNatsServer();
  const system = await ActorSystem.start();
  try {
    await using node = await NatsNode.connect({ servers: server.url, namespace: "d10" });
    const events = eventsOf(node);
    const ref = await system.spawn<typeof ledger>(LEDGER, {
      args: { label: "local", quiet: true },
    });
    const exposure = await node.expose("jobs", ref, {
      durable: { ackWait: 2500, maxDeliver: 1, retryDelay: 50 },
    });
    const jobs = node.lookupDurable<LedgerModule>("jobs");
    // Well within the 2000 ms deadline, and past what a quick ack takes.
    await jobs.tell("work", { tag: "within", ms: 1000 });
    const stuck = await jobs.tell("work", { tag: "stuck", hangIn: "local" });
    const dead = await within(events.until("nats-dead-letter"), 10_000, "dead letter");
    assert.ok(dead.type === "nats-dead-letter");
    assert.equal(dead.msgId, stuck.id);
    assert.match(
      dead.reason,
      /failed on all 1 deliveries, last: The handler ran past its deadline of 2000 ms \(0\.8 × ackWait 2500 ms\)/,
    );
    await eventually(() => exposure.stats().durable!.acked === 1, 10_000, "within acked");
    assert.deepEqual(await ref.ask("runs"), { within: 1, stuck: 1 });
    const stats = exposure.stats().durable!;
    assert.equal(stats.deadLetters, 1);
    assert.equal(stats.retried, 0);
    assert.equal(stats.redelivered, 0);
    await until(async () => await exposure.depth() === 0, 5000, "acked and removed");
    await node.close();
    await events.reading;
  } finally {
    // The stuck handler never ends: the actor is terminated.
    await system.shutdown({ timeout: 200 });
  }
});

Deno.test("a malformed durable message (no message name, not JSON) is dead-lettered as a bad request and never reaches the actor", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  await using node = await NatsNode.connect({ servers: server.url, namespace: "d8" });
  const events = eventsOf(node);
  const ref = await system.spawn<typeof ledger>(LEDGER, { args: { label: "local", quiet: true } });
  const exposure = await node.expose("jobs", ref, { durable: true });
  const { connect, headers } = await import("@nats-io/transport-node");
  const raw = await connect({ servers: server.url });
  try {
    const subject = exposure.durableSubject!;
    assert.equal(subject, "troupe-durable.d8.jobs");
    await raw.request(subject, new TextEncoder().encode('{"tag":"x"}'), { timeout: 5000 });
    const h = headers();
    h.set("Troupe-Message", "work");
    await raw.request(subject, new TextEncoder().encode("{not json"), {
      headers: h,
      timeout: 5000,
    });
  } finally {
    await raw.close();
  }
  const first = await within(events.until("nats-dead-letter", 1), 10_000, "first dead letter");
  const second = await within(events.until("nats-dead-letter", 2), 10_000, "second dead letter");
  assert.ok(first.type === "nats-dead-letter" && second.type === "nats-dead-letter");
  assert.match(first.reason, /bad request: the Troupe-Message header is missing/);
  assert.match(second.reason, /bad request: .*JSON/);
  assert.equal(exposure.stats().badRequests, 2);
  assert.equal(node.stats().events["nats-bad-request"], 2);
  // The actor never saw them, and still works.
  assert.deepEqual(await ref.ask("runs"), {});
  await node.lookupDurable<LedgerModule>("jobs").tell("work", { tag: "fine" });
  await until(async () => (await ref.ask("runs")).fine === 1, 5000, "the next one handled");
  await node.close();
  await events.reading;
});

Deno.test("a durable tell sent twice with the same id is stored and handled once", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  await using node = await NatsNode.connect({ servers: server.url, namespace: "d4" });
  const ref = await system.spawn<typeof ledger>(LEDGER, { args: { label: "local", quiet: true } });
  const exposure = await node.expose("jobs", ref, { durable: true });
  const jobs = node.lookupDurable<LedgerModule>("jobs");
  const first = await jobs.tell("work", { tag: "once" }, { id: "order-17" });
  const again = await jobs.tell("work", { tag: "once" }, { id: "order-17" });
  assert.equal(first.id, "order-17");
  assert.equal(first.duplicate, false);
  assert.equal(again.duplicate, true);
  assert.equal(again.seq, first.seq);
  const after = await jobs.tell("work", { tag: "after" });
  assert.equal(after.seq, first.seq + 1);
  await until(async () => (await ref.ask("runs")).after === 1, 5000, "after handled");
  await until(async () => await exposure.depth() === 0, 5000, "all acked");
  assert.deepEqual(await ref.ask("runs"), { once: 1, after: 1 });
  assert.equal(exposure.stats().durable!.acked, 2);
});

Deno.test("nothing the broker confirmed is lost across server restarts on the same store", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  await using node = await NatsNode.connect({
    servers: server.url,
    namespace: "d5",
    reconnectWait: 50,
  });
  const events = eventsOf(node);
  const ref = await system.spawn<typeof ledger>(LEDGER, { args: { label: "local", quiet: true } });
  const jobs = node.lookupDurable<LedgerModule>("jobs");
  /** Sends until the broker confirms: a retry with the same id is stored once. */
  const send = async (tag: string) => {
    for (let attempt = 0;; attempt++) {
      try {
        return await jobs.tell("work", { tag }, { id: tag, timeout: 2000 });
      } catch (error) {
        // Unknown outcome: send again with the same id. No responders: the
        // restarted server's JetStream is not back yet.
        const retry = error instanceof PublishOutcomeUnknownError ||
          error instanceof NoRespondersError;
        if (!retry || attempt === 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100)); // a client's back-off
        await eventually(() => node.stats().connected, 10_000, "connected");
      }
    }
  };
  const tags = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const runs = () => ref.ask("runs");
  const handledAll = async (list: string[]) => {
    const now = await runs();
    return list.every((t) => t in now);
  };

  let exposure = await node.expose("jobs", ref, { durable: true });
  for (const tag of tags("a", 10)) await send(tag);
  await until(() => handledAll(tags("a", 10)), 5000, "a handled");
  await exposure.close();
  // Stored while nobody consumes, then the server restarts.
  for (const tag of tags("b", 30)) await send(tag);
  await server.restart();
  await within(events.until("nats-reconnected", 1), 10_000, "reconnected");
  exposure = await node.expose("jobs", ref, { durable: true });
  await until(() => handledAll(tags("b", 30)), 10_000, "b handled");
  // The exposure keeps consuming across a restart of its own.
  await server.restart();
  await within(events.until("nats-reconnected", 2), 10_000, "reconnected again");
  for (const tag of tags("c", 10)) await send(tag);
  await until(() => handledAll(tags("c", 10)), 10_000, "c handled");
  const all = await runs();
  for (const tag of [...tags("a", 10), ...tags("b", 30), ...tags("c", 10)]) {
    assert.ok(all[tag] >= 1, `${tag} was handled`);
  }
  await until(async () => await exposure.depth() === 0, 5000, "all acked");
  await node.close();
  await events.reading;
});

Deno.test("durable tells into a blackhole reject with PublishOutcomeUnknownError carrying the id; a retry with it stores once", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  await using serving = await NatsNode.connect({ servers: server.url, namespace: "d6" });
  const ref = await system.spawn<typeof ledger>(LEDGER, { args: { label: "local", quiet: true } });
  const exposure = await serving.expose("jobs", ref, { durable: true });
  await using proxy = new TcpProxy(server.port);
  const node = await NatsNode.connect({
    servers: proxy.url,
    namespace: "d6",
    pingInterval: 200,
    reconnectWait: 50,
    connectTimeout: 1000,
  });
  const events = eventsOf(node);
  try {
    const jobs = node.lookupDurable<LedgerModule>("jobs");
    assert.equal((await jobs.tell("work", { tag: "before" })).duplicate, false);

    // Both ways: the publish never reaches the server.
    proxy.blackhole();
    const lost = await jobs.tell("work", { tag: "bh1" }, { id: "bh-1", timeout: 300 }).then(
      () => assert.fail("the tell should reject"),
      (e: unknown) => e,
    );
    assert.ok(lost instanceof PublishOutcomeUnknownError, String(lost));
    assert.equal(lost.msgId, "bh-1");
    assert.equal(lost.messageName, "work");
    proxy.pass();
    await within(events.until("nats-reconnected", 1), 10_000, "reconnected");
    const stored = await jobs.tell("work", { tag: "bh1" }, { id: lost.msgId });
    assert.equal(stored.duplicate, false);

    // Replies only: the publish is stored, its confirmation lost.
    proxy.blackhole("replies");
    const unknown = await jobs.tell("work", { tag: "bh2" }, { id: "bh-2", timeout: 300 }).then(
      () => assert.fail("the tell should reject"),
      (e: unknown) => e,
    );
    assert.ok(unknown instanceof PublishOutcomeUnknownError, String(unknown));
    assert.equal(unknown.msgId, "bh-2");
    await until(async () => (await ref.ask("runs")).bh2 === 1, 5000, "bh2 handled");
    proxy.pass();
    await within(events.until("nats-reconnected", 2), 10_000, "reconnected again");
    const retried = await jobs.tell("work", { tag: "bh2" }, { id: unknown.msgId });
    assert.equal(retried.duplicate, true);
    await until(async () => await exposure.depth() === 0, 5000, "all acked");
    assert.deepEqual(await ref.ask("runs"), { before: 1, bh1: 1, bh2: 1 });
  } finally {
    await node.close({ timeout: 1000 });
    await events.reading;
  }
});

Deno.test("a durable tell to a name no stream takes rejects with NoRespondersError at once, and one past its publishTimeout with PublishOutcomeUnknownError", async () => {
  await using server = await startNatsServer();
  await using node = await NatsNode.connect({ servers: server.url, namespace: "d9" });
  const nobody = node.lookupDurable<LedgerModule>("nobody");
  const refused = await within(
    nobody.tell("work", { tag: "x" }, { timeout: 20_000 }).then(
      () => assert.fail("the tell should reject"),
      (e: unknown) => e,
    ),
    10_000,
    "no responders, not the timeout",
  );
  assert.ok(refused instanceof NoRespondersError, String(refused));
  // A subscriber that never answers takes the subject: the broker's answer never comes.
  const { connect } = await import("@nats-io/transport-node");
  const raw = await connect({ servers: server.url });
  try {
    raw.subscribe("troupe-durable.d9.silent", { callback: () => {} });
    await raw.flush();
    const silent = node.lookupDurable<LedgerModule>("silent");
    const unknown = await silent.tell("work", { tag: "y" }, { id: "s-1", timeout: 200 }).then(
      () => assert.fail("the tell should reject"),
      (e: unknown) => e,
    );
    assert.ok(unknown instanceof PublishOutcomeUnknownError, String(unknown));
    assert.equal(unknown.msgId, "s-1");
    assert.equal((unknown.cause as Error).name, "TimeoutError");
    assert.equal(node.stats().pendingAsks, 0);
  } finally {
    await raw.close();
  }
});
