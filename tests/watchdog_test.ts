// The heartbeat watchdog on its own, over fake cells: silence is counted in
// its ticks, and only a silent actor outside any handler is declared dead.
import assert from "node:assert/strict";
import { Watchdog } from "../actors/system/_watchdog.ts";
import type { ActorCell } from "../actors/core/cell.ts";
import { within } from "./_helpers.ts";

interface FakeCell {
  id: string;
  heartbeats: boolean;
  state: string;
  lastSeen: number;
  busy: boolean;
  lost: number;
  lostHeartbeat(): void;
}

function fake(id: string, extra: Partial<FakeCell> = {}): FakeCell {
  return {
    id,
    heartbeats: true,
    state: "running",
    lastSeen: 1,
    busy: false,
    lost: 0,
    lostHeartbeat() {
      this.lost++;
    },
    ...extra,
  };
}

/**
 * Runs a watchdog over `cells` for `ticks` ticks; returns, for each cell declared
 * dead, the tick at whose start it was found so.
 */
async function watch(cells: FakeCell[], ticks: number, onTick: (tick: number) => void = () => {}) {
  let tick = 0;
  const done = Promise.withResolvers<void>();
  const lostAt = new Map<string, number>();
  const watchdog = new Watchdog(1, function* () {
    // Read once per tick, before the cells are judged.
    onTick(++tick);
    for (const cell of cells) if (cell.lost > 0 && !lostAt.has(cell.id)) lostAt.set(cell.id, tick);
    if (tick > ticks) done.resolve();
    else yield* cells as unknown as ActorCell[];
  });
  watchdog.start();
  try {
    await within(done.promise, 10_000, `${ticks} watchdog ticks`);
  } finally {
    watchdog.stop();
  }
  return lostAt;
}

Deno.test("the watchdog declares dead an actor silent for three ticks, once its start is over", async () => {
  const silent = fake("silent");
  const starting = fake("starting", { state: "starting" });
  const lostAt = await watch([silent, starting], 6);
  // Tick 1 records what it saw; ticks 2, 3 and 4 find it silent, and tick 4 declares it dead.
  assert.equal(lostAt.get("silent"), 5);
  assert.equal(starting.lost, 0);
});

Deno.test("the watchdog holds no silence against a busy actor, one that sends heartbeats, or one that sends none", async () => {
  const busy = fake("busy", { busy: true });
  const alive = fake("alive");
  const process = fake("process", { heartbeats: false });
  await watch([busy, alive, process], 10, (tick) => alive.lastSeen = tick);
  assert.deepEqual([busy.lost, alive.lost, process.lost], [0, 0, 0]);
});

Deno.test("a watchdog with an interval of 0 never ticks", () => {
  const watchdog = new Watchdog(0, () => {
    throw new Error("ticked");
  });
  watchdog.start();
  watchdog.stop();
});
