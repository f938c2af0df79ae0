// The bootstrap of a process actor. The parent starts `deno run` on a small
// data: module that statically imports the actor module, the transport module
// and this file (static imports need no read permission, so the child runs
// with exactly the permissions its spec grants), then calls runProcessActor.
//
// The first frame on stdin is the boot message. The rest of stdin is either
// the channel itself (`pipe`) or nothing, read only to notice the parent's
// death: end of stdin means the parent is gone, whatever killed it.

import { v8Codec } from "../transports/codec.ts";
import type { ProcessStdio, Transport } from "../transports/transport.ts";
import type { BootMessage } from "./_protocol.ts";
import { serve, type ServeControl } from "./_serve.ts";
import type { openPipeEnds } from "./_pipe_ends.ts";
import { every } from "./_ticker.ts";

/** What the parent sends first: the boot message and the transport's options. */
export interface ProcessBoot {
  boot: BootMessage;
  transport: { options: unknown; usesStdio: boolean };
}

type Connect = (options: unknown, stdio?: ProcessStdio) => Transport | Promise<Transport>;

/** Reads the length-prefixed boot frame, then hands back the rest of stdin as a stream. */
async function readBoot(
  stdin: ReadableStream<Uint8Array>,
): Promise<{ boot: ProcessBoot; rest: ReadableStream<Uint8Array> }> {
  const reader = stdin.getReader();
  let buffered = new Uint8Array(0);
  let need = 4;
  let length = -1;
  while (buffered.length < need) {
    const { value, done } = await reader.read();
    if (done) throw new Error("stdin ended before the boot message");
    const joined = new Uint8Array(buffered.length + value.length);
    joined.set(buffered);
    joined.set(value, buffered.length);
    buffered = joined;
    if (length < 0 && buffered.length >= 4) {
      length = new DataView(buffered.buffer).getUint32(0, true);
      need = 4 + length;
    }
  }
  const [boot] = v8Codec.decode(buffered.subarray(4, 4 + length)) as [ProcessBoot];
  let leftover: Uint8Array | undefined = buffered.subarray(4 + length);
  const rest = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (leftover && leftover.length > 0) {
        controller.enqueue(leftover);
        leftover = undefined;
        return;
      }
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { boot, rest };
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
 */
export async function runProcessActor(
  actorModule: Record<string, unknown>,
  transportModule: { connect: Connect },
  pipeEnds?: { connect: Connect; open: typeof openPipeEnds },
): Promise<void> {
  const live: { control?: ServeControl } = {};
  const exit = Deno.exit;
  let exiting = false;
  const leave = (code: number): never => {
    exiting = true;
    return exit(code);
  };
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    if (live.control) live.control.crash(event.error ?? event.message);
    else leave(70);
  });
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    if (live.control) live.control.crash(event.reason);
    else leave(70);
  });
  Deno.exit = ((code?: number) => {
    if (!exiting) live.control?.exit(code ?? 0);
    return leave(code ?? 0);
  }) as typeof Deno.exit;

  const { boot, rest } = await readBoot(Deno.stdin.readable);
  let transport: Transport;
  if (boot.transport.usesStdio) {
    logsToStderr();
    transport = await transportModule.connect(boot.transport.options, {
      readable: rest,
      writable: Deno.stdout.writable,
    });
  } else {
    transport = await transportModule.connect(boot.transport.options);
    // Nothing else comes on stdin: its end means the parent died.
    void rest.pipeTo(new WritableStream()).finally(() => leave(0));
  }
  // A fallback for a parent that dies while something else holds our stdin open.
  const parent = Deno.ppid;
  every(500, () => {
    if (Deno.ppid !== parent) leave(0);
  });

  // Pipe ends in the args arrive as links of the bridge transport: open them.
  const args = pipeEnds ? await pipeEnds.open(boot.boot.args, pipeEnds.connect) : boot.boot.args;
  // The actor module was loaded statically by the data: entry.
  live.control = serve({ ...boot.boot, args }, transport, () => leave(0), actorModule);
}
