/**
 * The options of a spawn, shared by the system that spawns and the
 * supervisors and pools that spawn through it.
 *
 * @module
 */

import type { TransportFactory } from "../../transports/transport.ts";
import type { ActorHostKind } from "../core/host.ts";
import type { OverflowPolicy } from "../core/outbox.ts";
import type { ActorPermissions } from "./permissions.ts";

export type { ActorHostKind } from "../core/host.ts";

/** Options of `ActorSystem.spawn`: where and how an actor runs. */
export interface SpawnOptions<A = unknown> {
  /** The actor's id. Default: the module's file name and a counter, such as `counter-1`. */
  id?: string;
  /**
   * The argument passed to the actor's `init`. Sent by structured clone,
   * except pipe ends from `pipeEnds()` found in it (in plain objects and
   * arrays): those reach the actor as pipe ends it opens with
   * `connectionFromStreams`, for worker and process actors alike. The
   * parent's end closes when the actor ends; an end goes to one actor, once.
   */
  args?: A;
  /** The name of the module's export to run, when it exports several actors. */
  export?: string;
  /**
   * Where the actor runs: `"worker"` (a Deno Worker, the default),
   * `"process"` (a `deno run` child of the same Deno binary, with its own
   * permissions, environment and heap limit) or `"thread"` (a
   * `node:worker_threads` thread of this process with a heap limit: one that
   * reaches it crashes alone, the process lives on; it has this process's
   * permissions, so `permissions` is refused).
   */
  host?: ActorHostKind;
  /**
   * The mailbox transport, by name or as a factory. Default `"queue"` for
   * workers and threads and `"pipe"` for processes. A thread actor is reached
   * by every transport that reaches workers.
   */
  transport?: string | TransportFactory;
  /**
   * What the actor may do. A process actor gets exactly these as `--allow-*`
   * flags: by default nothing beyond running its module. A worker actor gets
   * them as the Worker's `deno.permissions` (which needs
   * `--unstable-worker-options`), everything not listed denied; without this
   * option a worker inherits all of its parent's permissions (Deno's default
   * for workers), so pass `{}` for least privilege.
   */
  permissions?: ActorPermissions;
  /**
   * Allows a process actor to be granted what this process does not hold
   * itself (possible because the parent may run programs). Default `false`:
   * such a spawn throws a `TypeError` naming the grants. Refused (a
   * `TypeError`) for other hosts.
   */
  escalate?: boolean;
  /**
   * Environment variables of a process actor. Its environment is otherwise
   * cleared: it holds only the parent's `OTEL_*` variables and the few Deno
   * reads (`DENO_DIR`, `HOME`, `XDG_CACHE_HOME`, `TMPDIR`, `NO_COLOR`).
   * Refused (a `TypeError`) for a worker or thread actor, which shares its
   * process's environment.
   */
  env?: Record<string, string>;
  /** Working directory of a process actor. Refused (a `TypeError`) for other hosts. */
  cwd?: string | URL;
  /**
   * Heap limit of a process or thread actor in MiB (V8's old space).
   * Default 256. A thread actor that reaches it ends alone, with an
   * `ActorOutOfMemoryError`; memory outside the JavaScript heap
   * (`ArrayBuffer` contents) does not count. A worker actor shares its
   * process's heap and cannot take one (a `TypeError`): bound the whole
   * process with `deno run --v8-flags=--max-old-space-size=MIB`.
   */
  maxHeapMiB?: number;
  /**
   * Bound on the young generation of a process or thread actor in MiB
   * (V8's new space, where short-lived objects go). Default: V8's own
   * sizing, which lets a busy actor's young generation grow to about 64 MiB
   * over its first minutes and keep it: a long-running service's RSS climbs
   * that much per busy actor before it levels off. A bound of 4 to 16 keeps
   * it flat, at some cost in throughput where the actor allocates heavily.
   * A thread actor gets it as `resourceLimits.maxYoungGenerationSizeMb`, a
   * process actor as `--max-semi-space-size` (a third of it, as V8 splits
   * its young generation). A worker actor shares its process's V8 settings
   * and cannot take one (a `TypeError`): bound the whole process with
   * `deno run --v8-flags=--max-semi-space-size=2`.
   *
   * @example A parser that runs for weeks
   * ```ts ignore
   * await system.spawn(new URL("./parser.ts", import.meta.url), {
   *   host: "thread",
   *   maxYoungMiB: 8,
   * });
   * ```
   */
  maxYoungMiB?: number;
  /**
   * Where the actor's log lines go, each with its stream and the actor's id.
   * A process actor's stderr (and its stdout when its channel is not stdio)
   * always arrives as lines; by default they go to the parent's stderr,
   * each prefixed with `[id]`. Given for a worker or thread actor, its
   * `console` and its writes to `Deno.stdout` and `Deno.stderr` go here too
   * instead of the process's stdout and stderr (`log`, `info`, `debug`,
   * `dir` and `Deno.stdout` as "stdout", `warn`, `error`, `trace` and
   * `Deno.stderr` as "stderr").
   * Default: the system's `onLog` option (`SystemOptions.onLog`).
   */
  onLog?: (line: string, stream: "stdout" | "stderr", id: string) => void;
  /** The mailbox capacity: messages sent and not yet handled. Default 4096. */
  capacity?: number;
  /** What a full mailbox does. Default `"backpressure"`. */
  overflow?: OverflowPolicy;
  /** Milliseconds to wait for the actor's `init`. Default 30000. */
  timeout?: number;
  /** Aborts the spawn; the half-started actor is terminated. */
  signal?: AbortSignal;
}
