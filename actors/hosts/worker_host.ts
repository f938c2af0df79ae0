// Worker actors: a Deno Worker running a data: module that statically imports
// actors/_worker.ts and the transport module and names the actor module.

import type { TransportFactory } from "../../transports/transport.ts";
import type { Host, HostEvents, Launcher } from "../core/host.ts";
import type { BootMessage } from "../core/protocol.ts";
import { bridgeToWorker, hasConnections } from "./_pipe_ends.ts";
import { BUNDLES, entryModule } from "./_entry_module.ts";
import {
  afterThreadEnds,
  newWorkerThread,
  THREAD_END_MS,
  threadCpuTicks,
  threadIds,
  threadRunning,
} from "./_threads.ts";
import { noop } from "../../internal/abort.ts";
import { OutputLines } from "./_console_lines.ts";
export { workerOptionsEnabled } from "./_resolution.ts";

const WORKER_BOOTSTRAP = new URL("./_worker.ts", import.meta.url).href;

/** How long a worker's reported exit waits for the frames it sent before it. */
const EXIT_GRACE_MS = 50;

/** How long a release waits for the output lines a worker posted before it ends the worker. */
const FLUSH_LOGS_MS = 200;

/**
 * Whether this process can see its worker threads (Linux, with read access
 * to `/proc/self/task`): then a worker reported leaked surely still runs.
 */
export function workerThreadsVisible(): boolean {
  return threadIds() !== undefined;
}

/**
 * A launcher for worker actors over channels from `factory`;
 * `connectionsModule` exports `connectionFromStreams`, which opens the
 * `Pipe()` ends in an actor's args as connections. With `onLog`, the
 * worker's console and `Deno.stdout` / `Deno.stderr` lines go to it
 * instead of the process's stdout and stderr, and a release waits (a
 * little) for those posted before it. `bundled` names the built-in
 * transports the worker bundle carries, by module URL (see `BUNDLES`).
 */
export function workerLauncher(
  factory: TransportFactory,
  permissions: Record<string, boolean | string[] | "inherit"> | undefined,
  connectionsModule: string,
  onLog?: (line: string, stream: "stdout" | "stderr") => void,
  bundled?: Readonly<Record<string, string>>,
): Launcher {
  return async (boot: BootMessage, events: HostEvents) => {
    const ends = bridgeToWorker(boot.args);
    const link = await factory.open("worker").catch(async (error) => {
      await ends.settle();
      throw error;
    });
    const options: WorkerOptions & { deno?: unknown } = { type: "module", name: boot.actorId };
    if (permissions) options.deno = { permissions };
    let worker: Worker;
    let thread: string | undefined;
    try {
      const semaphores = Object.keys(boot.semaphores).length > 0;
      const before = threadIds();
      const inBundle = bundled?.[link.remote.module];
      const entry = entryModule({
        bootstrap: inBundle === undefined ? WORKER_BOOTSTRAP : BUNDLES.worker,
        run: "runWorkerActor",
        actorModule: boot.module,
        transportModule: inBundle === undefined ? link.remote.module : BUNDLES.worker,
        transportExport: inBundle,
        semaphores,
        restricted: !!permissions,
        forwardConsole: onLog !== undefined,
        portEnds: ends.active,
        connectionsModule: hasConnections(ends.args) ? connectionsModule : undefined,
        telemetry: boot.telemetry?.module,
      });
      worker = new Worker(entry, options);
      thread = newWorkerThread(before);
    } catch (error) {
      // No worker (a grant beyond the parent's, say): nothing will ever use
      // the channel, and its open ports would keep the program alive.
      for (const item of link.remote.transfer) if (item instanceof MessagePort) item.close();
      await Promise.all([ends.settle(), link.local.close().catch(() => {})]);
      throw error;
    }
    worker.onerror = (event) => {
      event.preventDefault();
      events.died("error", new Error(event.message || "Uncaught error in worker"));
    };
    const lines = onLog && new OutputLines(onLog);
    worker.onmessage = (event) => {
      // A line of the worker's output, or its answer to a flush.
      if (lines?.take(event.data)) return;
      const data = event.data as { bootError?: string; exited?: number };
      if (data?.bootError) {
        events.died("error", new Error(`Cannot open the actor's channel: ${data.bootError}`));
      } else if (typeof data?.exited === "number") {
        // What the thread sent before it ended is already on its way here.
        const error = new Error(`The actor's code exited with code ${data.exited}`);
        events.died("exited", error, EXIT_GRACE_MS);
      }
    };
    worker.postMessage(
      {
        ...boot,
        args: ends.args,
        transport: { options: link.remote.options },
      },
      [...link.remote.transfer, ...ends.transfer],
    );
    const host: Host = {
      kind: "worker",
      pid: undefined,
      killGraceMs: 0,
      kill() {
        worker.terminate();
        const ended = afterThreadEnds(thread, link);
        return ends.active ? Promise.all([ends.settle(), ended]).then(noop) : ended;
      },
      async release() {
        // Every line the worker posted before the answer has arrived by then.
        if (lines) await lines.flush((message) => worker.postMessage(message), FLUSH_LOGS_MS);
        if (!ends.active) {
          worker.terminate();
          return afterThreadEnds(thread, link);
        }
        // Let what the actor wrote to its pipe ends arrive before the worker goes.
        return ends.settle().then(() => {
          worker.terminate();
          return afterThreadEnds(thread, link);
        });
      },
      async thread() {
        if (thread === undefined) return undefined;
        const deadline = performance.now() + THREAD_END_MS;
        while (threadRunning(thread) && performance.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        return threadRunning(thread) ? "running" : "ended";
      },
      cpu: () => thread === undefined ? undefined : threadCpuTicks(thread),
    };
    return { host, transport: link.local };
  };
}
