// The bootstrap of a worker actor. The parent starts the worker on a small
// data: module that statically imports this file and the transport module,
// then calls runWorkerActor with the actor module's URL, which it imports
// once the boot message (the args and the channel) has arrived.
//
// This module registers the message handler synchronously (so the boot
// message cannot be lost), traps every uncaught error inside the worker (an
// untrapped one would kill the parent process), and reports exits the
// platform would keep silent.

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import type { Transport } from "../../transports/transport.ts";
import { type BootMessage, LIVENESS_TAKEN } from "../core/protocol.ts";
import { reportHeap } from "./_heap_report.ts";
import { type SemaphoreModule, serve, type ServeControl } from "../core/serve.ts";
import type { OpenConnection, openPortEnds } from "./_connections.ts";
import type { ServeHooksModule } from "../core/hooks.ts";
import type { forwardOutput } from "./_console_lines.ts";
import { markRuntimeRejection } from "../../internal/runtime_rejection.ts";

let control: ServeControl | undefined;

const early: unknown[] = [];

function onUncaught(event: Event, error: unknown): void {
  event.preventDefault();
  if (control) control.crash(error);
  else early.push(error);
}

self.addEventListener("error", (event) => onUncaught(event, event.error ?? event.message));
self.addEventListener(
  "unhandledrejection",
  (event) => onUncaught(event, markRuntimeRejection(event.reason)),
);

// `self.close()` and `Deno.exit()` end a worker without any event on the
// parent's side: announce the exit first, on the channel and on the worker's
// own port. A channel whose frames leave asynchronously (the pipe's port
// stream) may not get its last frame out before the thread is gone; the
// port message is posted at once, and the host reports it.
const close = self.close.bind(self);
const exit = Deno.exit;
function announceExit(code: number): void {
  control?.exit(code);
  self.postMessage({ exited: code });
}
self.close = () => {
  announceExit(0);
  close();
};
Deno.exit = ((code?: number) => {
  announceExit(code ?? 0);
  exit(code);
}) as typeof Deno.exit;

type Connect = (options: unknown) => Transport | Promise<Transport>;

/** Imports the actor module (see `_entry_module.ts`). */
type LoadActor = () => Promise<Record<string, unknown>>;

/**
 * Runs the actor of the module `load` imports over the transport module
 * `transportModule`, once the boot message arrives, with the `extras` its
 * entry imported for it.
 */
export function runWorkerActor(
  transportModule: { connect: Connect },
  load: LoadActor,
  extras: WorkerExtras = {},
): void {
  self.onmessage = (event: MessageEvent<BootMessage>) => {
    self.onmessage = null;
    const message = event.data;
    // The spawn has `onLog`: the console's and Deno.stdout's lines go to the
    // parent, not to stdout and stderr.
    extras.forwardOutput?.(
      (line) => self.postMessage(line),
      (listener) =>
        self.addEventListener("message", (event) => listener((event as MessageEvent).data)),
    );
    if (extras.openPortEnds) {
      message.args = extras.openPortEnds(message.args, extras.openConnection);
    }
    const actor = extras.loaded ? Promise.resolve(extras.loaded) : load;
    void boot(message, transportModule.connect, actor, extras.semaphores, extras.telemetry);
  };
}

/** What the worker's entry gives the bootstrap besides the transport, when the actor needs it. */
export interface WorkerExtras {
  /** The shared-memory semaphore module, for an actor given semaphores. */
  semaphores?: SemaphoreModule;
  /** The actor module, imported by the entry (a worker with restricted permissions). */
  loaded?: Record<string, unknown>;
  /** Forwards the console's and stdout's lines to the parent: the spawn has `onLog`. */
  forwardOutput?: typeof forwardOutput;
  /** Turns the pipe ends in the args (ports) into streams and connections: the args hold some. */
  openPortEnds?: typeof openPortEnds;
  /** Opens the `Pipe()` ends in the args as connections. */
  openConnection?: OpenConnection;
  /** The module of the hooks around handlers, when tracing is on. */
  telemetry?: ServeHooksModule;
}

async function boot(
  message: BootMessage,
  connect: Connect,
  actorModule: LoadActor | Promise<Record<string, unknown>>,
  semaphoreModule: SemaphoreModule | undefined,
  telemetry: ServeHooksModule | undefined,
): Promise<void> {
  let transport: Transport;
  try {
    transport = await connect(message.transport!.options);
  } catch (error) {
    // Without a channel the only way to report is the worker's own port.
    self.postMessage({ bootError: String(error instanceof Error ? error.stack : error) });
    return;
  }
  // When the actor is done the worker stays up: the parent terminates it once
  // the goodbye has arrived. Closing here could drop the last frames still on
  // their way through the channel.
  // The actor module loads once the channel is open: loading it meanwhile
  // would slow a handshake that has a deadline (socket) on this busy thread.
  // A failed load is the actor's init failure, reported over the channel.
  const actor = typeof actorModule === "function" ? actorModule() : actorModule;
  if (message.liveness) {
    countTaken(transport, new Int32Array(message.liveness));
    reportHeap(new Int32Array(message.liveness));
  }
  control = serve(message, transport, () => {}, actor, semaphoreModule, telemetry);
  for (const error of early.splice(0)) control.crash(error);
}

/**
 * Counts the messages this thread takes from its channel in the liveness
 * memory (see `LIVENESS_TAKEN`): until a message sent is taken, the parent's
 * watchdog knows the thread may be decoding it (a large message holds the
 * thread for seconds, and no heartbeat leaves meanwhile).
 */
function countTaken(transport: Transport, liveness: Int32Array): void {
  if (liveness.length <= LIVENESS_TAKEN) return;
  const receive = transport.receive.bind(transport);
  transport.receive = () => {
    const batches = receive();
    return {
      [Symbol.asyncIterator](): AsyncIterator<unknown[]> {
        const inner = batches[Symbol.asyncIterator]();
        return {
          next: () =>
            inner.next().then((result) => {
              if (!result.done) Atomics.add(liveness, LIVENESS_TAKEN, result.value.length);
              return result;
            }),
          return: (value?: unknown) =>
            inner.return?.(value) ?? Promise.resolve({ done: true as const, value }),
        };
      },
    };
  };
}
