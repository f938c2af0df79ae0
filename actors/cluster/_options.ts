// Checks a node's options eagerly and turns them into the NATS client's
// connection options. Credentials go to the client and nowhere else: what the
// node keeps for display is `servers` with any `user:pass@` removed.

import {
  type Authenticator,
  type ConnectionOptions,
  credsAuthenticator,
  nkeyAuthenticator,
} from "@nats-io/transport-node";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import { isIP } from "node:net";
import type { ExposeOptions, NatsNodeOptions, NatsTlsOptions } from "./nats_options.ts";
import type { DurableSettings } from "./_durable.ts";
import { isSubjectPart, isWireCodec, type WireCodec } from "./_wire.ts";
import { type EventHub, eventsOf } from "../core/event_hub.ts";
import type { LifecycleEvent } from "../core/events.ts";

export const DEFAULT_SERVER = "nats://127.0.0.1:4222";
export const DEFAULT_ASK_TIMEOUT = 30_000;
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
export const DEFAULT_MAX_PENDING = 1024;

/** A server URL without credentials: `nats://user:pass@host:4222` becomes `nats://host:4222`. */
export function redactServer(server: string): string {
  return server.replace(/^([a-z]+:\/\/)?[^@/]*@/i, (_, scheme: string | undefined) => scheme ?? "");
}

function positive(what: string, value: number | undefined, fallback: number, where: string) {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${where}: ${what} must be a positive number, received ${value}`);
  }
  return value;
}

function text(what: string, value: unknown, where: string): void {
  if (value !== undefined && typeof value !== "string") {
    throw new TypeError(`${where}: ${what} must be a string, received ${typeof value}`);
  }
}

const bytes = (value: string | Uint8Array): Uint8Array =>
  typeof value === "string" ? new TextEncoder().encode(value) : value;

/** What the node keeps of its options (no credentials). */
export interface NodeSettings {
  displayServers: string[];
  name: string;
  namespace: string;
  askTimeout: number;
  discovery: boolean;
  /** The hub of the system that also reports the node's events. */
  systemEvents: EventHub<LifecycleEvent> | undefined;
  /** That system, which also shows the node's figures (`troupe run --metrics`). */
  system: object | undefined;
}

/** Checks the options; returns the settings and the client's connection options. */
export function nodeOptions(
  options: NatsNodeOptions,
): { settings: NodeSettings; connection: ConnectionOptions } {
  const where = "Cannot connect to NATS";
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`${where}: options must be an object, received ${options}`);
  }
  const servers = options.servers === undefined
    ? [DEFAULT_SERVER]
    : typeof options.servers === "string"
    ? [options.servers]
    : [...options.servers];
  if (servers.length === 0 || servers.some((s) => typeof s !== "string" || s.length === 0)) {
    throw new TypeError(`${where}: servers must be one or more non-empty URLs`);
  }
  const namespace = options.namespace ?? "default";
  if (!isSubjectPart(namespace)) {
    throw new TypeError(
      `${where}: namespace must be letters, digits, "_" and "-" in dot-separated tokens, received ${
        JSON.stringify(namespace)
      }`,
    );
  }
  for (const key of ["name", "user", "pass", "token"] as const) text(key, options[key], where);
  // Credentials in a URL (`nats://user:pass@host`, `nats://token@host`) are
  // taken out of it: the client gets them as options, and the URL without them.
  let user = options.user, pass = options.pass, token = options.token;
  const infos = new Set<string>();
  for (const server of servers) {
    const info = server.match(/^(?:[a-z]+:\/\/)?([^@/]*)@/i)?.[1];
    if (info !== undefined) infos.add(info);
  }
  if (infos.size > 1) throw new TypeError(`${where}: the server URLs carry different credentials`);
  const [info] = infos;
  if (info !== undefined && user === undefined && token === undefined) {
    const colon = info.indexOf(":");
    if (colon >= 0) {
      user = decodeURIComponent(info.slice(0, colon));
      pass = decodeURIComponent(info.slice(colon + 1));
    } else token = decodeURIComponent(info);
  }
  if ((user === undefined) !== (pass === undefined)) {
    throw new TypeError(`${where}: user and pass go together`);
  }
  const authenticators: Authenticator[] = [];
  if (options.creds !== undefined) authenticators.push(credsAuthenticator(bytes(options.creds)));
  if (options.nkeySeed !== undefined) {
    authenticators.push(nkeyAuthenticator(bytes(options.nkeySeed)));
  }
  const askTimeout = positive("askTimeout", options.askTimeout, DEFAULT_ASK_TIMEOUT, where);
  const connectTimeout = positive("connectTimeout", options.connectTimeout, 5000, where);
  const pingInterval = positive("pingInterval", options.pingInterval, 5000, where);
  const reconnectWait = positive("reconnectWait", options.reconnectWait, 250, where);
  const maxReconnectAttempts = options.maxReconnectAttempts ?? -1;
  if (!Number.isInteger(maxReconnectAttempts) || maxReconnectAttempts < -1) {
    throw new RangeError(
      `${where}: maxReconnectAttempts must be an integer of at least -1, received ${maxReconnectAttempts}`,
    );
  }
  const name = options.name ?? `troupe-${Deno.pid}`;
  const connection: ConnectionOptions = {
    servers: servers.map(redactServer),
    name,
    timeout: connectTimeout,
    pingInterval,
    maxPingOut: 2,
    reconnect: true,
    reconnectTimeWait: reconnectWait,
    reconnectJitter: Math.min(100, reconnectWait),
    maxReconnectAttempts,
    waitOnFirstConnect: false,
    noAsyncTraces: true,
    ...(user !== undefined ? { user, pass } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(authenticators.length > 0 ? { authenticator: authenticators } : {}),
    ...(options.tls !== undefined ? { tls: tlsSettings(options.tls, servers) } : {}),
  };
  return {
    settings: {
      displayServers: servers.map(redactServer),
      name,
      namespace,
      askTimeout,
      discovery: options.discovery ?? true,
      systemEvents: systemEvents(options.system, where),
      system: options.system,
    },
    connection,
  };
}

/** What an exposure keeps of its options. */
export interface ExposeSettings {
  queue: string | undefined;
  maxPayload: number;
  maxPending: number;
  askTimeout: number;
  durable: DurableSettings | undefined;
  /** Whether V8-serialized requests are taken (JSON ones always are). */
  v8: boolean;
  /** Whether the actor's own thread should serve the subscription (`ExposeOptions.inActor`). */
  inActor: boolean;
}

function count(what: string, value: number | undefined, fallback: number, where: string): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`${where}: ${what} must be a positive integer, received ${value}`);
  }
  return n;
}

