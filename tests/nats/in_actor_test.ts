// A name exposed with `inActor`: the actor's own thread serves its
// subscription, through a real nats-server. What the node's path gives
// must hold here too (errors, limits, counters, events), and the node's
// thread must take the name back whenever the actor's cannot serve it.
import assert from "node:assert/strict";
import {
  ActorCrashedError,
  ActorStoppedError,
  ActorSystem,
  MailboxFullError,
  NoRespondersError,
  type SpawnOptions,
} from "../../mod.ts";
import { type ExposeOptions, NatsNode, type NatsNodeOptions } from "../../actors/cluster/mod.ts";
import { within } from "../_helpers.ts";
import { startNatsServer } from "./_server.ts";
import { TcpProxy } from "./_proxy.ts";
import { connect } from "@nats-io/transport-node";
import { unwatch } from "../../actors/cluster/_in_actor.ts";
import { eventsOf } from "./_events.ts";
import { assertRemoteErrors } from "./_remote_errors.ts";
import type { inActorProbe } from "../fixtures/in_actor_probe.ts";

const PROBE = new URL("../fixtures/in_actor_probe.ts", import.meta.url);

/** A server, a system with the probe actor exposed by one node, and a second node to call it. */
async function exposed(
  namespace: string,
  spawn: SpawnOptions = {},
  expose: ExposeOptions = { inActor: true },
) {
  const stack = new AsyncDisposableStack();
  try {
    return await started(stack, namespace, spawn, expose);
  } catch (error) {
    await stack.disposeAsync();
    throw error;
  }
}

async function started(
  stack: AsyncDisposableStack,
  namespace: string,
  spawn: SpawnOptions,
  expose: ExposeOptions,
) {
  const server = stack.use(await startNatsServer());
  const system = stack.use(await ActorSystem.start());
  const gate = new Int32Array(new SharedArrayBuffer(8));
  const ref = await system.spawn<typeof inActorProbe>(PROBE, {
    ...spawn,
    args: spawn.host === "process" ? {} : { gate: gate.buffer as SharedArrayBuffer },
  });
  const node = stack.use(await NatsNode.connect({ servers: server.url, namespace }));
  const events = eventsOf(node);
  const exposure = stack.use(await node.expose("probe", ref, expose));
  const caller = stack.use(await NatsNode.connect({ servers: server.url, namespace }));
  const remote = caller.lookup<typeof inActorProbe>("probe");
  const moved = () =>
    within(events.until("nats-served-in-actor"), 15_000, "the served-in-actor event");
  return {
    server,
    system,
    gate,
    ref,
    node,
    events,
    exposure,
    remote,
    moved,
    /** Resolves once `n` handlers are inside `hold`. */
    async holding(n: number) {
      while (Atomics.load(gate, 0) < n) {
        const waiting = Atomics.waitAsync(gate, 0, Atomics.load(gate, 0), 15_000);
        if (waiting.async) await waiting.value;
      }
    },
    letGo() {
      Atomics.store(gate, 1, 1);
      Atomics.notify(gate, 1);
    },
    [Symbol.asyncDispose]: () => stack.disposeAsync(),
  };
}

Deno.test("inActor: the actor's thread serves the name, and the node's thread hands it nothing", async () => {
  await using t = await exposed("ia1");
  const event = await t.moved();
  assert.equal(event.type, "nats-served-in-actor");
  assert.ok(event.type === "nats-served-in-actor" && event.serving && event.actorId === t.ref.id);
  assert.equal(t.exposure.stats().servedIn, "actor");
  const value = { list: [1, "two", null, { deep: true }], text: "é€😀" };
  assert.deepEqual(await t.remote.ask("echo", value, { timeout: 5000 }), value);
  for (let i = 0; i < 3; i++) await t.remote.tell("inc", 2);
  assert.equal(await t.remote.ask("get", undefined, { timeout: 5000 }), 6);
  assert.deepEqual(await t.remote.ask("where"), { worker: true });
  const stats = t.exposure.stats();
  assert.equal(stats.received, 6);
  assert.equal(stats.replied, 3);
  assert.equal(stats.told, 3);
  assert.equal(stats.pending, 0);
  // Nothing went through the node's side of the mailbox: it credited nothing.
  assert.equal(t.ref.stats().handled, 0);
  // The actor's mailbox is one: a local message and a remote one meet the same state.
  await t.ref.tell("inc", 10);
  assert.equal(await t.ref.ask("get"), 16);
  assert.equal(await t.remote.ask("get"), 16);
});

