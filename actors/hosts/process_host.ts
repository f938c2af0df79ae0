// Process actors: a `deno run` child of the same Deno binary, with its own
// permissions, environment and heap limit. The child runs a data: module that
// statically imports the actor, the transport and actors/_process.ts.

import { v8Codec } from "../../transports/codec.ts";
import type { TransportFactory } from "../../transports/transport.ts";
import { ActorExitedError, type ProcessExitInfo } from "../../internal/errors.ts";
import type { Host, HostEvents, Launcher } from "../core/host.ts";
import type { ProcessBoot } from "./_process.ts";
import type { BootMessage } from "../core/protocol.ts";
import { type ActorPermissions, permissionFlags, withTransportNeeds } from "./permissions.ts";
import { bridgeToProcess } from "./_pipe_ends.ts";
import { parentResolution, parentV8Flags } from "./_resolution.ts";
import { BUNDLES, transportImport } from "./_entry_module.ts";
import { settleWithin } from "../../internal/abort.ts";

const PROCESS_BOOTSTRAP = new URL("./_process.ts", import.meta.url).href;
const PIPE_ENDS = new URL("./_pipe_ends.ts", import.meta.url).href;
const CONNECTIONS = new URL("./_connections.ts", import.meta.url).href;

/**
 * How long a process actor that has stopped (its goodbye received) gets to
 * exit before it is killed: its exit normally follows within milliseconds.
 */
const EXIT_AFTER_GOODBYE_MS = 1000;

/** Options of a process actor, validated by the system. */
export interface ProcessHostOptions {
  /** What the actor's spec grants (validated already). */
  permissions: ActorPermissions | undefined;
  env: Record<string, string>;
  cwd: string | undefined;
  maxHeapMiB: number;
  /** V8's young generation limit, in MiB, or `undefined` for V8's own sizing (or the parent's). */
  maxYoungMiB?: number;
  /** Where the child's log lines go. */
  onLog: (line: string, stream: "stdout" | "stderr") => void;
  /** Milliseconds between SIGTERM and SIGKILL when the actor is killed. */
  killGraceMs: number;
  /** Carries pipe ends in the args to the child: a transport that needs no stdio. */
  pipeBridge: TransportFactory;
  /** A module exporting `connectionFromStreams`: it opens `Pipe()` ends as connections. */
  connectionsModule: string;
  /** The built-in transports the process bundle carries, by module URL (see `BUNDLES`). */
  bundled?: Readonly<Record<string, string>>;
}

/**
 * Environment variables a child gets even with a cleared environment: where
 * Deno keeps its cache (and every `OTEL_*` variable, see `inheritedEnv`).
 */
const PASSED_ENV = ["DENO_DIR", "HOME", "XDG_CACHE_HOME", "TMPDIR", "NO_COLOR"];

const TAIL_LINES = 20;

function entryModule(
  actorModule: string,
  transportModule: string,
  bridgeModule: string | undefined,
  connectionsModule: string,
  telemetry: string | undefined,
  inBundles: Readonly<Record<string, string>> | undefined,
): string {
  // A built-in transport comes with the bootstrap, in one bundle (see BUNDLES).
  const bundled = inBundles?.[transportModule];
  const bootstrap = bundled === undefined ? PROCESS_BOOTSTRAP : BUNDLES.process;
  const lines = [
    `import * as actor from ${JSON.stringify(actorModule)};`,
    transportImport(bundled === undefined ? transportModule : bootstrap, bundled),
  ];
  let ends = "";
  if (bridgeModule !== undefined) {
    // Pipe ends are rare: only an actor given some loads what opens them.
    lines.push(
      `import * as bridge from ${JSON.stringify(bridgeModule)};`,
      `import { openPipeEnds } from ${JSON.stringify(PIPE_ENDS)};`,
    );
    lines.push(`import { openConnections } from ${JSON.stringify(CONNECTIONS)};`);
    lines.push(`import { connectionFromStreams } from ${JSON.stringify(connectionsModule)};`);
    ends = ", { connect: bridge.connect, open: openPipeEnds, connections: openConnections, " +
      "connection: connectionFromStreams }";
  }
  // Tracing is on: the hooks around each handler (see actors/core/hooks.ts).
  if (telemetry !== undefined) {
    lines.push(`import * as telemetry from ${JSON.stringify(telemetry)};`);
  }
  lines.push(
    `import { runProcessActor } from ${JSON.stringify(bootstrap)};`,
    `await runProcessActor(actor, transport${ends || ", undefined"}${
      telemetry !== undefined ? ", telemetry" : ""
    });`,
  );
  const source = lines.join("\n");
  // Plain JavaScript: nothing to transpile.
  return `data:text/javascript;base64,${btoa(source)}`;
}

function bootFrame(boot: ProcessBoot): Uint8Array {
  const body = v8Codec.encode([boot]);
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length, true);
  frame.set(body, 4);
  return frame;
}

