// Checking a spawn's options before anything starts: the mailbox capacity and
// overflow policy, the id (a default one from the module's name), the host
// and the transport that must reach it, and the host's own settings
// (permissions, and the worker options flag they need; a process actor's
// environment, heap limit and args without shared memory; a thread actor's
// heap limit, and no permissions), turned into the launcher
// that starts the actor. Every check throws a `TypeError` or a
// `RangeError` saying what failed and what it received.

import type { TransportFactory } from "../../transports/transport.ts";
import {
  BUNDLED_TRANSPORTS,
  DEFAULT_TRANSPORT,
  PIPE_CONNECTIONS_MODULE,
  pipeEndBridge,
} from "../../transports/preset.ts";
import type { ActorHostKind, Launcher } from "../core/host.ts";
import { OVERFLOW_POLICIES, type OverflowPolicy } from "../core/outbox.ts";
import {
  type ActorPermissions,
  beyondParent,
  permissionFlags,
  workerPermissions,
} from "../hosts/permissions.ts";
import { processLauncher } from "../hosts/process_host.ts";
import type { SpawnOptions } from "../hosts/spawn_options.ts";
import { threadLauncher } from "../hosts/thread_host.ts";
import { workerLauncher, workerOptionsEnabled } from "../hosts/worker_host.ts";

const HOSTS: readonly ActorHostKind[] = ["worker", "process", "thread"];

/** The mailbox capacity of an actor whose spawn names none. */
export const DEFAULT_CAPACITY = 4096;

/** What a spawn's options are checked against: the system's transports, ids and flags. */
export interface SpawnChecks {
  /** The transports a spawn may name. */
  readonly transports: ReadonlyMap<string, TransportFactory>;
  /** The system's `unstableWorkerOptions` option. */
  readonly unstableWorkerOptions: boolean | undefined;
  /** The system's `onLog` option: where log lines go when the spawn names no `onLog`. */
  readonly onLog?: (line: string, stream: "stdout" | "stderr", id: string) => void;
  /** Whether an actor of that id runs now. */
  taken(id: string): boolean;
  /** A number never given before, for a default id. */
  nextNumber(): number;
}

/** A spawn's options, checked and with their defaults, and the launcher they pick. */
export interface CheckedSpawn {
  /** The actor module's URL. */
  url: string;
  /** The actor's id: the one asked for, or the module's name and a number. */
  id: string;
  /** The mailbox capacity. */
  capacity: number;
  /** What a full mailbox does. */
  overflow: OverflowPolicy;
  /** Where the actor runs. */
  hostKind: ActorHostKind;
  /** The transport of its mailbox. */
  factory: TransportFactory;
  /** Starts the actor on its host. */
  launch: Launcher;
}

/**
 * Checks a spawn's options, in the order a reader meets them, and builds the
 * launcher of its host.
 *
 * @param module The actor module's URL.
 * @param options The spawn's options.
 * @param checks The system's state they are checked against.
 * @returns The options with their defaults, and the launcher.
 * @throws {RangeError} For a capacity or a heap limit out of range.
 * @throws {TypeError} For any other invalid option, or an id that is taken.
 */
