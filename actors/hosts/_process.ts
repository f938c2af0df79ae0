// The bootstrap of a process actor. The parent starts `deno run` on a small
// data: module that statically imports the actor module, the transport module
// and this file (static imports need no read permission, so the child runs
// with exactly the permissions its spec grants), then calls runProcessActor.
//
// The first frame on stdin is the boot message. The rest of stdin is either
// the channel itself (`pipe`) or nothing, read only to notice the parent's
// death: end of stdin means the parent is gone, whatever killed it.

import { v8Codec } from "../../transports/codec.ts";
import type { ProcessStdio, Transport } from "../../transports/transport.ts";
import type { BootMessage } from "../core/protocol.ts";
import { serve, type ServeControl } from "../core/serve.ts";
import type { ServeHooksModule } from "../core/hooks.ts";
import type { openPipeEnds } from "./_pipe_ends.ts";
import type { OpenConnection, openConnections } from "./_connections.ts";
import { after, every } from "../../internal/ticker.ts";
import { boundWith, noop, settleWithin } from "../../internal/abort.ts";
import { markRuntimeRejection } from "../../internal/runtime_rejection.ts";
import { stdinReadable, stdoutToStderr, stdoutWritable } from "./_stdio.ts";

/** What the parent sends first: the boot message and the transport's options. */
export interface ProcessBoot {
  boot: BootMessage;
  transport: {
    options: unknown;
    usesStdio: boolean;
    /** The transport's `connect` can do without web streams (`TransportLink.minimalStdio`). */
    minimalStdio: boolean;
  };
}

type Connect = (options: unknown, stdio?: ProcessStdio) => Transport | Promise<Transport>;

/**
 * Reads the length-prefixed boot frame from stdin; returns it and the bytes
 * read past it. Reads stdin directly, not through `Deno.stdin.readable`: see
 * `_stdio.ts` for what web streams cost a fresh process.
 */
async function readBoot(): Promise<{ boot: ProcessBoot; leftover: Uint8Array }> {
  const chunk = new Uint8Array(READ_SIZE);
  let buffered = new Uint8Array(0);
  let need = 4;
  let length = -1;
  while (buffered.length < need) {
    const n = await Deno.stdin.read(chunk);
    if (n === null) throw new Error("stdin ended before the boot message");
    const joined = new Uint8Array(buffered.length + n);
    joined.set(buffered);
    joined.set(chunk.subarray(0, n), buffered.length);
    buffered = joined;
    if (length < 0 && buffered.length >= 4) {
      length = new DataView(buffered.buffer).getUint32(0, true);
      need = 4 + length;
    }
  }
  const [boot] = v8Codec.decode(buffered.subarray(4, 4 + length)) as [ProcessBoot];
  return { boot, leftover: buffered.subarray(4 + length) };
}

const READ_SIZE = 64 * 1024;

/**
 * How long a process actor that ends (stopped, crashed, or orphaned) waits for
 * its pipe links to write what is queued on them: within the second its
 * parent gives it to exit after its goodbye.
 */
const LINKS_WRITTEN_MS = 750;

/** Standard input as a real stream, after the bytes already read: for other transports. */
function stdinStream(leftover: Uint8Array): ReadableStream<Uint8Array> {
  let pending: Uint8Array | undefined = leftover;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (pending !== undefined && pending.length > 0) {
        controller.enqueue(pending);
        pending = undefined;
        return;
      }
      const chunk = new Uint8Array(READ_SIZE);
      const n = await Deno.stdin.read(chunk);
      if (n === null) controller.close();
      else controller.enqueue(chunk.subarray(0, n));
    },
    cancel() {
      Deno.stdin.close();
    },
  });
}

/** Resolves when stdin ends (or fails), discarding what it reads. */
async function stdinEnd(): Promise<void> {
  const chunk = new Uint8Array(1024);
  try {
    while (await Deno.stdin.read(chunk) !== null) {
      // Nothing is expected here but the end.
    }
  } catch {
    // A failed stdin ends the same way.
  }
}

const encoder = new TextEncoder();

