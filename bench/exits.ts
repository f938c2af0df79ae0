/**
 * How fast the ends of a death are seen.
 *
 * - `exit.orphan.troupe` SIGKILLs a parent with four process actors (`pipe` and `socket`, idle and
 *   inside a handler) and times until the last of them is gone; `baseline.orphan.exit` does the
 *   same with four bare `deno run` children that call `Deno.exit()` when their stdin ends, the
 *   straightforward code for that mechanism (a child cannot learn its parent's death sooner
 *   without polling). "Gone" is no process in `/proc` or a zombie, polled every millisecond.
 *   Linux only: elsewhere these cases are skipped.
 * - `pipe.peerclosed.*` times from the death of an actor holding one end of a `Pipe()` (a SIGKILL
 *   of a process actor, a crash of a worker actor) to the parent's pending `recv()` rejecting
 *   with `ConnectionClosedError`. Their bound is absolute, with no bare baseline: the kernel
 *   closes a killed process's files only after it unmapped its memory, so the end of a bare
 *   child's stdout came 0.3 to 3 ms after its SIGKILL, bimodal, and a bigger child's later; the
 *   ratio measured the child's size more than the runtime.
 *
 * @module
 */

import { ActorSystem, ConnectionClosedError, Pipe } from "../mod.ts";
import type { BenchCase, BenchRunOptions } from "./_harness.ts";
import type { pipeHolder } from "./actors/pipe_holder.ts";
import { bounded, kill, spawnDeno } from "./baselines/_util.ts";

const PARENT = new URL("./_orphan_parent.ts", import.meta.url);
const HOLDER = new URL("./actors/pipe_holder.ts", import.meta.url);

/** Whether `pid` is a live process (not gone, not a zombie). */
function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.charAt(stat.lastIndexOf(")") + 2);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Starts the parent in `mode`, kills it once its children run, and times their end in ms. */
async function orphanExit(mode: "troupe" | "bare", { signal }: BenchRunOptions): Promise<number> {
  const parent = spawnDeno(PARENT, { args: [mode], permissions: ["-A"], stdin: "null" });
  let pids: number[] = [];
  try {
    const reader = parent.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await bounded(reader.read(), "start the children", 20_000, signal);
      if (done) throw new Error("Cannot start the orphan parent: it closed stdout");
      text += value;
    }
    void reader.cancel().catch(() => {});
    pids = JSON.parse(text) as number[];
    if (pids.length !== 4 || !pids.every(alive)) {
      throw new Error(`Cannot measure: the parent's children are not all running (${text.trim()})`);
    }
    parent.kill("SIGKILL");
    const killed = performance.now();
    await parent.status;
    while (pids.some(alive)) {
      if (performance.now() - killed > 5_000) {
        throw new Error("Cannot measure: the children outlived their parent by 5 s");
      }
      signal.throwIfAborted();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    return performance.now() - killed;
  } finally {
    kill(parent);
    await parent.status.catch(() => {});
    for (const pid of pids) {
      if (alive(pid)) Deno.kill(pid, "SIGKILL");
    }
  }
}

/**
 * Spawns an actor holding one end of a `Pipe()`, ends it (SIGKILL for a process actor, a crash
 * for a worker actor) and times until the parent's pending `recv()` rejects.
 */
async function peerClosed(
  host: "process" | "worker",
  { signal }: BenchRunOptions,
): Promise<number> {
  await using system = await ActorSystem.start();
  const [mine, theirs] = Pipe<number>();
  await using end = mine;
  const ref = await system.spawn<typeof pipeHolder>(HOLDER, { host, args: theirs });
  const pid = await bounded(ref.ask("pid"), "start the actor", 20_000, signal);
  // The end rejects on its own timeout or the run's abort: nothing else to bound.
  const closed = end.recv({ timeout: 5_000, signal }).then(
    () => Promise.reject(new Error("Cannot measure: the actor sent a value instead of dying")),
    (error: unknown) => {
      if (!(error instanceof ConnectionClosedError)) throw error;
      return performance.now();
    },
  );
  const start = performance.now();
  if (host === "process") Deno.kill(pid, "SIGKILL");
  else ref.tell("crash");
  return await closed - start;
}

const linuxOnly = (): Promise<string | undefined> =>
  Promise.resolve(
    Deno.build.os === "linux" ? undefined : "needs Linux's /proc to see children end",
  );

/** The orphan-exit and peer-closed cases: the bare baselines and Troupe's actors. */
export const exitCases: BenchCase[] = [
  {
    id: "baseline.orphan.exit",
    group: "baseline",
    unit: "ms",
    prepare: linuxOnly,
    run: (options) => orphanExit("bare", options),
  },
  {
    id: "exit.orphan",
    group: "troupe",
    unit: "ms",
    prepare: linuxOnly,
    figures: {
      "exit.orphan.troupe": { limit: 100 },
      "exit.orphan.troupe.vs-bare": { baseline: "baseline.orphan.exit", target: 1.5 },
    },
    run: async (options) => {
      const ms = await orphanExit("troupe", options);
      return { "exit.orphan.troupe": ms, "exit.orphan.troupe.vs-bare": ms };
    },
  },
  {
    id: "pipe.peerclosed",
    group: "troupe",
    unit: "ms",
    figures: {
      "pipe.peerclosed.process": { limit: 100 },
      "pipe.peerclosed.worker": { limit: 100 },
    },
    run: async (options) => {
      const process = await peerClosed("process", options);
      const worker = await peerClosed("worker", options);
      return {
        "pipe.peerclosed.process": process,
        "pipe.peerclosed.worker": worker,
      };
    },
  },
];
