/**
 * Per-actor Deno permissions, least privilege by default.
 *
 * @module
 */

/** One permission: `true` for all, a list for some, `false` or absent for none. */
export type PermissionValue = boolean | readonly string[];

/**
 * What an actor may do. Nothing granted means nothing allowed beyond running
 * its own module. For a process actor each entry becomes a `--allow-*` flag
 * of its `deno run`; for a worker actor it becomes the Worker's `deno.permissions`.
 *
 * @example A process actor that may read one folder and reach one host
 * ```ts
 * import type { ActorPermissions } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * const permissions: ActorPermissions = { read: ["./data"], net: ["api.example.com:443"] };
 * assert.deepEqual(permissions.read, ["./data"]);
 * ```
 */
export interface ActorPermissions {
  /** File system reads (`--allow-read`). */
  read?: PermissionValue;
  /** File system writes (`--allow-write`). */
  write?: PermissionValue;
  /** Network hosts, as `host` or `host:port` (`--allow-net`). */
  net?: PermissionValue;
  /** Environment variable names (`--allow-env`). */
  env?: PermissionValue;
  /** Programs it may run (`--allow-run`; beware: a child runs with no limits). */
  run?: PermissionValue;
  /** Native libraries (`--allow-ffi`). */
  ffi?: PermissionValue;
  /** System information APIs (`--allow-sys`). */
  sys?: PermissionValue;
}

const KINDS = ["read", "write", "net", "env", "run", "ffi", "sys"] as const;

/**
 * Turns permissions into `deno run` flags, validating them.
 *
 * @param permissions What to grant.
 * @returns The `--allow-*` flags.
 * @throws {TypeError} For an unknown permission name or a malformed value.
 */
export function permissionFlags(permissions: ActorPermissions | undefined): string[] {
  if (permissions === undefined) return [];
  const flags: string[] = [];
  for (const key of Object.keys(permissions)) {
    if (!(KINDS as readonly string[]).includes(key)) {
      throw new TypeError(
        `Cannot spawn actor: unknown permission "${key}", known permissions are ${
          KINDS.join(", ")
        }`,
      );
    }
  }
  for (const kind of KINDS) {
    const value = permissions[kind];
    if (value === undefined || value === false) continue;
    if (value === true) flags.push(`--allow-${kind}`);
    else if (Array.isArray(value) && value.every((v) => typeof v === "string" && v !== "")) {
      if (value.some((v) => v.includes(","))) {
        throw new TypeError(`Cannot spawn actor: ${kind} permission entries cannot contain commas`);
      }
      if (value.length > 0) flags.push(`--allow-${kind}=${value.join(",")}`);
    } else {
      throw new TypeError(
        `Cannot spawn actor: permission "${kind}" must be a boolean or a list of strings, received ${
          JSON.stringify(value)
        }`,
      );
    }
  }
  return flags;
}

/**
 * Adds what a transport needs (its socket path, its host and port) to what
 * the actor's spec grants. A kind granted in full stays in full.
 *
 * @param granted What the spec grants.
 * @param needed What the transport needs.
 * @returns The union of both.
 */
export function withTransportNeeds(
  granted: ActorPermissions | undefined,
  needed: { read?: string[]; write?: string[]; net?: string[] } | undefined,
): ActorPermissions | undefined {
  if (!needed) return granted;
  const result: ActorPermissions = { ...granted };
  for (const kind of ["read", "write", "net"] as const) {
    const extra = needed[kind];
    if (!extra || extra.length === 0) continue;
    const current = result[kind];
    if (current === true) continue;
    result[kind] = [...(Array.isArray(current) ? current : []), ...extra];
  }
  return result;
}

/**
 * Turns permissions into a Worker's `deno.permissions` object: everything
 * not granted is denied (the worker does not inherit the parent's).
 */
export function workerPermissions(
  permissions: ActorPermissions,
): Record<string, boolean | string[] | "inherit"> {
  permissionFlags(permissions); // validates
  // Module imports (`--allow-import`) stay as the parent has them: asking for
  // all would escalate past a parent that has only Deno's default hosts.
  const result: Record<string, boolean | string[] | "inherit"> = { import: "inherit" };
  for (const kind of KINDS) {
    const value = permissions[kind];
    result[kind] = value === undefined ? false : Array.isArray(value) ? [...value] : value === true;
  }
  return result;
}

/** The permission descriptor Deno queries for one entry of a kind. */
function descriptor(kind: (typeof KINDS)[number], entry?: string): Deno.PermissionDescriptor {
  if (entry === undefined) return { name: kind } as Deno.PermissionDescriptor;
  switch (kind) {
    case "read":
    case "write":
    case "ffi":
      return { name: kind, path: entry };
    case "net":
      return { name: "net", host: entry };
    case "env":
      return { name: "env", variable: entry };
    case "run":
      return { name: "run", command: entry };
    case "sys":
      return { name: "sys", kind: entry as Deno.SysPermissionDescriptor["kind"] };
  }
}

/**
 * What `permissions` grants that this process does not hold itself, as
 * `kind` (in full) or `kind:entry` strings. A process actor can be given
 * more than its parent (the parent only needs `--allow-run`), which is an
 * escalation: `spawn` refuses it unless asked to allow it.
 *
 * @param permissions What a spawn grants.
 * @returns The grants beyond this process's own, empty when none.
 */
export function beyondParent(permissions: ActorPermissions | undefined): string[] {
  if (permissions === undefined) return [];
  const beyond: string[] = [];
  for (const kind of KINDS) {
    const value = permissions[kind];
    if (value === undefined || value === false) continue;
    const entries = value === true ? [undefined] : value;
    for (const entry of entries) {
      let state: Deno.PermissionState;
      try {
        state = Deno.permissions.querySync(descriptor(kind, entry)).state;
      } catch {
        state = "denied"; // a malformed entry: Deno would refuse it too
      }
      if (state !== "granted") beyond.push(entry === undefined ? kind : `${kind}:${entry}`);
    }
  }
  return beyond;
}