/** Sends console output to stderr: stdout carries the channel's frames. */
function logsToStderr(): void {
  const write = (...args: unknown[]) => {
    const line = args.map((a) => typeof a === "string" ? a : Deno.inspect(a)).join(" ");
    Deno.stderr.writeSync(encoder.encode(line + "\n"));
  };
  for (const method of ["log", "info", "debug", "trace", "dir", "table"] as const) {
    (console as unknown as Record<string, unknown>)[method] = write;
  }
}

/**
 * Runs the actor whose module namespace is `actorModule`, over the transport
 * module `transportModule`, until its stop sentinel or the parent's death.
 * `telemetry`, there when tracing is on, makes the hooks around handlers.
 */
export async function runProcessActor(
  actorModule: Record<string, unknown>,
  transportModule: { connect: Connect },
  pipeEnds?: {
    connect: Connect;
    open: typeof openPipeEnds;
    connections: typeof openConnections;
    connection: OpenConnection;
  },
  telemetry?: ServeHooksModule,
): Promise<void> {
  // The bounded waits on the way out (the transport's last frames) need no
  // Node timers: they would cost this process about 5 ms to load as it exits.
  boundWith(after);
  const live: { control?: ServeControl } = {};
  const exit = Deno.exit;
  let exiting = false;
  // The links of the pipe ends in the args. `Deno.exit()` ends the process at
  // once: what their writers queued goes out first (a socket write issued now
  // is written before the exit), so values sent before the end are not lost.
  const links: Transport[] = [];
  // Issues every link's queued writes now (each `flush` runs before the first
  // await); resolves once all of them are written, and never rejects: a link
  // that failed has nothing left to write.
  const flushLinks = () =>
    Promise.all(links.map(async (link) => await link.flush?.())).then(noop, noop);
  const leave = (code: number): never => {
    exiting = true;
    void flushLinks();
    return exit(code);
  };
  // Every other end (a stop, a crash, the parent gone) waits, within a bound,
  // until the links have written everything queued on them, writes in
  // progress and those waiting behind them, then exits.
  let departing = false;
  const depart = (code: number): void => {
    if (departing || exiting) return;
    departing = true;
    void settleWithin(flushLinks(), LINKS_WRITTEN_MS).then(() => leave(code));
  };
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    if (live.control) live.control.crash(event.error ?? event.message);
    else depart(70);
  });
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    if (live.control) live.control.crash(markRuntimeRejection(event.reason));
    else depart(70);
  });
  Deno.exit = ((code?: number) => {
    if (!exiting) live.control?.exit(code ?? 0);
    return leave(code ?? 0);
  }) as typeof Deno.exit;

  const { boot, leftover } = await readBoot();
  let transport: Transport;
  if (boot.transport.usesStdio) {
    logsToStderr();
    // A transport that uses only part of the streams API (the built-in pipe)
    // gets stdin and stdout without web streams. Other transports get real ones.
    const stdio = boot.transport.minimalStdio
      ? { readable: stdinReadable(leftover), writable: stdoutWritable() }
      : { readable: stdinStream(leftover), writable: Deno.stdout.writable };
    transport = await transportModule.connect(boot.transport.options, stdio);
    stdoutToStderr();
  } else {
    transport = await transportModule.connect(boot.transport.options);
    // Nothing else comes on stdin: its end means the parent died.
    void stdinEnd().then(() => depart(0));
  }
  // A fallback for a parent that dies while something else holds our stdin open.
  const parent = Deno.ppid;
  every(500, () => {
    if (Deno.ppid !== parent) depart(0);
  });

  // Pipe ends in the args arrive as links of the bridge transport: open them.
  const args = pipeEnds
    ? pipeEnds.connections(
      await pipeEnds.open(boot.boot.args, pipeEnds.connect, links),
      pipeEnds.connection,
    )
    : boot.boot.args;
  // The actor module was loaded statically by the data: entry.
  live.control = serve(
    { ...boot.boot, args },
    transport,
    () => depart(0),
    actorModule,
    undefined,
    telemetry,
  );
}
