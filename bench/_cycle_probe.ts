/**
 * Measures, in a fresh process, what N spawn/stop cycles of one route leave behind in this
 * process's memory: after a warm-up it reads RSS, RssAnon (`/proc/self/status`) and the main
 * JS heap at checkpoints, each after a settle (a forced GC when run with
 * `--v8-flags=--expose-gc`, then a short idle, then another GC), and prints one JSON line per
 * checkpoint and a summary line (growth per 1000 cycles). Each checkpoint also has the main
 * heap's spaces and the anonymous memory by who holds it (`_smaps.ts`: glibc's main and thread
 * arenas, V8's pages, the rest), and the summary the growth of the main isolate's young
 * generation apart (`newSpacePer1000MiB`, and RSS without it): V8 grows that in steps to a
 * size the workload sets, a high-water mark rather than a leak.
 *
 * Routes: `HOST/TRANSPORT` for `worker`, `thread` and `process` hosts over `queue`, `ring`,
 * `pipe` and `socket`; `restart/TRANSPORT` (a supervised worker actor crashed and restarted
 * each cycle, as the soak does to a pool's parser); and the bare-Deno baselines `bare/worker`
 * (`new Worker` + `terminate()`) and `bare/process` (`Deno.Command` spawn + kill).
 *
 * Usage: `deno run -A --v8-flags=--expose-gc bench/_cycle_probe.ts ROUTE CYCLES [--every N]
 * [--warmup N] [--snapshot PREFIX] [--quiet-ms MS]`. `--quiet-ms` reads once more after the
 * cycles and MS milliseconds of quiet: V8 shrinks the young generation after a GC at a low
 * allocation rate (1000 worker/queue cycles: 19.5 to 1.3 MiB after 7 s), but RSS stays (94.1
 * and 94.4 MiB): the pages it gave up stay mapped. `--snapshot` writes the main heap's snapshot
 * after the warm-up and at the end (`PREFIX.0.heapsnapshot`, `PREFIX.N.heapsnapshot`), to
 * compare in Chrome's DevTools or count objects by name. Put `MALLOC_ARENA_MAX=2` in front to
 * compare glibc's arenas.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { getHeapSpaceStatistics, writeHeapSnapshot } from "node:v8";
import { ActorSystem } from "../mod.ts";
import type { echo } from "./actors/echo.ts";
import { type AnonBreakdown, anonBreakdown } from "./_smaps.ts";
import type { fault } from "../tests/faults/fixtures/fault_actor.ts";

const ECHO = new URL("./actors/echo.ts", import.meta.url);
const FAULT = new URL("../tests/faults/fixtures/fault_actor.ts", import.meta.url);
const READY_WORKER = new URL("./baselines/_ready_worker.ts", import.meta.url);
const READY_CHILD = new URL("./baselines/_ready_child.ts", import.meta.url);

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    every: { type: "string" },
    warmup: { type: "string", default: "20" },
    snapshot: { type: "string" },
    "quiet-ms": { type: "string", default: "0" },
  },
});
const route = positionals[0] ?? "worker/queue";
const cycles = Number(positionals[1] ?? 200);
const every = Number(values.every ?? Math.max(1, Math.floor(cycles / 5)));
const warmup = Number(values.warmup);
const [host, transport] = route.split("/");

const gc = (globalThis as { gc?: () => void }).gc;

function status(field: string): number {
  const text = Deno.readTextFileSync("/proc/self/status");
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(text);
  return kb === null ? 0 : Number(kb[1]) / 1024;
}

/**
 * The size of the main isolate's young generation in MiB. V8 grows it in steps under allocation
 * (up to its `--max-semi-space-size`) and keeps it: RSS that grows with it is a high-water mark
 * the workload sets, not memory each cycle leaves behind.
 */
function newSpaceMiB(): number {
  const young = getHeapSpaceStatistics().filter((space) => space.space_name === "new_space");
  return Number((young.reduce((sum, space) => sum + space.space_size, 0) / 2 ** 20).toFixed(1));
}

/** The main isolate's heap spaces that hold anything: `size/used` in MiB. */
function spaces(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const space of getHeapSpaceStatistics()) {
    if (space.space_size === 0) continue;
    const mib = (n: number) => (n / 2 ** 20).toFixed(1);
    out[space.space_name.replace("_space", "")] = `${mib(space.space_size)}/${
      mib(space.space_used_size)
    }`;
  }
  return out;
}

async function settle(): Promise<
  {
    rssMiB: number;
    anonMiB: number;
    heapMiB: number;
    heapTotalMiB: number;
    externalMiB: number;
    newSpaceMiB: number;
    spaces: Record<string, string>;
    anon: AnonBreakdown;
  }
