/**
 * Raw start-up and idle-memory costs: `new Worker` to its reply to a first message, `deno run`
 * child to its reply (on stdout) to a first byte on stdin, the resident memory one idle worker adds to a process (measured in a
 * fresh process by `_rss_probe.ts`, averaged over 4 workers), and the resident memory of one
 * idle `deno run` child (`VmRSS`, averaged over 2 children). No Troupe code in the path.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { BenchCase } from "../_harness.ts";
import {
  bounded,
  delay,
  kill,
  reap,
  runCommand,
  spawnDeno,
  startWorker,
  workerInbox,
} from "./_util.ts";

/** The spawn baselines' worker and child answer a first message, as a spawned actor does. */
const REPLY_WORKER = new URL("./_reply_worker.ts", import.meta.url);
const REPLY_CHILD = new URL("./_reply_child.ts", import.meta.url);
/** The idle-memory baseline's child: it writes one byte as it starts, then idles. */
const CHILD = new URL("./_ready_child.ts", import.meta.url);
const PROBE = new URL("./_rss_probe.ts", import.meta.url);
/** Lets a freshly started worker or child finish its start-up allocations before measuring. */
const SETTLE_MS = 100;

/** What the spawn baseline sends its child: one byte, as a message. */
const PING = new Uint8Array([0x0a]);

/** A started child that has written its first byte. */
interface ReadyChild {
  child: Deno.ChildProcess;
  reader: ReadableStreamDefaultReader<Uint8Array>;
  writer: WritableStreamDefaultWriter<Uint8Array>;
}

/**
 * Starts `script` and waits for its first byte on stdout; with `ping`, writes it to the child's
 * stdin first (the reply child answers it).
 */
async function startChild(
  signal: AbortSignal,
  script = CHILD,
  ping?: Uint8Array,
): Promise<ReadyChild> {
  const child = spawnDeno(script);
  const ready: ReadyChild = {
    child,
    reader: child.stdout.getReader(),
    writer: child.stdin.getWriter(),
  };
  try {
    if (ping !== undefined) await ready.writer.write(ping);
    const first = await bounded(ready.reader.read(), "start the child", 15_000, signal);
    if (first.done) throw new Error("Cannot start the child: it closed stdout");
    return ready;
  } catch (error) {
    await stopChild(ready);
    throw error;
  }
}

async function stopChild({ child, reader, writer }: ReadyChild): Promise<void> {
  await writer.close().catch(() => {});
  await reap(child);
  await reader.cancel().catch(() => {});
}

/** Resident memory of a process in MiB, from `VmRSS` in `/proc/<pid>/status` (Linux). */
export async function vmRssMiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (match === null) throw new Error(`Cannot read VmRSS of process ${pid}`);
  return Number(match[1]) / 1024;
}

/** A `prepare` that skips a case when `/proc/<pid>/status` cannot be read (not Linux). */
export async function hasProc(): Promise<string | undefined> {
  try {
    await Deno.stat(`/proc/${Deno.pid}/status`);
    return undefined;
  } catch {
    return "needs /proc/<pid>/status (Linux)";
  }
}

/** Raw spawn and idle-memory baselines. */
export const spawnCases: BenchCase[] = [
  {
    id: "spawn.baseline.worker.ms",
    group: "spawn",
    unit: "ms",
    async run({ quick, signal }) {
      const count = quick ? 3 : 10;
      let sum = 0;
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        const worker = startWorker(REPLY_WORKER);
        try {
          const inbox = workerInbox(worker, signal);
          worker.postMessage("ping");
          await bounded(inbox.next(), "start the worker", 10_000, signal);
          sum += performance.now() - start;
        } finally {
          worker.terminate();
        }
      }
      return sum / count;
    },
  },
  {
    id: "spawn.baseline.process.ms",
    group: "spawn",
    unit: "ms",
    async run({ quick, signal }) {
      const count = quick ? 3 : 10;
      let sum = 0;
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        const ready = await startChild(signal, REPLY_CHILD, PING);
        sum += performance.now() - start;
        await stopChild(ready);
      }
      return sum / count;
    },
  },
  {
    id: "rss.baseline.worker",
    group: "rss",
    unit: "MiB",
    async run({ signal }) {
      const output = await runCommand(Deno.execPath(), [
        "run",
        "--quiet",
        "--no-lock",
        `--allow-read=${fileURLToPath(new URL(".", import.meta.url))}`,
        fileURLToPath(PROBE),
        "4",
        String(SETTLE_MS),
      ], signal);
      return (JSON.parse(output) as { perWorkerMiB: number }).perWorkerMiB;
    },
  },
  {
    id: "rss.baseline.process",
    group: "rss",
    unit: "MiB",
    prepare: hasProc,
    async run({ signal }) {
      const count = 2;
      const children: ReadyChild[] = [];
      try {
        for (let i = 0; i < count; i++) children.push(await startChild(signal));
        await delay(SETTLE_MS);
        let sum = 0;
        for (const { child } of children) sum += await vmRssMiB(child.pid);
        return sum / count;
      } finally {
        for (const ready of children) kill(ready.child);
        await Promise.all(children.map(stopChild));
      }
    },
  },
];