export function checkSpawn(
  module: string | URL,
  options: SpawnOptions,
  checks: SpawnChecks,
): CheckedSpawn {
  const url = new URL(module, import.meta.url).href;
  const id = options.id ?? `${actorName(url)}-${checks.nextNumber()}`;
  const capacity = options.capacity ?? DEFAULT_CAPACITY;
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(
      `Cannot spawn actor: mailbox capacity must be a positive integer, received ${capacity}`,
    );
  }
  const overflow = options.overflow ?? "backpressure";
  if (!OVERFLOW_POLICIES.includes(overflow)) {
    throw new TypeError(
      `Cannot spawn actor: overflow must be one of ${
        OVERFLOW_POLICIES.join(", ")
      }, received "${overflow}"`,
    );
  }
  if (checks.taken(id)) {
    throw new TypeError(`Cannot spawn actor: the id "${id}" is taken`);
  }
  const hostKind = options.host ?? "worker";
  if (!HOSTS.includes(hostKind)) {
    throw new TypeError(
      `Cannot spawn actor: host must be "worker", "process" or "thread", received "${hostKind}"`,
    );
  }
  // A thread is a thread of this process, as a worker is: the same channels reach it.
  const reach = hostKind === "thread" ? "worker" : hostKind;
  const factory = transportFor(options.transport ?? DEFAULT_TRANSPORT[reach], checks.transports);
  if (!factory.hosts.includes(reach)) {
    throw new TypeError(
      `Cannot spawn actor: the ${factory.name} transport cannot reach a ${hostKind} actor (it reaches ${
        factory.hosts.join(" and ")
      } actors only)`,
    );
  }
  if (hostKind === "thread") refuseThreadPermissions(id, options.permissions);
  refuseIgnoredOptions(hostKind, options);
  const onLog = options.onLog ?? checks.onLog;
  const log = onLog && ((line: string, stream: "stdout" | "stderr") => onLog(line, stream, id));
  const launch = hostKind === "thread"
    ? threadLauncher(factory, {
      maxHeapMiB: checkHeap(options.maxHeapMiB),
      maxYoungMiB: checkYoung(options.maxYoungMiB),
      connectionsModule: PIPE_CONNECTIONS_MODULE,
      onLog: log,
    })
    : hostKind === "worker"
    ? workerLauncher(
      factory,
      checkWorkerPermissions(options.permissions, checks),
      PIPE_CONNECTIONS_MODULE,
      log,
      BUNDLED_TRANSPORTS.worker,
    )
    : processLauncher(factory, {
      permissions: checkProcessPermissions(id, options.permissions, options.escalate === true),
      env: checkEnv(options.env),
      cwd: options.cwd === undefined ? undefined : String(
        options.cwd instanceof URL ? new URL(options.cwd).pathname : options.cwd,
      ),
      maxHeapMiB: checkHeap(options.maxHeapMiB),
      maxYoungMiB: checkYoung(options.maxYoungMiB),
      onLog: log ?? ((line) => console.error(`[${id}] ${line}`)),
      killGraceMs: 1000,
      pipeBridge: pipeEndBridge(),
      connectionsModule: PIPE_CONNECTIONS_MODULE,
      bundled: BUNDLED_TRANSPORTS.process,
    });
  if (hostKind === "process") checkNoSharedMemory(options.args);
  return { url, id, capacity, overflow, hostKind, factory, launch };
}

/**
 * What each option a host would ignore says: the hosts that take it, and why
 * this one cannot. A worker shares its process's heap, environment and
 * directory, and a thread its environment and directory; a limit given there
 * would hold nowhere (a worker that runs out of memory takes the process down).
 */
const HOST_ONLY: ReadonlyArray<
  readonly [keyof SpawnOptions, readonly ActorHostKind[], Partial<Record<ActorHostKind, string>>]
> = [
  ["maxHeapMiB", ["thread", "process"], {
    worker:
      "a worker actor shares its process's heap (bound it with --v8-flags=--max-old-space-size=MIB)",
  }],
  ["maxYoungMiB", ["thread", "process"], {
    worker:
      "a worker actor shares its process's V8 settings (bound them all with --v8-flags=--max-semi-space-size=MIB)",
  }],
  ["env", ["process"], {
    worker: "a worker actor shares its process's environment",
    thread: "a thread actor shares its process's environment",
  }],
  ["cwd", ["process"], {
    worker: "a worker actor shares its process's working directory",
    thread: "a thread actor shares its process's working directory",
  }],
  ["escalate", ["process"], {
    worker: "a worker actor never holds more than its parent",
    thread: "a thread actor holds exactly its process's permissions",
  }],
];

function refuseIgnoredOptions(host: ActorHostKind, options: SpawnOptions): void {
  for (const [option, hosts, why] of HOST_ONLY) {
    // `escalate: false` is the default, said out loud: nothing is ignored.
    if (options[option] === undefined || options[option] === false || hosts.includes(host)) {
      continue;
    }
    const takers = hosts.map((h) => `"${h}"`).join(" or ");
    throw new TypeError(`Cannot spawn actor: ${option} needs host ${takers}; ${why[host]}`);
  }
}

/**
 * Checks a pool's size.
 *
 * @param size The size asked for, or `undefined` for one worker per core.
 * @returns The size.
 * @throws {RangeError} When it is not a positive integer.
 */
export function checkPoolSize(size: number | undefined): number {
  const checked = size ?? navigator.hardwareConcurrency;
  if (!Number.isInteger(checked) || checked < 1) {
    throw new RangeError(
      `Cannot start pool: size must be a positive integer, received ${checked}`,
    );
  }
  return checked;
}

/**
 * The name default ids start with: the module's file name without its extension.
 *
 * @param url The actor module's URL.
 * @returns The name, or `"actor"` when the URL names no file.
 */
export function actorName(url: string): string {
  const file = url.split(/[\\/]/).pop() ?? "actor";
  return file.replace(/\.[a-z]+$/i, "") || "actor";
}

function transportFor(
  transport: string | TransportFactory,
  transports: ReadonlyMap<string, TransportFactory>,
): TransportFactory {
  if (typeof transport !== "string") return transport;
  const factory = transports.get(transport);
  if (!factory) {
    throw new TypeError(
      `Cannot spawn actor: unknown transport "${transport}", known transports are ${
        [...transports.keys()].join(", ")
      }`,
    );
  }
  return factory;
}