> {
  gc?.();
  await new Promise((resolve) => setTimeout(resolve, 300));
  gc?.();
  await new Promise((resolve) => setTimeout(resolve, 50));
  return {
    rssMiB: Number(status("VmRSS").toFixed(1)),
    anonMiB: Number(status("RssAnon").toFixed(1)),
    heapMiB: Number((Deno.memoryUsage().heapUsed / 2 ** 20).toFixed(1)),
    heapTotalMiB: Number((Deno.memoryUsage().heapTotal / 2 ** 20).toFixed(1)),
    externalMiB: Number((Deno.memoryUsage().external / 2 ** 20).toFixed(1)),
    newSpaceMiB: newSpaceMiB(),
    spaces: spaces(),
    anon: anonBreakdown(),
  };
}

function ready(worker: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    worker.onmessage = () => resolve();
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      reject(new Error(`Worker failed: ${event.message}`));
    };
  });
}

let system: ActorSystem | undefined;
let cycle: (i: number) => Promise<void>;
if (host === "bare" && transport === "worker") {
  cycle = async () => {
    const worker = new Worker(READY_WORKER, { type: "module" });
    await ready(worker);
    worker.terminate();
  };
} else if (host === "bare" && transport === "process") {
  cycle = async () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", READY_CHILD.pathname],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.getReader();
    await reader.read();
    reader.releaseLock();
    child.kill("SIGKILL");
    await child.status;
    await child.stdout.cancel();
    await child.stdin.close().catch(() => {});
  };
} else if (host === "restart") {
  system = await ActorSystem.start();
  const root = await system.supervise({
    id: "root",
    maxRestarts: cycles * 2 + warmup + 10,
    periodMs: 1000,
    backoff: false,
    children: [{ id: "crasher", module: FAULT, host: "worker", transport }],
  });
  const crasher = root.ref<typeof fault>("crasher");
  cycle = async () => {
    await crasher.ask("crashSoon").catch(() => {});
    await crasher.ask("pid");
  };
} else {
  system = await ActorSystem.start();
  const s = system;
  cycle = async (i) => {
    const ref = await s.spawn<typeof echo>(ECHO, {
      id: `c${i}`,
      host: host as "worker" | "thread" | "process",
      transport,
      timeout: 30_000,
    });
    await ref.ask("ping");
    await ref.stop();
  };
}

try {
  for (let i = 0; i < warmup; i++) await cycle(-1 - i);
  const first = await settle();
  if (values.snapshot) writeHeapSnapshot(`${values.snapshot}.0.heapsnapshot`);
  const started = performance.now();
  console.log(JSON.stringify({ route, at: 0, ...first }));
  let last = first;
  for (let i = 0; i < cycles;) {
    await cycle(i++);
    if (i % every === 0 || i === cycles) {
      last = await settle();
      console.log(JSON.stringify({ route, at: i, ...last }));
    }
  }
  if (values.snapshot) writeHeapSnapshot(`${values.snapshot}.${cycles}.heapsnapshot`);
  const quietMs = Number(values["quiet-ms"]);
  if (quietMs > 0) {
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    last = await settle();
    console.log(JSON.stringify({ route, at: cycles, quietMs, ...last }));
  }
  const per1000 = (a: number, b: number) => Number(((b - a) / cycles * 1000).toFixed(1));
  console.log(JSON.stringify({
    route,
    cycles,
    arenaMax: Deno.env.get("MALLOC_ARENA_MAX") ?? null,
    ms: Math.round(performance.now() - started),
    rssPer1000MiB: per1000(first.rssMiB, last.rssMiB),
    anonPer1000MiB: per1000(first.anonMiB, last.anonMiB),
    heapPer1000MiB: per1000(first.heapMiB, last.heapMiB),
    brkPer1000MiB: per1000(first.anon.brkMiB, last.anon.brkMiB),
    arenasPer1000MiB: per1000(first.anon.arenasMiB, last.anon.arenasMiB),
    v8PagesPer1000MiB: per1000(first.anon.v8PagesMiB, last.anon.v8PagesMiB),
    otherAnonPer1000MiB: per1000(first.anon.otherAnonMiB, last.anon.otherAnonMiB),
    newSpacePer1000MiB: per1000(first.newSpaceMiB, last.newSpaceMiB),
    rssLessNewSpacePer1000MiB: per1000(
      first.rssMiB - first.newSpaceMiB,
      last.rssMiB - last.newSpaceMiB,
    ),
  }));
} finally {
  await system?.shutdown({ timeout: 5_000 });
}
