// Crashes under load: a supervised child exposed over NATS, asked by eight
// callers without pause, crashes again and again. Whichever thread serves
// the name (the node's, or the actor's own with `inActor`), every ask gets
// its value or `ActorCrashedError` (it was in the mailbox when the actor
// crashed); none is lost on the way, to wait for its deadline. With
// `inActor`, requests the server had already sent to the crashed thread's
// connection are passed back to the subject before that thread is let go.
import assert from "node:assert/strict";
import { ActorSystem } from "../../mod.ts";
import { NatsNode } from "../../actors/cluster/mod.ts";
import { within } from "../_helpers.ts";
import { startNatsServer } from "./_server.ts";
import { eventsOf } from "./_events.ts";
import type { inActorProbe } from "../fixtures/in_actor_probe.ts";

const PROBE = new URL("../fixtures/in_actor_probe.ts", import.meta.url);
const CRASHES = 12;
const CALLERS = 8;

for (
  const [inActor, host] of [
    [true, "worker"],
    [true, "thread"],
    [false, "worker"],
    [false, "thread"],
  ] as const
) {
  const where = `${inActor ? "inActor" : "node's thread"}, ${host}`;
  Deno.test(`NATS crashes under load (${where}): no ask is lost`, async () => {
    await using server = await startNatsServer();
    await using system = await ActorSystem.start();
    const root = await system.supervise({
      id: "root",
      backoff: { initialMs: 1, maxMs: 1, jitter: false },
      maxRestarts: 1000,
      periodMs: 60_000,
      children: [{ id: "probe", module: PROBE, args: {}, host }],
    });
    const ref = root.ref<typeof inActorProbe>("probe");
    await using node = await NatsNode.connect({ servers: server.url, namespace: "crash" });
    const events = eventsOf(node);
    await using _exposure = await node.expose("probe", ref, { inActor });
    await using caller = await NatsNode.connect({ servers: server.url, namespace: "crash" });
    const remote = caller.lookup<typeof inActorProbe>("probe");
    const served = (n: number) =>
      within(events.until("nats-served-in-actor", n), 15_000, `served-in-actor event ${n}`);
    if (inActor) await served(1);

    const outcomes = new Map<string, number>();
    let done = 0;
    let wake = () => {};
    let crashing = true;
    const callers = Promise.all(Array.from({ length: CALLERS }, async (_, k) => {
      for (let i = 0; crashing; i++) {
        const value = k * 1e6 + i;
        const outcome = await remote.ask("echo", value, { timeout: 5000 }).then(
          (got) => got === value ? "value" : `wrong ${got}`,
          (error: Error) => error.name,
        );
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        done++;
        wake();
      }
    }));
    /** Resolves once `n` more asks were answered. */
    const answered = async (n: number) => {
      const target = done + n;
      while (done < target) await new Promise<void>((resolve) => wake = resolve);
    };

    const restarts = system.events();
    /** From each crash's tell to its restart, in ms. */
    const gaps: number[] = [];
    for (let crash = 1; crash <= CRASHES; crash++) {
      // Asks flowing, served where the option says, then a crash in their midst.
      await within(answered(2 * CALLERS), 15_000, `asks before crash ${crash}`);
      const crashed = performance.now();
      ref.tell("crashSoon", undefined);
      // `next()`, not a `for await` with `break`: that would end the subscription.
      while (true) {
        const { value: event } = await within(restarts.next(), 15_000, `restart ${crash}`);
        if (event?.type === "restarted" && event.id === "probe") break;
      }
      gaps.push(performance.now() - crashed);
      // Each incarnation serves the name from its thread again (two events per crash).
      if (inActor) await served(1 + 2 * crash);
    }
    await within(answered(2 * CALLERS), 15_000, "asks after the last crash");
    crashing = false;
    await within(callers, 15_000, "the callers");
    await restarts.return?.();
    const seen = Object.fromEntries(outcomes);
    const gap = gaps.sort((a, b) => a - b)[gaps.length >> 1]!;
    console.log(
      `  ${CRASHES} crashes (median ${gap.toFixed(1)} ms to the restart), outcomes ${
        JSON.stringify(seen)
      }`,
    );
    for (const outcome of outcomes.keys()) {
      assert.ok(outcome === "value" || outcome === "ActorCrashedError", JSON.stringify(seen));
    }
    assert.ok((outcomes.get("value") ?? 0) > 0, JSON.stringify(seen));
  });
}

for (const inActor of [true, false]) {
  for (const [how, handler] of [["crashes", "crashSoon"], ["exits", "exitSoon"]] as const) {
    const where = inActor ? "inActor" : "node's thread";
    Deno.test(`NATS (${where}): remote tells in hand when the actor ${how} are dead letters`, async () => {
      await using server = await startNatsServer();
      await using system = await ActorSystem.start();
      const gate = new Int32Array(new SharedArrayBuffer(8));
      const ref = await system.spawn<typeof inActorProbe>(PROBE, {
        args: { gate: gate.buffer as SharedArrayBuffer },
      });
      await using node = await NatsNode.connect({ servers: server.url, namespace: "lost" });
      const events = eventsOf(node);
      await using _exposure = await node.expose("probe", ref, { inActor });
      await using caller = await NatsNode.connect({ servers: server.url, namespace: "lost" });
      const remote = caller.lookup<typeof inActorProbe>("probe");
      if (inActor) await within(events.until("nats-served-in-actor"), 15_000, "the hand-over");
      // Four tells inside a handler that waits, then the end: none of them finishes.
      for (let i = 0; i < 4; i++) await remote.tell("hold", undefined);
      while (Atomics.load(gate, 0) < 4) {
        const waiting = Atomics.waitAsync(gate, 0, Atomics.load(gate, 0), 15_000);
        if (waiting.async) await waiting.value;
      }
      await remote.tell(handler, undefined);
      const exit = await within(ref.exited, 15_000, "the end");
      assert.equal(exit.reason, handler === "crashSoon" ? "error" : "exited");
      // Counted before the exit settles, on either path.
      assert.equal(system.stats().deadLetters, 4);
    });
  }
}
