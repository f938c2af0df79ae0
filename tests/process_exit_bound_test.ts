// A process actor that said goodbye (its stop sentinel handled, BYE sent) but
// whose process does not exit is killed after a bound, so its stop, and a
// shutdown, never wait forever for the process to go.
import assert from "node:assert/strict";
import { ActorSystem } from "../mod.ts";
import type { hungExit } from "./fixtures/hung_exit_actor.ts";
import { within } from "./_helpers.ts";

const HUNG = new URL("./fixtures/hung_exit_actor.ts", import.meta.url);

function alive(pid: number): boolean {
  try {
    const state = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]?.[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

for (const transport of ["pipe", "socket"] as const) {
  Deno.test(`process/${transport}: a stopped actor whose process hangs in its exit is killed, and its stop settles`, async () => {
    await using system = await ActorSystem.start();
    const ref = await system.spawn<typeof hungExit>(HUNG, { host: "process", transport });
    const pid = await ref.ask("pid");
    const exit = await within(ref.stop({ timeout: 5_000 }), 15_000, "the stop");
    assert.equal(exit.reason, "normal", "it stopped through its sentinel");
    assert.equal(alive(pid), false, "the process is gone");
  });
}