Deno.test("inActor: no ask is lost while the name moves to the actor's thread", async () => {
  await using t = await exposed("ia0");
  // Sixteen callers ask one after another, from before the hand-over to after it.
  let moved = false;
  const moving = t.moved().then(() => moved = true);
  const caller = async (k: number) => {
    let after = 0;
    for (let i = 0; after < 20; i++) {
      assert.equal(await t.remote.ask("echo", k * 1e6 + i, { timeout: 5000 }), k * 1e6 + i);
      if (moved) after++;
    }
  };
  await Promise.all(Array.from({ length: 16 }, (_, k) => caller(k)));
  await moving;
  assert.equal(t.exposure.stats().servedIn, "actor");
  assert.equal(t.exposure.stats().pending, 0);
});

Deno.test("inActor: a handler's error is ActorError, an unknown name UnknownMessageError, a malformed request an error reply", async () => {
  await using t = await exposed("ia2");
  await t.moved();
  await assertRemoteErrors(t.remote, /in_actor_probe\.ts/, "echo");
  // A plain request without the message header: refused, answered, and the actor serves on.
  const { connect } = await import("@nats-io/transport-node");
  const raw = await connect({ servers: t.server.url });
  try {
    const reply = await raw.request(t.exposure.subject, new TextEncoder().encode("{}"), {
      timeout: 5000,
    });
    assert.equal(reply.headers?.get("Troupe-Status"), "error");
    assert.match(new TextDecoder().decode(reply.data), /header is missing/);
  } finally {
    await raw.close();
  }
  assert.equal(t.exposure.stats().badRequests, 1);
  assert.match(t.exposure.stats().lastError ?? "", /BadRequest|header/);
  assert.equal(await t.remote.ask("echo", 1), 1);
});

Deno.test("inActor: a remote tell whose handler throws is the system's dead letter, as a local one is", async () => {
  await using t = await exposed("ia13");
  await t.moved();
  await t.remote.tell("fail", "a tell nobody can answer");
  const counted = async () => {
    while (t.system.stats().deadLetters < 1) await new Promise((resolve) => setTimeout(resolve, 5));
  };
  await within(counted(), 5000, "the dead letter");
  assert.equal(t.system.stats().deadLetters, 1);
  assert.equal(await t.remote.ask("echo", 3, { timeout: 5000 }), 3);
});

for (
  const [what, spawn, reason] of [
    ["a process actor", { host: "process" }, /runs in a process/],
    ["a worker on the ring transport", { transport: "ring" }, /transport is ring/],
    ["a worker without net permission", { permissions: { read: true } }, /net|NotCapable/i],
  ] as [string, SpawnOptions, RegExp][]
) {
  Deno.test(`inActor: ${what} declines, and the node's thread serves the name`, async () => {
    await using t = await exposed(`ia3${what.length}`, spawn);
    const event = await t.moved();
    assert.ok(event.type === "nats-served-in-actor" && !event.serving, JSON.stringify(event));
    assert.match(event.reason ?? "", reason);
    assert.equal(t.exposure.stats().servedIn, "node");
    await t.remote.tell("inc", 4);
    assert.equal(await t.remote.ask("get", undefined, { timeout: 5000 }), 4);
  });
}

