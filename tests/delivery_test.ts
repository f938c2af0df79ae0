// The delivery contract of README's "Delivery guarantees", one test (or a
// pointer to one) per sentence, on both hosts and the transports they use.
import assert from "node:assert/strict";
import { ActorCrashedError, ActorSystem, type HostKind } from "../mod.ts";
import type { ledger } from "./fixtures/delivery_actor.ts";
import { within } from "./_helpers.ts";

const LEDGER = new URL("./fixtures/delivery_actor.ts", import.meta.url);
const ROUTES: [HostKind, string][] = [
  ["worker", "queue"],
  ["worker", "ring"],
  ["process", "pipe"],
  ["process", "socket"],
];
const quiet = { onLog: () => {} };

for (const [host, transport] of ROUTES) {
  const route = `[${transport} on ${host}]`;
  const spawnOptions = host === "process" ? { host, transport, ...quiet } : { host, transport };

  Deno.test(`${route} asks queued behind a message that crashed the actor reject; the next incarnation never sees them`, async () => {
    await using system = await ActorSystem.start();
    const root = await system.supervise({
      id: "root",
      backoff: { initialMs: 1, maxMs: 1, jitter: false },
      children: [{ id: "ledger", module: LEDGER, ...spawnOptions }],
    });
    const ref = root.ref<typeof ledger>("ledger");
    const crashed = ref.tell("crashSoon");
    const behind = [ref.ask("note", 1), ref.ask("note", 2)];
    await crashed;
    for (const ask of behind) {
      await assert.rejects(within(ask, 15_000, "the queued ask"), ActorCrashedError);
    }
    // Asked after the crash: the restarted incarnation answers, and has handled nothing else.
    assert.equal(await within(ref.ask("note", 3), 15_000, "an ask after the restart"), 3);
    assert.deepEqual(await ref.ask("handled"), [3]);
  });

  Deno.test(`${route} an ask whose handler ran but whose reply was lost rejects with ActorCrashedError`, async () => {
    await using system = await ActorSystem.start();
    const shared = host === "worker";
    const counter = new SharedArrayBuffer(4);
    const logs: string[] = [];
    // A process actor cannot share memory: its side effect shows in its log instead.
    const ref = await system.spawn<typeof ledger>(LEDGER, {
      ...spawnOptions,
      ...(shared ? { args: counter } : { onLog: (line: string) => logs.push(line) }),
    });
    const error = await within(
      ref.ask("effectThenCrash").catch((e) => e),
      15_000,
      "the lost reply",
    );
    assert.ok(error instanceof ActorCrashedError, String(error));
    if (shared) assert.equal(Atomics.load(new Int32Array(counter), 0), 1, "the side effect ran");
    else assert.ok(logs.includes("the side effect ran"), logs.join("\n"));
  });
}
