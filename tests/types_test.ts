// Compile-time checks of the typed protocol: `deno test` type-checks this
// file, and every `@ts-expect-error` below fails the check if the line it
// guards ever compiles.
import assert from "node:assert/strict";
import { type ActorRef, ActorSystem, defineActor } from "../mod.ts";
import type { probe } from "./fixtures/probe_actor.ts";

const typed = defineActor({
  init: (args: { start: number }) => ({ count: args.start }),
  handlers: {
    inc(state, n: number) {
      state.count += n;
    },
    get: (state) => state.count,
    maybe: (_state, label?: string) => label ?? "none",
    async later(state) {
      await Promise.resolve();
      return { count: state.count };
    },
  },
});

// Never called: only type-checked.
async function protocolIsChecked(ref: ActorRef<typeof typed>): Promise<void> {
  await ref.tell("inc", 5);
  await ref.tell("inc", 5, { timeout: 10, signal: AbortSignal.timeout(10) });
  const n: number = await ref.ask("get");
  const label: string = await ref.ask("maybe");
  const also: string = await ref.ask("maybe", "x", { timeout: 10 });
  const later: { count: number } = await ref.ask("later", undefined, { signal: undefined });
  void [n, label, also, later];

  // @ts-expect-error the payload must be a number
  await ref.tell("inc", "5");
  // @ts-expect-error the payload is required
  await ref.tell("inc");
  // @ts-expect-error there is no such handler
  await ref.tell("dec", 1);
  // @ts-expect-error a tell's options are a timeout and a signal
  await ref.tell("inc", 5, { priority: 1 });
  // @ts-expect-error the options come after the payload
  await ref.tell("inc", { timeout: 10 });
  // @ts-expect-error `get` takes no payload
  await ref.ask("get", 3);
  // @ts-expect-error `get` replies with a number
  const wrong: string = await ref.ask("get");
  void wrong;
}
void protocolIsChecked;

Deno.test("spawn() args are typed by the actor's init", async () => {
  await using system = await ActorSystem.start();
  const url = new URL("./fixtures/probe_actor.ts", import.meta.url);
  // @ts-expect-error args must match init's parameter
  await assert.rejects(system.spawn<typeof probe>(url, { args: { failInit: "yes" } }));
  const ref = await system.spawn<typeof probe>(url, { args: {} });
  assert.equal(await ref.ask("get"), 0);
});
