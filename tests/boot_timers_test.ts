// A fresh actor reads neither the setTimeout nor the setInterval global on
// its way to its first replies, on every route of the worker and process
// hosts: in Deno 2.9 the first read in an isolate loads Deno's Node timers (4
// to 10 ms here), which would count in every spawn-to-first-reply. The
// runtime's timers on the actor's side are `internal/ticker.ts`'s `every()`
// and `after()` (Atomics.waitAsync). The thread host is left out: its heap
// watch is a `setInterval` on purpose (see actors/hosts/_thread.ts).
//
// The spy is the actor module, so it sees what runs after the module loads.
// A worker with `permissions` imports its module before its boot, so the
// last route also sees the worker's boot.
import assert from "node:assert/strict";
import { ActorSystem } from "../mod.ts";
import { ROUTES } from "./_routes.ts";
import type { timersSpy } from "./fixtures/timers_spy_actor.ts";

const SPY = new URL("./fixtures/timers_spy_actor.ts", import.meta.url);

const routes = [
  ...ROUTES.filter((route) => route.host !== "thread"),
  { host: "worker", transport: "queue", permissions: {} },
] as const;

for (const { host, transport, ...rest } of routes) {
  const permissions = "permissions" in rest ? rest.permissions : undefined;
  const name = `a ${host} actor on ${transport}${permissions ? " with permissions" : ""}`;
  Deno.test(`${name} reads no timers global before its first replies`, async () => {
    await using system = await ActorSystem.start();
    const ref = await system.spawn<typeof timersSpy>(SPY, { host, transport, permissions });
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(
        await ref.ask("read"),
        [],
        `ask ${i + 1}: ${(await ref.ask("where")).join("\n")}`,
      );
    }
    // The spy sees a read when there is one.
    await ref.ask("useTimer");
    assert.deepEqual(await ref.ask("read"), ["setTimeout"]);
  });
}
