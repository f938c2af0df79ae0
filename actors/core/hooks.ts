// The hooks the core offers a layer above it (telemetry) around the two ends
// of a mailbox. The core never imports who implements them: the system hands
// a cell its `CellHooks`, and the host hands the serve loop its `ServeHooks`
// (loaded from the module the boot message names). Without hooks the core
// pays one `if` per message.

import type { BootMessage } from "./protocol.ts";

/**
 * The parent's side of one actor: called as an ask or a tell is sent. A
 * returned `traceparent` (W3C trace context) travels inside the message's
 * envelope (`[TRACED, traceparent, message]`, see `protocol.ts`).
 */
export interface CellHooks {
  /** An ask is sent; `end` runs once when it settles (with the error when it failed). */
  ask(name: string): AskHook;
  /** A tell is sent; returns the trace context to carry, if any (none: the tell is not traced). */
  tell(name: string): string | undefined;
}

/** One ask in flight, as the hooks see it. */
export interface AskHook {
  /** The trace context to carry in the envelope, if any. */
  traceparent: string | undefined;
  /** The ask settled: `error` is there when it failed. */
  end(error?: unknown): void;
}

/** The actor's side: called around each handler. */
export interface ServeHooks {
  /**
   * A handler starts for `name` (an ask when `ask`), sent with `traceparent`
   * when the sender traced it; `undefined` when the hooks do not watch this one.
   */
  handle(name: string, ask: boolean, traceparent: string | undefined): HandleHook | undefined;
}

/** One handler running, as the hooks see it. */
export interface HandleHook {
  /** Runs the handler itself (in the hook's context: what it starts nests under it). */
  run<T>(fn: () => T): T;
  /** The handler settled: `ok` whether it returned, `value` its error when not. */
  end(ok: boolean, value: unknown): void;
}

/** What a module named in `BootMessage.telemetry` exports for the actor's side. */
export interface ServeHooksModule {
  /** Makes the hooks of the actor `boot` starts. */
  serveHooks(boot: BootMessage): ServeHooks;
}
