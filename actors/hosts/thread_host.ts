// Thread actors (`host: "thread"`): a `node:worker_threads` Worker running a
// data: module that statically imports actors/hosts/_thread.ts and the
// transport module and names the actor module. Unlike a Deno Worker, such a
// thread has V8 resource limits: one that reaches its heap limit is ended
// alone (Node's ERR_WORKER_OUT_OF_MEMORY), where a Web Worker's out-of-memory
// takes the whole process down. It reports its exit code too, where a Web
// Worker's exit is silent. It shares this process's permissions.
//
// The channel is opened as for a worker (a thread of this process shares
// ports, streams and memory with it), so every transport that reaches
// workers reaches threads.

import { Worker as NodeWorker } from "node:worker_threads";
import type { TransportFactory } from "../../transports/transport.ts";
import { ActorOutOfMemoryError } from "../../internal/errors.ts";
import { noop, settleWithin } from "../../internal/abort.ts";
import type { Host, HostEvents, Launcher } from "../core/host.ts";
import type { BootMessage } from "../core/protocol.ts";
import { bridgeToWorker, hasConnections } from "./_pipe_ends.ts";
import { entryModule } from "./_entry_module.ts";
import {
  afterThreadEnds,
  newWorkerThread,
  THREAD_END_MS,
  threadIds,
  threadRunning,
} from "./_threads.ts";
import { OutputLines } from "./_console_lines.ts";

const THREAD_BOOTSTRAP = new URL("./_thread.ts", import.meta.url).href;

/** Options of a thread actor, validated by the system. */
export interface ThreadHostOptions {
  /** V8's old space limit, in MiB. */
  maxHeapMiB: number;
  /** V8's young generation limit, in MiB, or `undefined` for V8's own sizing. */
  maxYoungMiB?: number;
  /** A module exporting `connectionFromStreams`: it opens `Pipe()` ends as connections. */
  connectionsModule: string;
  /**
   * Where the thread's console and `Deno.stdout` / `Deno.stderr` lines go,
   * instead of the process's stdout and stderr; a release waits (a little)
   * for those posted before it.
   */
  onLog?: (line: string, stream: "stdout" | "stderr") => void;
}

/** How long a thread's reported death waits for the frames it sent before it. */
const EXIT_GRACE_MS = 50;

/** How long a release waits for the output lines a thread posted before it ends the thread. */
const FLUSH_LOGS_MS = 200;

/** Node's error code for a thread that reached its heap limit. */
const OUT_OF_MEMORY = "ERR_WORKER_OUT_OF_MEMORY";

/**
 * A launcher for thread actors over channels from `factory` (opened as for
 * a worker), with the heap limit and the `onLog` in `options`.
 */
export function threadLauncher(factory: TransportFactory, options: ThreadHostOptions): Launcher {
  return async (boot: BootMessage, events: HostEvents) => {
    const ends = bridgeToWorker(boot.args);
    const link = await factory.open("worker").catch(async (error) => {
      await ends.settle();
      throw error;
    });
    let worker: NodeWorker;
    let thread: string | undefined;
    try {
      const before = threadIds();
      const entry = entryModule({
        bootstrap: THREAD_BOOTSTRAP,
        run: "runThreadActor",
        actorModule: boot.module,
        transportModule: link.remote.module,
        semaphores: Object.keys(boot.semaphores).length > 0,
        forwardConsole: options.onLog !== undefined,
        portEnds: ends.active,
        connectionsModule: hasConnections(ends.args) ? options.connectionsModule : undefined,
        telemetry: boot.telemetry?.module,
      });
      worker = new NodeWorker(new URL(entry), {
        name: boot.actorId,
        // The boot message travels with the thread: nothing can be lost before
        // the thread listens.
        workerData: {
          ...boot,
          args: ends.args,
          transport: { options: link.remote.options },
        },
        transferList: [...link.remote.transfer, ...ends.transfer] as never[],
        // Only the old space: `stackSizeMb` aborts the whole process in Deno
        // 2.9.6 when the stack overflows (see tests/thread_host_test.ts).
        resourceLimits: {
          maxOldGenerationSizeMb: options.maxHeapMiB,
          ...(options.maxYoungMiB === undefined
            ? {}
            : { maxYoungGenerationSizeMb: options.maxYoungMiB }),
        },
      });
      thread = newWorkerThread(before);
    } catch (error) {
      for (const item of link.remote.transfer) if (item instanceof MessagePort) item.close();
      await Promise.all([ends.settle(), link.local.close().catch(noop)]);
      throw error;
    }
    // Set once the parent ends the thread: its exit is then no news.
    let ending = false;
    const exited = new Promise<number>((resolve) => worker.once("exit", resolve));
    const outOfMemory = (cause: Error) => {
      const error = new ActorOutOfMemoryError(boot.actorId, options.maxHeapMiB, { cause });
      events.died("error", error, EXIT_GRACE_MS);
    };
    worker.on("error", (error: Error & { code?: string }) => {
      if (ending) return;
      if (error.code === OUT_OF_MEMORY) outOfMemory(error);
      else events.died("error", error);
    });
    const lines = options.onLog && new OutputLines(options.onLog);
    worker.on("message", (data: { bootError?: string; outOfMemory?: boolean }) => {
      // A line of the thread's output, or its answer to a flush.
      if (lines?.take(data)) return;
      if (data?.bootError) {
        events.died("error", new Error(`Cannot open the actor's channel: ${data.bootError}`));
      } else if (data?.outOfMemory && !ending) {
        // The thread saw its heap limit raised: see _thread.ts.
        outOfMemory(new Error("The thread's heap limit was reached"));
      }
    });
    void exited.then((code) => {
      if (ending) return;
      // What the thread sent before it ended is already on its way here. An
      // out-of-memory death was reported by its error event, which came first.
      const error = new Error(`The actor's thread exited with code ${code}`);
      events.died("exited", error, EXIT_GRACE_MS);
    });
    const end = async (): Promise<void> => {
      ending = true;
      // `terminate()` settles at once even for a thread it cannot stop.
      await settleWithin(worker.terminate().catch(noop), THREAD_END_MS);
      // Once its thread surely ended, a ring transport takes its buffers back.
      await afterThreadEnds(thread, link);
    };
    const host: Host = {
      kind: "thread",
      pid: undefined,
      killGraceMs: 0,
      async kill() {
        ending = true;
        await Promise.all([end(), ends.active ? ends.settle() : undefined]);
      },
      async release() {
        ending = true;
        // Every line the thread posted before the answer has arrived by then.
        if (lines) {
          await lines.flush((message) => worker.postMessage(message), FLUSH_LOGS_MS, exited);
        }
        // Let what the actor wrote to its pipe ends arrive before the thread goes.
        if (ends.active) await ends.settle();
        await end();
      },
      async thread() {
        if (thread === undefined) return undefined;
        const deadline = performance.now() + THREAD_END_MS;
        while (threadRunning(thread) && performance.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        return threadRunning(thread) ? "running" : "ended";
      },
    };
    return { host, transport: link.local };
  };
}