Deno.test("inActor: a supervised child's name follows it across a restart, served from each incarnation's thread", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  const gate = new Int32Array(new SharedArrayBuffer(8));
  const root = await system.supervise({
    id: "root",
    backoff: { initialMs: 1, maxMs: 1, jitter: false },
    children: [{ id: "probe", module: PROBE, args: { gate: gate.buffer } }],
  });
  await using node = await NatsNode.connect({ servers: server.url, namespace: "ia10" });
  const events = eventsOf(node);
  const ref = root.ref<typeof inActorProbe>("probe");
  await using exposure = await node.expose("probe", ref, { inActor: true });
  await using caller = await NatsNode.connect({ servers: server.url, namespace: "ia10" });
  const remote = caller.lookup<typeof inActorProbe>("probe");
  const served = (n: number) =>
    within(events.until("nats-served-in-actor", n), 15_000, `served-in-actor event ${n}`);
  const first = await served(1);
  assert.ok(first.type === "nats-served-in-actor" && first.serving, JSON.stringify(first));
  await remote.tell("inc", 5);
  assert.equal(await remote.ask("get", undefined, { timeout: 5000 }), 5);
  // A crash with an ask in hand: answered by the node, which serves the name while the child restarts.
  const held = remote.ask("hold", undefined, { timeout: 10_000 }).then(
    () => assert.fail("the held ask should reject"),
    (e: unknown) => e,
  );
  while (Atomics.load(gate, 0) < 1) {
    const waiting = Atomics.waitAsync(gate, 0, 0, 15_000);
    if (waiting.async) await waiting.value;
  }
  await remote.tell("crashSoon", undefined);
  assert.ok((await within(held, 5000, "the held ask")) instanceof ActorCrashedError);
  // Asked in the gap or after: the next incarnation answers (its state starts again).
  assert.equal(await remote.ask("get", undefined, { timeout: 10_000 }), 0);
  const back = await served(2);
  assert.ok(back.type === "nats-served-in-actor" && !back.serving, JSON.stringify(back));
  const again = await served(3);
  assert.ok(again.type === "nats-served-in-actor" && again.serving, JSON.stringify(again));
  assert.equal(exposure.stats().servedIn, "actor");
  assert.equal(ref.stats().restarts, 1);
  assert.deepEqual(await remote.ask("where"), { worker: true });
  assert.equal(exposure.stats().pending, 0);
});

Deno.test("inActor: a pool declines, and the node's thread serves it", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  const gate = new SharedArrayBuffer(8);
  const pool = await system.pool<typeof inActorProbe>(PROBE, { size: 1, args: { gate } });
  await using node = await NatsNode.connect({ servers: server.url, namespace: "ia4" });
  const events = eventsOf(node);
  await using _exposure = await node.expose("probe", pool, { inActor: true });
  const event = await within(events.until("nats-served-in-actor"), 15_000, "the event");
  assert.ok(event.type === "nats-served-in-actor" && !event.serving);
  assert.match(event.reason ?? "", /pool/);
  assert.equal(await node.lookup<typeof inActorProbe>("probe").ask("echo", 5), 5);
  await pool.close();
});

for (
  const [how, handler, reason] of [["crashes", "crashSoon", "error"], [
    "exits",
    "exitSoon",
    "exited",
  ]] as const
) {
  Deno.test(`inActor: asks in hand when the actor ${how} get ActorCrashedError, then the node serves the name`, async () => {
    await using t = await exposed(`ia5${how}`);
    await t.moved();
    const held = [
      t.remote.ask("hold", undefined, { timeout: 10_000 }),
      t.remote.ask("hold", undefined, { timeout: 10_000 }),
    ]
      .map((ask) => ask.then(() => assert.fail("the ask should reject"), (e: unknown) => e));
    await t.holding(2);
    await t.remote.tell(handler, undefined);
    for (const error of await within(Promise.all(held), 5000, "the held asks")) {
      assert.ok(error instanceof ActorCrashedError, String(error));
      assert.equal(error.reason, reason);
    }
    const back = await within(t.events.until("nats-served-in-actor", 2), 5000, "the second event");
    assert.ok(back.type === "nats-served-in-actor" && !back.serving);
    await t.ref.exited;
    assert.equal(t.exposure.stats().servedIn, "node");
    // Served by the node's thread alone again: the actor is gone, and every answer says so (none
    // goes to a subscription the dead thread's connection left at the server).
    for (let i = 0; i < 10; i++) {
      await assert.rejects(t.remote.ask("echo", i, { timeout: 2000 }), ActorStoppedError);
    }
  });
}

Deno.test("inActor: during a stop every ask gets its value or ActorStoppedError, never silence", async () => {
  await using t = await exposed("ia9");
  await t.moved();
  let stopped = false;
  const outcomes = new Map<string, number>();
  const caller = async (k: number) => {
    let after = 0;
    for (let i = 0; after < 10; i++) {
      const outcome = await t.remote.ask("echo", k * 1e6 + i, { timeout: 5000 }).then(
        (value) => value === k * 1e6 + i ? "value" : `wrong ${value}`,
        (error: Error) => error.name,
      );
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (stopped) after++;
    }
  };
  const callers = Promise.all(Array.from({ length: 16 }, (_, k) => caller(k)));
  while ((outcomes.get("value") ?? 0) < 200) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal((await t.ref.stop({ timeout: 5000 })).reason, "normal");
  stopped = true;
  await callers;
  assert.deepEqual(
    [...outcomes.keys()].filter((k) => k !== "value" && k !== "ActorStoppedError"),
    [],
    JSON.stringify([...outcomes]),
  );
  assert.ok((outcomes.get("ActorStoppedError") ?? 0) >= 160, JSON.stringify([...outcomes]));
});