function durableOptions(options: ExposeOptions, where: string): DurableSettings | undefined {
  const given = options.durable;
  if (given === undefined || given === false) return undefined;
  if (given !== true && (typeof given !== "object" || given === null)) {
    throw new TypeError(`${where}: durable must be true or an object, received ${given}`);
  }
  const d = given === true ? {} : given;
  return {
    ackWait: positive("durable.ackWait", d.ackWait, 30_000, where),
    maxDeliver: count("durable.maxDeliver", d.maxDeliver, 5, where),
    retryDelay: positive("durable.retryDelay", d.retryDelay, 1000, where),
    maxInflight: count("durable.maxInflight", d.maxInflight, 64, where),
    duplicateWindow: positive("durable.duplicateWindow", d.duplicateWindow, 120_000, where),
  };
}

/** Checks a `codec` option: `"json"` (the default) or `"v8"`. */
export function codecOption(codec: unknown, where: string): WireCodec {
  if (codec === undefined) return "json";
  if (!isWireCodec(codec)) {
    throw new TypeError(
      `${where}: codec must be "json" or "v8", received ${JSON.stringify(codec)}`,
    );
  }
  return codec;
}

function flag(what: string, value: unknown, where: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") {
    throw new TypeError(`${where}: ${what} must be true or false, received ${value}`);
  }
  return value;
}

/** Checks an exposure's name and options. */
export function exposeOptions(name: string, options: ExposeOptions): ExposeSettings {
  const where = `Cannot expose "${name}"`;
  if (!isSubjectPart(name)) {
    throw new TypeError(
      `Cannot expose actor: the name must be letters, digits, "_" and "-" in dot-separated tokens, received ${
        JSON.stringify(name)
      }`,
    );
  }
  if (options.queue !== undefined && !isSubjectPart(options.queue)) {
    throw new TypeError(`${where}: queue must be a subject-safe name, received ${options.queue}`);
  }
  const maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
  if (!Number.isInteger(maxPending) || maxPending < 1) {
    throw new RangeError(`${where}: maxPending must be a positive integer, received ${maxPending}`);
  }
  return {
    queue: options.queue,
    maxPayload: positive("maxPayload", options.maxPayload, DEFAULT_MAX_PAYLOAD, where),
    maxPending,
    askTimeout: positive("askTimeout", options.askTimeout, DEFAULT_ASK_TIMEOUT, where),
    durable: durableOptions(options, where),
    v8: codecOption(options.codec, where) === "v8",
    inActor: flag("inActor", options.inActor, where),
  };
}

/** The host of a server URL (`nats://10.0.0.5:4222`, `tls://[::1]:4222`, `10.0.0.5`). */
function hostOf(server: string): string {
  const bare = redactServer(server).replace(/^[a-z]+:\/\//i, "");
  const host = bare.startsWith("[") ? bare.slice(1, bare.indexOf("]")) : bare.split(":")[0];
  return host.split("/")[0];
}

/**
 * The TLS settings for the client. Deno's `node:tls` verifies a server
 * dialled by IP address as if it were named `localhost` (the client sends no
 * server name for an IP, and Deno does not fall back to the address), so a
 * certificate issued for `IP:10.0.0.5` would be refused. When that happens,
 * the certificate is checked against the IP addresses among `servers`
 * instead: it must still be signed by a trusted CA and carry one of them.
 */
function tlsSettings(tls: NatsTlsOptions, servers: readonly string[]): Record<string, unknown> {
  const addresses = [...new Set(servers.map(hostOf).filter((host) => isIP(host) !== 0))];
  if (addresses.length === 0) return { ...tls };
  return {
    ...tls,
    checkServerIdentity(hostname: string, cert: PeerCertificate): Error | undefined {
      const direct = checkServerIdentity(hostname, cert);
      if (direct === undefined || hostname !== "localhost") return direct;
      for (const address of addresses) {
        if (checkServerIdentity(address, cert) === undefined) return undefined;
      }
      return direct;
    },
  };
}

/** The event hub of `NatsNodeOptions.system`, checked to be an `ActorSystem`'s. */
function systemEvents(system: unknown, where: string): EventHub<LifecycleEvent> | undefined {
  if (system === undefined) return undefined;
  const hub = typeof system === "object" && system !== null ? eventsOf(system) : undefined;
  if (!hub) throw new TypeError(`${where}: system must be an ActorSystem`);
  return hub;
}
