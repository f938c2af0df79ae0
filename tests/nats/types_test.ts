// Compile-time checks of the remote protocol: a looked-up ref is typed by the
// actor module (or its definition) exactly as a local ref is; `deno test`
// type-checks this file, and every `@ts-expect-error` fails the check if the
// line it guards ever compiles.
import assert from "node:assert/strict";
import type { ActorRef, Pool, Supervisor } from "../../mod.ts";
import type { Exposable, NatsNode, RemoteRef } from "../../actors/cluster/mod.ts";
import type { natsProbe } from "../fixtures/nats_actor.ts";

type Module = typeof import("../fixtures/nats_actor.ts");

// Never called: only type-checked.
async function remoteProtocolIsChecked(node: NatsNode): Promise<void> {
  const ref = node.lookup<Module>("probe");
  await ref.tell("inc", 5);
  const n: number = await ref.ask("get");
  const who: { label: string; pid: number } = await ref.ask("whoami", undefined, { timeout: 10 });
  const echoed: unknown = await ref.ask("echo", "x", { signal: AbortSignal.timeout(10) });
  void [n, who, echoed];

  // The definition's type works the same as the module's.
  const same: RemoteRef<typeof natsProbe> = node.lookup<typeof natsProbe>("probe");
  const also: RemoteRef<typeof natsProbe> = ref;
  void [same, also];

  // @ts-expect-error the payload must be a number
  await ref.tell("inc", "5");
  // @ts-expect-error the payload is required
  await ref.tell("inc");
  // @ts-expect-error there is no such handler
  await ref.tell("dec", 1);
  // @ts-expect-error `get` takes no payload
  await ref.ask("get", 3);
  // @ts-expect-error `get` replies with a number
  const wrong: string = await ref.ask("get");
  void wrong;
}
void remoteProtocolIsChecked;

// Never called: refs, supervised refs and pools can all be exposed; other things cannot.
async function anythingWithTellAndAskIsExposable(
  node: NatsNode,
  ref: ActorRef<typeof natsProbe>,
  pool: Pool<typeof natsProbe>,
  supervisor: Supervisor,
): Promise<void> {
  const targets: Exposable[] = [ref, pool, supervisor.ref<typeof natsProbe>("child")];
  for (const target of targets) await node.expose("probe", target);
  // @ts-expect-error a plain object is no actor
  await node.expose("probe", { id: "x" });
}
void anythingWithTellAndAskIsExposable;

Deno.test("the remote protocol's types are checked at compile time", () => {
  assert.equal(typeof remoteProtocolIsChecked, "function");
});