Deno.test("inActor: a stop lets the asks in hand finish, then the node's thread answers ActorStoppedError", async () => {
  await using t = await exposed("ia6");
  await t.moved();
  const held = t.remote.ask("hold", undefined, { timeout: 10_000 });
  await t.holding(1);
  const stopping = t.ref.stop({ timeout: 10_000 });
  t.letGo();
  assert.equal(await within(held, 5000, "the held ask"), "let go");
  assert.equal((await stopping).reason, "normal");
  await within(t.events.until("nats-served-in-actor", 2), 5000, "the second event");
  await assert.rejects(t.remote.ask("echo", 1, { timeout: 5000 }), ActorStoppedError);
});

Deno.test("inActor: close() answers the asks in hand, stops serving the name, and leaves the actor running", async () => {
  await using t = await exposed("ia7");
  await t.moved();
  const held = t.remote.ask("hold", undefined, { timeout: 10_000 });
  await t.holding(1);
  const closing = t.exposure.close({ timeout: 5000 });
  t.letGo();
  assert.equal(await within(held, 5000, "the held ask"), "let go");
  await within(closing, 7000, "the close");
  await assert.rejects(t.remote.ask("echo", 1, { timeout: 5000 }), NoRespondersError);
  assert.equal(t.ref.stats().state, "running");
  assert.equal(await t.ref.ask("echo", 2), 2);
});

Deno.test("inActor: the serving side's askTimeout answers TimeoutError, before the caller's own deadline", async () => {
  await using t = await exposed("ia11", {}, { inActor: true, askTimeout: 200 });
  await t.moved();
  const started = performance.now();
  const error = await t.remote.ask("hold", undefined, { timeout: 10_000 }).then(
    () => assert.fail("the ask should reject"),
    (e: unknown) => e as Error,
  );
  assert.equal(error.name, "TimeoutError", String(error));
  assert.ok(performance.now() - started < 5000);
  assert.equal(t.exposure.stats().failed, 1);
  assert.equal(t.exposure.stats().pending, 0);
  t.letGo();
  assert.equal(await t.remote.ask("echo", 7, { timeout: 5000 }), 7);
});

Deno.test("inActor: a full mailbox under backpressure makes asks wait for room, and one that gave up passes its turn on", async () => {
  await using t = await exposed("ia12", { capacity: 1, overflow: "backpressure" });
  await t.moved();
  const held = t.remote.ask("hold", undefined, { timeout: 10_000 });
  await t.holding(1);
  // Both wait for room; the first gives up (its caller's 300 ms also bound the serving side).
  const gaveUp = t.remote.ask("echo", 1, { timeout: 300 }).then(
    () => assert.fail("the ask should time out"),
    (e: unknown) => e as Error,
  );
  const waiting = t.remote.ask("echo", 2, { timeout: 10_000 });
  assert.equal((await gaveUp).name, "TimeoutError");
  // The serving side has given up on it too before the room comes.
  while (t.exposure.stats().failed < 1) await new Promise((resolve) => setTimeout(resolve, 5));
  t.letGo();
  assert.equal(await within(held, 5000, "the held ask"), "let go");
  // The room the one that gave up would have had goes to the next in line.
  assert.equal(await within(waiting, 5000, "the ask behind the one that gave up"), 2);
  assert.equal(t.exposure.stats().pending, 0);
});

Deno.test("inActor: a full mailbox under fail answers MailboxFullError", async () => {
  await using t = await exposed("ia8", { capacity: 2, overflow: "fail" });
  await t.moved();
  const held = [t.remote.ask("hold"), t.remote.ask("hold")];
  await t.holding(2);
  await assert.rejects(t.remote.ask("echo", 1, { timeout: 5000 }), MailboxFullError);
  t.letGo();
  assert.deepEqual(await Promise.all(held), ["let go", "let go"]);
  assert.equal(await t.remote.ask("echo", 3), 3);
  assert.equal(t.exposure.stats().failed, 1);
});

