/**
 * The parent the `exit.orphan.*` cases SIGKILL: it starts four children, prints their pids as one
 * JSON line, then waits to be killed.
 *
 * - `troupe`: four process actors (`pipe` and `socket`, each idle and inside a handler that
 *   never settles), which end when their parent does by seeing their stdin end.
 * - `bare`: four `deno run` children that read their stdin until it ends, then exit
 *   (`baselines/_ready_child.ts`): the same mechanism with no Troupe code in it.
 *
 * @module
 */

import { ActorSystem } from "../mod.ts";
import type { orphanProbe } from "./actors/orphan_probe.ts";
import { spawnDeno } from "./baselines/_util.ts";

const PROBE = new URL("./actors/orphan_probe.ts", import.meta.url);
const CHILD = new URL("./baselines/_ready_child.ts", import.meta.url);

const mode = Deno.args[0];
let pids: number[];
if (mode === "bare") {
  const children = Array.from({ length: 4 }, () => spawnDeno(CHILD));
  // Each writes a byte once it runs: then its stdin read is what ends it.
  await Promise.all(children.map((child) => child.stdout.getReader().read()));
  pids = children.map((child) => child.pid);
} else if (mode === "troupe") {
  const system = await ActorSystem.start();
  const setups = [["pipe", false], ["pipe", true], ["socket", false], ["socket", true]] as const;
  const refs = await Promise.all(
    setups.map(([transport], i) =>
      system.spawn<typeof orphanProbe>(PROBE, { id: `orphan-${i}`, host: "process", transport })
    ),
  );
  pids = await Promise.all(refs.map((ref) => ref.ask("pid")));
  setups.forEach(([, busy], i) => {
    if (busy) refs[i]!.tell("hang");
  });
  // Let the hanging handlers start before the parent says it is ready.
  await Promise.all(refs.filter((_, i) => !setups[i]![1]).map((ref) => ref.ask("pid")));
} else {
  throw new TypeError(`Cannot start the orphan parent: mode must be "troupe" or "bare"`);
}
console.log(JSON.stringify(pids));
await new Promise(() => setInterval(() => {}, 1_000_000));