function checkWorkerPermissions(
  permissions: ActorPermissions | undefined,
  checks: SpawnChecks,
): Record<string, boolean | string[] | "inherit"> | undefined {
  if (permissions === undefined) return undefined;
  const granted = workerPermissions(permissions);
  const enabled = checks.unstableWorkerOptions ?? workerOptionsEnabled();
  if (enabled === undefined) {
    throw new TypeError(
      "Cannot spawn worker actor with permissions: cannot tell whether Deno runs with " +
        "--unstable-worker-options, which they need (Deno lets only a process with --allow-all " +
        'read /proc/self/cmdline to check). If it does, or deno.json\'s "unstable" list has ' +
        '"worker-options", pass ' +
        "unstableWorkerOptions: true to ActorSystem.start; if not, add the flag, or use " +
        'host: "process", which needs none',
    );
  }
  if (!enabled) {
    throw new TypeError(
      "Cannot spawn worker actor with permissions: Deno must run with --unstable-worker-options " +
        '(or "worker-options" in deno.json\'s "unstable" list); add it, or use host: "process", ' +
        "which needs none",
    );
  }
  return granted;
}

// A thread shares this process's permissions: Deno has no per-thread grants
// for node:worker_threads. Refuse instead of running it with more than asked.
function refuseThreadPermissions(id: string, permissions: ActorPermissions | undefined): void {
  if (permissions === undefined) return;
  throw new TypeError(
    `Cannot spawn thread actor "${id}" with permissions: a thread has exactly this process's ` +
      'permissions (Deno grants none per thread); use host: "worker" or host: "process" ' +
      "for an actor with permissions of its own",
  );
}

function checkProcessPermissions(
  id: string,
  permissions: ActorPermissions | undefined,
  escalate: boolean,
): ActorPermissions | undefined {
  permissionFlags(permissions); // throws on a malformed spec, before anything starts
  const beyond = escalate ? [] : beyondParent(permissions);
  if (beyond.length > 0) {
    throw new TypeError(
      `Cannot spawn process actor "${id}": it would be granted ${
        beyond.join(", ")
      }, which this process does not hold itself. A child can get more than its parent only ` +
        "because the parent may run programs (--allow-run); grant only what this process holds, " +
        "or pass escalate: true to spawn if you mean it",
    );
  }
  return permissions;
}

function checkEnv(env: Record<string, string> | undefined): Record<string, string> {
  if (env === undefined) return {};
  for (const [name, value] of Object.entries(env)) {
    if (typeof value !== "string" || name === "" || name.includes("=")) {
      throw new TypeError(
        `Cannot spawn actor: env entries must be NAME: "value" strings, received ${name}=${value}`,
      );
    }
  }
  return { ...env };
}

function checkYoung(maxYoungMiB: number | undefined): number | undefined {
  if (maxYoungMiB === undefined) return undefined;
  if (!Number.isInteger(maxYoungMiB) || maxYoungMiB < 3 || maxYoungMiB > 1024) {
    throw new RangeError(
      `Cannot spawn actor: maxYoungMiB must be an integer from 3 to 1024, received ${maxYoungMiB}`,
    );
  }
  return maxYoungMiB;
}

function checkHeap(maxHeapMiB: number | undefined): number {
  const heap = maxHeapMiB ?? 256;
  if (!Number.isInteger(heap) || heap < 16) {
    throw new RangeError(
      `Cannot spawn actor: maxHeapMiB must be an integer of at least 16, received ${heap}`,
    );
  }
  return heap;
}

// Shared memory cannot cross a process boundary in Deno: refuse it clearly
// instead of letting the child get a copy that silently stops being shared.
function checkNoSharedMemory(value: unknown, path = "args", seen = new Set<unknown>()): void {
  if (typeof value !== "object" || value === null || seen.has(value)) return;
  seen.add(value);
  const buffer = ArrayBuffer.isView(value) ? value.buffer : value;
  if (buffer instanceof SharedArrayBuffer) {
    throw new TypeError(
      `Cannot spawn process actor: ${path} holds shared memory (a SharedArrayBuffer), which processes cannot share in Deno; use a worker actor, or send the data as messages`,
    );
  }
  if (ArrayBuffer.isView(value)) return;
  const entries = value instanceof Map
    ? [...value.entries()].map(([k, v], i) => [`<entry ${i}>`, [k, v]] as const)
    : value instanceof Set
    ? [...value].map((v, i) => [`<item ${i}>`, v] as const)
    : Object.entries(value);
  for (const [key, item] of entries) checkNoSharedMemory(item, `${path}.${key}`, seen);
}