/**
 * The probe actor exposed with `inActor` by a node that connects through a
 * proxy, as the actor's own connection (which takes the node's options) then
 * does too: the node's is the first connection the proxy accepted, the
 * actor's the second. The caller connects straight to the server.
 */
async function throughProxy(namespace: string, reconnect: Partial<NatsNodeOptions>) {
  const stack = new AsyncDisposableStack();
  try {
    const server = stack.use(await startNatsServer());
    const proxy = stack.use(new TcpProxy(server.port));
    const system = stack.use(await ActorSystem.start());
    const ref = await system.spawn<typeof inActorProbe>(PROBE, { args: {} });
    const node = stack.use(
      await NatsNode.connect({ servers: proxy.url, namespace, ...reconnect }),
    );
    const events = eventsOf(node);
    const exposure = stack.use(await node.expose("probe", ref, { inActor: true }));
    const caller = stack.use(await NatsNode.connect({ servers: server.url, namespace }));
    const served = (n: number) =>
      within(events.until("nats-served-in-actor", n), 15_000, `served-in-actor event ${n}`);
    return {
      proxy,
      ref,
      node,
      events,
      exposure,
      served,
      remote: caller.lookup<typeof inActorProbe>("probe"),
      [Symbol.asyncDispose]: () => stack.disposeAsync(),
    };
  } catch (error) {
    await stack.disposeAsync();
    throw error;
  }
}

Deno.test("inActor: while the actor's own connection is down the node's thread serves the name, and gives it back when it returns", async () => {
  await using t = await throughProxy("ia20", { reconnectWait: 50 });
  const { proxy, ref, node, events, exposure, served, remote } = t;
  assert.ok(((await served(1)) as { serving: boolean }).serving);
  assert.equal(proxy.accepted, 2);
  assert.deepEqual(exposure.stats().actorConnection, {
    connected: true,
    disconnects: 0,
    reconnects: 0,
  });
  // The actor's connection drops and cannot come back for now: the node's thread serves.
  proxy.refuse();
  proxy.cut(1);
  const down = await within(events.until("nats-disconnected"), 15_000, "the disconnect");
  assert.equal((down as { actorId?: string }).actorId, ref.id);
  const back = await served(2);
  assert.ok(back.type === "nats-served-in-actor" && !back.serving, JSON.stringify(back));
  assert.match(back.reason ?? "", /connection dropped/);
  assert.equal(exposure.stats().servedIn, "node");
  const handled = ref.stats().handled;
  for (let i = 0; i < 5; i++) await remote.tell("inc", 1);
  assert.equal(await remote.ask("get", undefined, { timeout: 5000 }), 5);
  assert.equal(ref.stats().handled, handled + 6, "the node's thread handed them over");
  assert.equal(exposure.stats().actorConnection?.connected, false);
  assert.equal(node.stats().connected, true, "the node's own connection stayed up");
  // Back: the actor's thread serves the name again.
  proxy.refuse(false);
  const up = await within(events.until("nats-reconnected"), 15_000, "the reconnect");
  assert.equal((up as { actorId?: string }).actorId, ref.id);
  const again = await served(3);
  assert.ok(again.type === "nats-served-in-actor" && again.serving, JSON.stringify(again));
  assert.equal(await remote.ask("get", undefined, { timeout: 5000 }), 5);
  assert.equal(ref.stats().handled, handled + 6, "served in the actor's thread again");
  assert.deepEqual(exposure.stats().actorConnection, {
    connected: true,
    disconnects: 1,
    reconnects: 1,
  });
  assert.equal(node.stats().disconnects, 0);
});

Deno.test("inActor: when the actor's own connection gives up reconnecting, the node's thread serves the name for good", async () => {
  await using t = await throughProxy("ia21", { reconnectWait: 20, maxReconnectAttempts: 2 });
  const { proxy, ref, node, events, exposure, served, remote } = t;
  await served(1);
  proxy.refuse();
  proxy.cut(1);
  const closed = await within(events.until("nats-closed"), 15_000, "the give-up");
  assert.ok(closed.type === "nats-closed" && closed.actorId === ref.id, JSON.stringify(closed));
  assert.equal(closed.reason, "gave up reconnecting");
  proxy.refuse(false);
  assert.equal(await remote.ask("echo", 7, { timeout: 5000 }), 7);
  const stats = exposure.stats();
  assert.equal(stats.servedIn, "node");
  assert.equal(stats.actorConnection?.connected, false);
  assert.equal(node.stats().connected, true);
  assert.equal(ref.stats().state, "running");
});