/** Forwards a stream's lines to `onLine`, keeping the last few. */
async function forwardLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
  tail: string[],
): Promise<void> {
  let partial = "";
  const emit = (line: string) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    onLine(line);
  };
  try {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!;
      for (const line of lines) emit(line);
    }
  } catch {
    // The child is gone; what was read is kept.
  }
  if (partial) emit(partial);
}

function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PASSED_ENV) {
    try {
      const value = Deno.env.get(name);
      if (value !== undefined) env[name] = value;
    } catch {
      // No env permission in the parent: the child starts with what it is given.
    }
  }
  // The OpenTelemetry configuration (`OTEL_DENO`, the exporter's endpoint,
  // protocol, headers, service name...): a process actor's spans and metrics
  // join its parent's traces and go to the same collector.
  try {
    for (const [name, value] of Object.entries(Deno.env.toObject())) {
      if (name.startsWith("OTEL_")) env[name] = value;
    }
  } catch {
    // No env permission for the whole environment: no OpenTelemetry settings to pass.
  }
  return env;
}

/**
 * The child's V8 flags: its heap limit, and its young generation's bound,
 * given or (so a service run with one is bounded throughout) its parent's.
 */
function v8Flags(options: ProcessHostOptions): string[] {
  const flags = [`--max-old-space-size=${options.maxHeapMiB}`];
  if (options.maxYoungMiB === undefined) return [...flags, ...parentV8Flags()];
  // V8's young generation is three semi-spaces: two for the scavenger, one for large objects.
  const semiSpace = Math.max(1, Math.floor(options.maxYoungMiB / 3));
  return [...flags, `--max-semi-space-size=${semiSpace}`];
}

/** The first read's buffer from a child's stdout; each read that fills its buffer doubles the next. */
const FIRST_READ_BYTES = 4096;
/** The largest read buffer, the size the child's stdout allocates for each read by itself. */
const LAST_READ_BYTES = 64 * 1024;

/**
 * The child's stdio as the transport's end sees it: a readable and a writable
 * that wait until {@linkcode ChildStdio.join} (the boot frame goes out on
 * stdin first), then forward each read and write straight to the child's
 * stdout reader (reading into buffers sized to the traffic) and stdin writer. Real web streams, one layer over the
 * child's: a `TransformStream` joined with `pipeTo` in each direction cost
 * every round trip a stream hop and a pipe loop each way.
 */
class ChildStdio {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly #joined = Promise.withResolvers<
    {
      reader: ReadableStreamBYOBReader;
      writer: WritableStreamDefaultWriter<Uint8Array>;
    } | undefined
  >();
  #reader: ReadableStreamBYOBReader | undefined;
  /** The size of the next read's buffer (see {@linkcode FIRST_READ_BYTES}). */
  #readBytes = FIRST_READ_BYTES;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  /** Settles once the child's stdout was read to its end or cancelled. */
  readonly #readDone = Promise.withResolvers<void>();
  /** Settles once the child's stdin was closed, aborted or failed. */
  readonly #writeDone = Promise.withResolvers<void>();

