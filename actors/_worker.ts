// The bootstrap module every worker actor starts from. It registers its
// message handler synchronously (so the boot message cannot be lost), traps
// every uncaught error inside the worker (an untrapped one would kill the
// parent process), and reports exits the platform would keep silent.

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import type { Transport } from "../transports/transport.ts";
import type { BootMessage } from "./_protocol.ts";
import { serve, type ServeControl } from "./_serve.ts";

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
// parent's side: announce the exit first.
const close = self.close.bind(self);
const exit = Deno.exit;
self.close = () => {
  control?.exit(0);
  close();
};
Deno.exit = ((code?: number) => {
  control?.exit(code ?? 0);
  exit(code);
}) as typeof Deno.exit;

self.onmessage = (event: MessageEvent<BootMessage>) => {
  self.onmessage = null;
  void boot(event.data);
};

async function boot(message: BootMessage): Promise<void> {
  let transport: Transport;
  try {
    const mod = await import(message.transport!.module);
    transport = await mod.connect(message.transport!.options);
  } catch (error) {
    // Without a channel the only way to report is the worker's own port.
    self.postMessage({ bootError: String(error instanceof Error ? error.stack : error) });
    return;
  }
  // When the actor is done the worker stays up: the parent terminates it once
  // the goodbye has arrived. Closing here could drop the last frames still on
  // their way through a transferred stream.
  control = serve(message, transport, () => {});
  for (const error of early.splice(0)) control.crash(error);
}