for (const inActor of [false, true]) {
  const path = inActor ? "the actor's thread" : "the node's thread";
  Deno.test(`inActor: served from ${path}, an ask held when the actor is terminated at its stop deadline gets ActorStoppedError at once`, async () => {
    await using t = await exposed(`ia22${inActor ? "a" : "n"}`, {}, { inActor });
    if (inActor) await t.moved();
    const started = performance.now();
    const held = t.remote.ask("hold", undefined, { timeout: 20_000 }).then(
      () => assert.fail("the held ask should reject"),
      (e: unknown) => e,
    );
    await t.holding(1);
    assert.equal((await t.ref.stop({ timeout: 200 })).reason, "timeout");
    const error = await within(held, 10_000, "the held ask");
    assert.ok(error instanceof ActorStoppedError, String(error));
    assert.ok(performance.now() - started < 10_000);
  });

  Deno.test(`inActor: served from ${path}, an ask held when a thread actor runs out of memory gets ActorCrashedError at once`, async () => {
    await using t = await exposed(
      `ia23${inActor ? "a" : "n"}`,
      { host: "thread", maxHeapMiB: 96 },
      { inActor },
    );
    if (inActor) {
      const event = await t.moved();
      assert.ok(event.type === "nats-served-in-actor" && event.serving, JSON.stringify(event));
    }
    const held = t.remote.ask("hold", undefined, { timeout: 20_000 }).then(
      () => assert.fail("the held ask should reject"),
      (e: unknown) => e,
    );
    await t.holding(1);
    await t.remote.tell("hogSoon", undefined);
    const error = await within(held, 10_000, "the held ask");
    assert.ok(error instanceof ActorCrashedError, String(error));
    assert.equal((await t.ref.exited).reason, "error");
  });
}

Deno.test("inActor: a dying thread's connection closes its socket at once, its status watch let go first", async () => {
  // nats.js's close() waits for its status listeners before it closes the socket; a thread that
  // dies has no turn left for that (the name's subscription would outlive it at the server).
  await using server = await startNatsServer();
  const nc = await connect({ servers: server.url });
  const statuses = nc.status();
  const watching = (async () => {
    for await (const _ of statuses) { /* as the actor's end watches */ }
  })();
  unwatch(nc, statuses);
  const closing = nc.close();
  assert.equal(nc.isClosed(), true, "closed before close() first waited");
  await closing;
  await within(watching, 5000, "the watch's end");
});

Deno.test("inActor: after the server restarts, the name is served from the actor's thread again", async () => {
  await using server = await startNatsServer();
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof inActorProbe>(PROBE, { args: {} });
  await using node = await NatsNode.connect({
    servers: server.url,
    namespace: "ia24",
    reconnectWait: 20,
  });
  const events = eventsOf(node);
  await using exposure = await node.expose("probe", ref, { inActor: true });
  await using caller = await NatsNode.connect({
    servers: server.url,
    namespace: "ia24",
    reconnectWait: 20,
  });
  const remote = caller.lookup<typeof inActorProbe>("probe");
  const served = (n: number) =>
    within(events.until("nats-served-in-actor", n), 15_000, `served-in-actor event ${n}`);
  assert.ok(((await served(1)) as { serving: boolean }).serving);
  await server.stop();
  await server.restart();
  // Down, then back: the node's thread served it meanwhile, the actor's thread serves it again.
  const back = await served(2);
  assert.ok(back.type === "nats-served-in-actor" && !back.serving, JSON.stringify(back));
  const again = await served(3);
  assert.ok(again.type === "nats-served-in-actor" && again.serving, JSON.stringify(again));
  assert.equal(exposure.stats().servedIn, "actor");
  assert.equal(exposure.stats().actorConnection?.reconnects, 1);
  // Every ask now is answered, by the actor's thread (the node's hands it nothing).
  const handled = ref.stats().handled;
  await within(
    (async () => {
      while (!caller.stats().connected) await new Promise((r) => setTimeout(r, 10));
    })(),
    15_000,
    "the caller back",
  );
  for (let i = 0; i < 20; i++) assert.equal(await remote.ask("echo", i, { timeout: 5000 }), i);
  assert.equal(ref.stats().handled, handled);
  assert.equal(exposure.stats().pending, 0);
});
