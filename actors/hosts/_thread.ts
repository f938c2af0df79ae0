// The bootstrap of a thread actor (`host: "thread"`): the parent starts a
// `node:worker_threads` Worker on a small data: module that statically
// imports this file and the transport module, then calls runThreadActor with
// the actor module's URL.
//
// A thread is a Deno worker underneath, with Node's API on top: no `self`,
// the boot message comes as `workerData` (with the channel's ports, streams
// and shared memory transferred along), and the parent's `Worker` object
// reports the thread's exit code and an out-of-memory death. This module
// traps every uncaught error (else the thread dies with a bare message) and
// announces exits on the channel so the actor's last credits and the names
// of the messages it was handling reach the parent.

import { parentPort, workerData } from "node:worker_threads";
import process from "node:process";
import { getHeapStatistics } from "node:v8";
import type { Transport } from "../../transports/transport.ts";
import type { BootMessage } from "../core/protocol.ts";
import { type SemaphoreModule, serve, type ServeControl } from "../core/serve.ts";
import type { ServeHooksModule } from "../core/hooks.ts";
import type { OpenConnection, openPortEnds } from "./_connections.ts";
import type { forwardOutput } from "./_console_lines.ts";
import { markRuntimeRejection } from "../../internal/runtime_rejection.ts";

let control: ServeControl | undefined;

const early: unknown[] = [];

function onUncaught(event: Event, error: unknown): void {
  event.preventDefault();
  if (control) control.crash(error);
  else early.push(error);
}

globalThis.addEventListener("error", (event) => onUncaught(event, event.error ?? event.message));
globalThis.addEventListener(
  "unhandledrejection",
  (event) => onUncaught(event, markRuntimeRejection(event.reason)),
);

// `Deno.exit()`, `process.exit()` and `close()` end only this thread; the
// parent learns the code from the thread's exit event. Announce it on the
// channel first, with the final credit and what was being handled.
const exit = Deno.exit;
Deno.exit = ((code?: number) => {
  control?.exit(code ?? 0);
  exit(code);
}) as typeof Deno.exit;
const processExit = process.exit.bind(process);
process.exit = ((code?: number) => {
  control?.exit(code ?? 0);
  processExit(code);
}) as typeof process.exit;
const close = (globalThis as { close?: () => void }).close;
if (typeof close === "function") {
  (globalThis as { close?: () => void }).close = () => {
    control?.exit(0);
    close();
  };
}

// When the actor is done the thread stays up, as a worker does: the parent
// ends it once the goodbye has arrived (a thread ending by itself first
// would look like a crash). A listener on the parent's port keeps it alive.
parentPort?.on("message", () => {});

// Reaching the heap limit makes V8 stop the running code and raise the limit
// a little so the thread can end. Deno 2.9.6 ends the thread with
// ERR_WORKER_OUT_OF_MEMORY only when that code ran from a timer: inside a
// promise job or a port's message (where every handler runs) the stop is
// swallowed, the thread lives on with a full heap and a dead channel, and
// only its raised limit tells. Watch for that and end the thread, saying why.
// One check costs about 3 us.
const HEAP_CHECK_MS = 50;
const heapLimit = getHeapStatistics().heap_size_limit;
const heapWatch = setInterval(() => {
  if (getHeapStatistics().heap_size_limit <= heapLimit) return;
  clearInterval(heapWatch);
  parentPort?.postMessage({ outOfMemory: true });
  exit(1);
}, HEAP_CHECK_MS);

type Connect = (options: unknown) => Transport | Promise<Transport>;

/** What the thread's entry gives the bootstrap besides the transport, when the actor needs it. */
export interface ThreadExtras {
  /** The shared-memory semaphore module, for an actor given semaphores. */
  semaphores?: SemaphoreModule;
  /** Forwards the console's and stdout's lines to the parent: the spawn has `onLog`. */
  forwardOutput?: typeof forwardOutput;
  /** Turns the pipe ends in the args (ports) into streams and connections: the args hold some. */
  openPortEnds?: typeof openPortEnds;
  /** Opens the `Pipe()` ends in the args as connections. */
  openConnection?: OpenConnection;
  /** The module of the hooks around handlers, when tracing is on. */
  telemetry?: ServeHooksModule;
}

/**
 * Runs the actor of the module `load` imports over the transport module
 * `transportModule`, booted by the message in `workerData`, with the
 * `extras` its entry imported for it.
 */
export function runThreadActor(
  transportModule: { connect: Connect },
  load: () => Promise<Record<string, unknown>>,
  extras: ThreadExtras = {},
): void {
  const message = workerData as BootMessage;
  // The spawn has `onLog`: the console's and Deno.stdout's lines go to the
  // parent, not to stdout and stderr.
  if (extras.forwardOutput && parentPort) {
    const port = parentPort;
    extras.forwardOutput(
      (line) => port.postMessage(line),
      (listener) => port.on("message", listener),
    );
  }
  // The ends in the args are ports, as a worker's are (bridged by thread_host.ts).
  if (extras.openPortEnds) message.args = extras.openPortEnds(message.args, extras.openConnection);
  void boot(message, transportModule.connect, load, extras);
}

async function boot(
  message: BootMessage,
  connect: Connect,
  load: () => Promise<Record<string, unknown>>,
  extras: ThreadExtras,
): Promise<void> {
  let transport: Transport;
  try {
    transport = await connect(message.transport!.options);
  } catch (error) {
    // Without a channel the only way to report is the thread's own port.
    parentPort?.postMessage({ bootError: String(error instanceof Error ? error.stack : error) });
    return;
  }
  // As in a worker: the module loads once the channel is open (a socket's
  // handshake has a deadline), and a failed load is the actor's init failure.
  control = serve(
    message,
    transport,
    () => {},
    load(),
    extras.semaphores,
    extras.telemetry,
  );
  for (const error of early.splice(0)) control.crash(error);
}