  constructor() {
    this.readable = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const reader = this.#reader ?? (await this.#joined.promise)?.reader;
        if (reader === undefined) {
          controller.close();
          return;
        }
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          // A buffer of our own: the child's stdout would allocate 64 KiB for every read.
          result = await reader.read(new Uint8Array(this.#readBytes));
        } catch (error) {
          this.#readDone.resolve();
          throw error;
        }
        if (result.done) {
          this.#readDone.resolve();
          controller.close();
        } else {
          const chunk = result.value;
          if (chunk.length === this.#readBytes && this.#readBytes < LAST_READ_BYTES) {
            this.#readBytes *= 2;
          }
          controller.enqueue(chunk);
        }
      },
      cancel: async (reason) => {
        const reader = this.#reader ?? (await this.#joined.promise)?.reader;
        try {
          await reader?.cancel(reason);
        } finally {
          this.#readDone.resolve();
        }
      },
    }, { highWaterMark: 0 });
    this.writable = new WritableStream<Uint8Array>({
      write: async (chunk) => {
        const writer = this.#writer ?? (await this.#joined.promise)?.writer;
        if (writer === undefined) {
          throw new TypeError("Cannot write: the channel does not run over the child's stdin");
        }
        try {
          await writer.write(chunk);
        } catch (error) {
          this.#writeDone.resolve();
          throw error;
        }
      },
      close: async () => {
        const writer = this.#writer ?? (await this.#joined.promise)?.writer;
        try {
          await writer?.close();
        } finally {
          this.#writeDone.resolve();
        }
      },
      abort: async (reason) => {
        const writer = this.#writer ?? (await this.#joined.promise)?.writer;
        try {
          await writer?.abort(reason);
        } finally {
          this.#writeDone.resolve();
        }
      },
    });
  }

  /**
   * Joins the streams to the child's stdout and stdin.
   *
   * @returns A promise that settles once both directions are done with the
   *   child's streams (as the `pipeTo` of each did).
   */
  join(
    reader: ReadableStreamBYOBReader,
    writer: WritableStreamDefaultWriter<Uint8Array>,
  ): Promise<unknown> {
    this.#reader = reader;
    this.#writer = writer;
    this.#joined.resolve({ reader, writer });
    return Promise.all([this.#readDone.promise, this.#writeDone.promise]);
  }

  /** For a transport that does not use stdio: reads end at once, writes fail. */
  refuse(): void {
    this.#joined.resolve(undefined);
    this.#readDone.resolve();
    this.#writeDone.resolve();
  }
}

/** A launcher for process actors over channels from `factory`. */
export function processLauncher(factory: TransportFactory, options: ProcessHostOptions): Launcher {
  return async (boot: BootMessage, events: HostEvents) => {
    // The transport's end faces streams that forward to the child's stdio
    // once it is joined, after the boot frame went out first on stdin.
    const stdio = new ChildStdio();
    const ends = await bridgeToProcess(boot.args, options.pipeBridge);
    let link: Awaited<ReturnType<TransportFactory["open"]>>;
    try {
      link = await factory.open("process", { readable: stdio.readable, writable: stdio.writable });
    } catch (error) {
      await ends.settle();
      throw error;
    }
    const usesStdio = link.usesStdio === true;
    const granted = withTransportNeeds(
      withTransportNeeds(options.permissions, link.childPermissions),
      ends.childPermissions,
    );
    const args = [
      "run",
      "--no-prompt",
      ...parentResolution(),
      `--v8-flags=${v8Flags(options).join(",")}`,
      ...permissionFlags(granted),
      entryModule(
        boot.module,
        link.remote.module,
        ends.module,
        options.connectionsModule,
        boot.telemetry?.module,
        options.bundled,
      ),
    ];
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(Deno.execPath(), {
        args,
        cwd: options.cwd,
        clearEnv: true,
        env: { ...inheritedEnv(), ...options.env },
        // A session and process group of its own: a terminal's Ctrl-C (SIGINT
        // to the foreground group) reaches the parent, which stops its actors
        // in order through their sentinels. The child still dies with its
        // parent: its stdin ends when the parent does.
        detached: true,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      // No child: the transport's streams end at once, so its close cannot wait for them.
      stdio.refuse();
      await Promise.all([link.local.close(), ends.settle()]);
      throw error;
    }

    const tail: string[] = [];
    const logs = [
      forwardLines(child.stderr, (line) => options.onLog(line, "stderr"), tail),
    ];
    const stdin = child.stdin.getWriter();
    const frame = bootFrame({
      boot: { ...boot, args: ends.args },
      transport: {
        options: link.remote.options,
        usesStdio,
        minimalStdio: usesStdio && link.minimalStdio === true,
      },
    });
    const plumbing: Promise<unknown>[] = [];
    let stdinWriter: WritableStreamDefaultWriter<Uint8Array> | undefined = stdin;
    try {
      await stdin.write(frame);
    } catch {
      // The child died at once; its exit status says why.
    }
    if (usesStdio) {
      stdinWriter = undefined;
      plumbing.push(stdio.join(child.stdout.getReader({ mode: "byob" }), stdin));
    } else {
      // stdin stays open and silent: its end tells the child we are gone.
      logs.push(forwardLines(child.stdout, (line) => options.onLog(line, "stdout"), []));
      stdio.refuse();
    }

    let stopping = false;
    const exited = child.status.then(async (status) => {
      await Promise.all(logs);
      const info: ProcessExitInfo = {
        code: status.code,
        signal: status.signal,
        stderrTail: tail.slice(),
      };
      if (!stopping) events.died("exited", new ActorExitedError(boot.actorId, info));
      return info;
    });

    const release = async (signal: "SIGTERM" | undefined, graceMs: number): Promise<void> => {
      stopping = true;
      // While it exits, what it still writes on its pipe ends is read here.
      ends.drain?.();
      if (stdinWriter) {
        await stdinWriter.close().catch(() => {});
        stdinWriter = undefined;
      }
      const send = (name: Deno.Signal) => {
        try {
          child.kill(name);
        } catch {
          // Already gone.
        }
      };
      if (signal) send(signal);
      // Past a kill's grace, SIGKILL. An actor that said goodbye exits at
      // once, unless its exit hangs (Deno's own can, waiting on a thread that
      // never ends): it is killed too, so a stop never waits for it forever.
      if (!await settleWithin(exited, signal ? graceMs : EXIT_AFTER_GOODBYE_MS)) send("SIGKILL");
      await exited;
      if (ends.active) plumbing.push(ends.settle());
      await Promise.all(plumbing);
    };

    const host: Host = {
      kind: "process",
      pid: child.pid,
      killGraceMs: options.killGraceMs,
      kill: (graceMs = options.killGraceMs) => release("SIGTERM", graceMs),
      release: () => release(undefined, 0),
    };
    return { host, transport: link.local };
  };
}
