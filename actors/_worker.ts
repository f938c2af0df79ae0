// The bootstrap of a worker actor. The parent starts the worker on a small
// data: module that statically imports this file and the transport module,
// then calls runWorkerActor with the actor module's URL: the actor module
// starts loading at once, while the boot message (the args and the channel)
// is still on its way.
//
// This module registers the message handler synchronously (so the boot
// message cannot be lost), traps every uncaught error inside the worker (an
// untrapped one would kill the parent process), and reports exits the
// platform would keep silent.

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import type { Transport } from "../transports/transport.ts";
import type { BootMessage } from "./_protocol.ts";
import { type SemaphoreModule, serve, type ServeControl } from "./_serve.ts";

let control: ServeControl | undefined;

const early: unknown[] = [];

function onUncaught(event: Event, error: unknown): void {
  event.preventDefault();
  if (control) control.crash(error);
  else early.push(error);
}

self.addEventListener("error", (event) => onUncaught(event, event.error ?? event.message));
self.addEventListener("unhandledrejection", (event) => onUncaught(event, event.reason));

// `self.close()` and `Deno.exit()` end a worker without any event on the
// parent's side: announce the exit first. An actor module that exits as it
// loads has no channel yet, and says so on the worker's own port.
const close = self.close.bind(self);
const exit = Deno.exit;
function exiting(code: number): void {
  if (control) control.exit(code);
  else self.postMessage({ bootError: `the actor exited with code ${code} as it loaded` });
}
self.close = () => {
  exiting(0);
  close();
};
Deno.exit = ((code?: number) => {
  exiting(code ?? 0);
  exit(code);
}) as typeof Deno.exit;

type Connect = (options: unknown) => Transport | Promise<Transport>;

/**
 * Runs the actor of the module at `actorModule` over the transport module
 * `transportModule`, once the boot message arrives. `semaphoreModule` is
 * there when the actor is given shared semaphores.
 */
export function runWorkerActor(
  transportModule: { connect: Connect },
  actorModule: string,
  semaphoreModule?: SemaphoreModule,
): void {
  // A failed load is the actor's init failure, reported by serve() over the channel.
  const loading: Promise<Record<string, unknown>> = import(actorModule);
  loading.catch(() => {});
  self.onmessage = (event: MessageEvent<BootMessage>) => {
    self.onmessage = null;
    void boot(event.data, transportModule.connect, loading, semaphoreModule);
  };
}

async function boot(
  message: BootMessage,
  connect: Connect,
  loading: Promise<Record<string, unknown>>,
  semaphoreModule: SemaphoreModule | undefined,
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
  // their way through a transferred stream.
  control = serve(message, transport, () => {}, loading, semaphoreModule);
  for (const error of early.splice(0)) control.crash(error);
}
