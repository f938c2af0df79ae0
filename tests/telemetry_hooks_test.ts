// The core's telemetry hooks, without OpenTelemetry: a cell and the real
// serve() joined by a queue transport pair, with recording hooks on both
// ends. The trace context the cell's hook gives travels in the envelope to
// the actor's hook; without hooks, the wire carries none.
import assert from "node:assert/strict";
import { ActorCell } from "../actors/core/cell.ts";
import type { Launcher } from "../actors/core/host.ts";
import type { CellHooks, ServeHooksModule } from "../actors/core/hooks.ts";
import { defineActor } from "../actors/core/define_actor.ts";
import { serve } from "../actors/core/serve.ts";
import * as wire from "../actors/core/protocol.ts";
import { ActorError } from "../internal/errors.ts";
import { queueTransportPair } from "../transports/queue.ts";
import type { Transport } from "../transports/transport.ts";
import { deferred, soon } from "./_channel.ts";

/** Whether a handler runs inside the actor hook's `run`. */
let inside = false;

const actor = defineActor({
  init: () => ({ count: 0 }),
  handlers: {
    get: (state) => ({ count: state.count, inside }),
    inc(state, n: number) {
      state.count += n;
    },
    fail(): never {
      throw new Error("failed on purpose");
    },
    /** Async: its hook ends when its promise settles (`run` covers its synchronous part). */
    async slow() {
      const ran = inside;
      await Promise.resolve();
      return ran;
    },
  },
});

type Recorded = [event: string, ...details: unknown[]];

/** Runs a cell against the real serve(), with hooks on both ends when `traced`. */
async function start(traced: boolean) {
  const recorded: Recorded[] = [];
  const sent: unknown[][] = [];
  let next = 0;
  const cellHooks: CellHooks = {
    ask(name) {
      const traceparent = `ask-${name}-${++next}`;
      recorded.push(["ask", name, traceparent]);
      return {
        traceparent,
        end: (error) => recorded.push(["ask-end", name, error === undefined ? "ok" : "error"]),
      };
    },
    tell(name) {
      const traceparent = `tell-${name}-${++next}`;
      recorded.push(["tell", name, traceparent]);
      return traceparent;
    },
  };
  const hooksModule: ServeHooksModule = {
    serveHooks: (boot) => ({
      handle(name, ask, traceparent) {
        recorded.push(["handle", name, ask, traceparent, boot.telemetry?.attributes]);
        return {
          run(fn) {
            inside = true;
            try {
              return fn();
            } finally {
              inside = false;
            }
          },
          end: (ok) => recorded.push(["handle-end", name, ok]),
        };
      },
    }),
  };
  const served = deferred();
  const launch: Launcher = (boot, _events) => {
    const [parentEnd, actorEnd] = queueTransportPair();
    serve(
      boot,
      actorEnd,
      () => served.resolve(),
      { actor },
      undefined,
      traced ? hooksModule : undefined,
    );
    // Records what the cell sends.
    const send: Transport["send"] = (batch, hints) => {
      sent.push(...(batch as unknown[][]));
      return parentEnd.send(batch, hints);
    };
    const recording = new Proxy(parentEnd, {
      get(target, key) {
        if (key === "send") return send;
        const value = Reflect.get(target, key);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    return Promise.resolve({
      host: {
        kind: "worker",
        pid: undefined,
        killGraceMs: 0,
        kill: () => Promise.resolve(),
        release: () => Promise.resolve(),
      },
      transport: recording,
    });
  };
  const cell = new ActorCell({
    id: "traced",
    module: "test:traced",
    exportName: undefined,
    args: undefined,
    capacity: 8,
    overflow: "backpressure",
    heartbeatMs: 0,
    hostKind: "worker",
    transportName: "queue",
    owner: 1,
    semaphores: {},
    launch,
    onDeadLetter: () => {},
    onExit: () => {},
    onCall: () => Promise.reject(new Error("no services here")),
    ...(traced
      ? { hooks: cellHooks, telemetry: { module: "test:hooks", attributes: { a: 1 } } }
      : {}),
  });
  await soon(cell.start(undefined), "the start");
  return { cell, recorded, sent, served: served.promise };
}

Deno.test("hooks: an ask's and a tell's trace context reach the actor's hook inside the envelope; handlers run inside it", async () => {
  const { cell, recorded, sent, served } = await start(true);
  await cell.tell("inc", 2);
  await cell.tell("inc", 3);
  assert.deepEqual(await cell.ask("get", undefined, undefined), { count: 5, inside: true });
  assert.equal(await cell.ask("slow", undefined, undefined), true);
  await assert.rejects(cell.ask("fail", undefined, undefined), ActorError);
  await soon(cell.stop(2000), "the stop");
  await soon(served, "serve() to end");
  const attributes = { a: 1 };
  assert.deepEqual(recorded, [
    ["tell", "inc", "tell-inc-1"],
    ["tell", "inc", "tell-inc-2"],
    ["ask", "get", "ask-get-3"],
    ["handle", "inc", false, "tell-inc-1", attributes],
    ["handle-end", "inc", true],
    ["handle", "inc", false, "tell-inc-2", attributes],
    ["handle-end", "inc", true],
    ["handle", "get", true, "ask-get-3", attributes],
    ["handle-end", "get", true],
    ["ask-end", "get", "ok"],
    ["ask", "slow", "ask-slow-4"],
    ["handle", "slow", true, "ask-slow-4", attributes],
    ["handle-end", "slow", true],
    ["ask-end", "slow", "ok"],
    ["ask", "fail", "ask-fail-5"],
    ["handle", "fail", true, "ask-fail-5", attributes],
    ["handle-end", "fail", false],
    ["ask-end", "fail", "error"],
  ]);
  // Traced messages travel wrapped, and a run of traced tells is not folded.
  assert.deepEqual(sent.slice(0, 3), [
    [wire.TRACED, "tell-inc-1", [wire.TELL, "inc", 2]],
    [wire.TRACED, "tell-inc-2", [wire.TELL, "inc", 3]],
    [wire.TRACED, "ask-get-3", [wire.ASK, 1, "get"]],
  ]);
});

Deno.test("hooks: without them the wire carries no trace context and the boot message names no module", async () => {
  const { cell, recorded, sent, served } = await start(false);
  await cell.tell("inc", 2);
  await cell.tell("inc", 3);
  assert.deepEqual(await cell.ask("get", undefined, undefined), { count: 5, inside: false });
  await soon(cell.stop(2000), "the stop");
  await soon(served, "serve() to end");
  assert.deepEqual(recorded, []);
  assert.ok(sent.every((message) => message[0] !== wire.TRACED));
  assert.deepEqual(sent[0], [wire.TELLS, "inc", [2, 3]]);
});
