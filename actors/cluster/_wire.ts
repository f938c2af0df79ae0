// The wire format over NATS: subjects from a namespace and a name, the
// headers that carry the message name, kind, id and deadline, JSON bodies,
// and errors as JSON objects. Written once, for the asking and the serving
// side; README.md's "Past one machine" documents the same format.

import {
  ActorCrashedError,
  ActorError,
  ActorRestartingError,
  ActorStoppedError,
  type CrashReason,
  FrameTooLargeError,
  MailboxFullError,
  MessageNotCloneableError,
  ProtocolError,
  type RemoteErrorInfo,
  UnknownMessageError,
} from "../../internal/errors.ts";
import { serializeError, toRemoteErrorInfo } from "../../internal/error_wire.ts";
import type { PayloadInspector } from "../../internal/payload.ts";
import { type MsgHdrs, MsgHdrsImpl } from "@nats-io/transport-node";
import { PLAIN_KIND } from "../../internal/batch.ts";
import { deserialize, serialize } from "node:v8";

/** The handler's name. Required on every request. */
export const MESSAGE_HEADER = "Troupe-Message";
/**
 * `ask`, `tell` or `tells` (a batch of tells, see {@linkcode decodeTellBatch});
 * without it, a request with a reply subject is an ask.
 */
export const KIND_HEADER = "Troupe-Kind";
/** The kind of a message that carries several tells, one per line of its body. */
export const BATCH_KIND = "tells";
/** The caller's id of the request, echoed on the reply. */
export const ID_HEADER = "Troupe-Id";
/** Milliseconds the caller waits; the serving side stops waiting after it too. */
export const TIMEOUT_HEADER = "Troupe-Timeout";
/** `ok` or `error`, on every reply. */
export const STATUS_HEADER = "Troupe-Status";
/** The body's codec, `json` (the default when absent) or `v8`; a reply is in its request's. */
export const CODEC_HEADER = "Troupe-Codec";

/** The codecs a body may be in. */
export type WireCodec = "json" | "v8";

/**
 * The codec of a request from its `Troupe-Codec` header (absent or empty:
 * JSON). Throws `BadRequest` for a codec the wire does not know, or `v8`
 * when the serving side does not take it.
 */
export function requestCodec(header: string | undefined, v8: boolean): WireCodec {
  if (!header || header === "json") return "json";
  if (header === "v8") {
    if (v8) return "v8";
    throw new BadRequest(
      `${CODEC_HEADER} v8 is not taken here: the name is exposed for JSON only (expose it with codec "v8")`,
    );
  }
  throw new BadRequest(
    `${CODEC_HEADER} must be json or v8, received ${JSON.stringify(header.slice(0, 64))}`,
  );
}

/** Whether `value` names a codec of the wire. */
export function isWireCodec(value: unknown): value is WireCodec {
  return value === "json" || value === "v8";
}

/** The first token of every subject Troupe serves on. */
export const SUBJECT_ROOT = "troupe";

const TOKEN = /^[A-Za-z0-9_-]+$/;

/** Whether `value` is one or more dot-separated tokens of letters, digits, `_` and `-`. */
export function isSubjectPart(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= 200 &&
    value.split(".").every((token) => TOKEN.test(token));
}

/** The subject a name is served on: `troupe.<namespace>.<name>`. */
export function subjectOf(namespace: string, name: string): string {
  return `${SUBJECT_ROOT}.${namespace}.${name}`;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const EMPTY = new Uint8Array(0);

/** Encodes a reply value or a payload as JSON; `undefined` is the empty body. */
export function encodeValue(value: unknown): Uint8Array {
  if (value === undefined) return EMPTY;
  const text = JSON.stringify(value);
  return text === undefined ? EMPTY : encoder.encode(text);
}

/**
 * Encodes a payload a caller sends, refusing what JSON does not carry as it
 * is (functions, symbols, class instances, `Map`, `Date`, byte arrays).
 */
export function encodePayload(
  inspector: PayloadInspector,
  payload: unknown,
  path = "payload",
): Uint8Array {
  if (payload === undefined) return EMPTY;
  inspector.inspect(payload, path);
  if (inspector.kind !== PLAIN_KIND) {
    throw new MessageNotCloneableError(
      path,
      "not plain JSON data (a Map, Set, Date, byte array, undefined inside, or a shared reference)",
    );
  }
  return encodeValue(payload);
}

/**
 * The JSON text of a payload a caller sends (`undefined` for none), refusing
 * what JSON does not carry as `encodePayload` does: the text a batch of
 * tells is built from.
 */
export function payloadText(inspector: PayloadInspector, payload: unknown): string | undefined {
  if (payload === undefined) return undefined;
  inspector.inspect(payload, "payload");
  if (inspector.kind !== PLAIN_KIND) {
    throw new MessageNotCloneableError(
      "payload",
      "not plain JSON data (a Map, Set, Date, byte array, undefined inside, or a shared reference)",
    );
  }
  return JSON.stringify(payload);
}

/** The UTF-8 bytes of a text. */
export function textBytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** One tell of a batch, as the serving side reads it. */
export type BatchEntry =
  | { ok: true; name: string; payload: unknown }
  | { ok: false; reason: string };

/**
 * Reads the body of a batch of tells (`Troupe-Kind: tells`): UTF-8 text, one
 * tell per line (lines end at `\n`, which JSON text never holds raw), each a
 * JSON array of the message name and, unless it has none, the payload:
 * `["take",{"i":1}]` or `["tick"]`. A line over `maxPayload` bytes, or not
 * such an array, is refused on its own (`ok: false`); the others stand.
 * Returns why the whole batch is refused instead when its `Troupe-Codec`
 * (`codec`) is not JSON or its body not UTF-8.
 */
export function decodeTellBatch(
  codec: string,
  bytes: Uint8Array,
  maxPayload: number,
): BatchEntry[] | string {
  if (codec !== "" && codec !== "json") return `a batch of tells is JSON, received ${codec}`;
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch (error) {
    return `the body is not UTF-8: ${error instanceof Error ? error.message : error}`;
  }
  const revive = PROTOTYPE_KEY.test(text);
  const entries: BatchEntry[] = [];
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.length === 0) {
      if (start > text.length) break;
      entries.push({ ok: false, reason: "an entry of the batch is empty" });
      continue;
    }
    // UTF-16 units are at most the UTF-8 bytes, and a third of them at least.
    if (
      line.length > maxPayload || (line.length * 3 > maxPayload &&
        encoder.encode(line).length > maxPayload)
    ) {
      entries.push({
        ok: false,
        reason: `an entry of the batch is over the limit of ${maxPayload} bytes`,
      });
      continue;
    }
    let value: unknown;
    try {
      value = revive ? JSON.parse(line, dropPrototypeKeys) : JSON.parse(line);
    } catch (error) {
      entries.push({
        ok: false,
        reason: `an entry of the batch is not JSON: ${
          error instanceof Error ? error.message : error
        }`,
      });
      continue;
    }
    if (
      !Array.isArray(value) || value.length < 1 || value.length > 2 ||
      typeof value[0] !== "string" || value[0] === ""
    ) {
      entries.push({
        ok: false,
        reason: "an entry of the batch must be a JSON array of a message name and a payload",
      });
      continue;
    }
    entries.push({ ok: true, name: value[0], payload: value[1] });
  }
  return entries;
}

/** Decodes a JSON body; the empty body is `undefined`. Throws on bad UTF-8 or JSON. */
export function decodeValue(bytes: Uint8Array): unknown {
  if (bytes.length === 0) return undefined;
  const text = decoder.decode(bytes);
  // A reviver makes JSON.parse several times slower: only text that names a
  // prototype key, or has escapes that could spell one, needs it.
  return PROTOTYPE_KEY.test(text) ? JSON.parse(text, dropPrototypeKeys) : JSON.parse(text);
}

const PROTOTYPE_KEY = /__proto__|constructor|prototype|\\/;

/**
 * Encodes a value as `node:v8` serializes it (what structured clone
 * carries: Map, Set, Date, bigint, typed arrays, errors, undefined inside,
 * shared and circular references); `undefined` is the empty body.
 */
export function encodeV8(value: unknown, path = "payload"): Uint8Array {
  if (value === undefined) return EMPTY;
  try {
    return serialize(value);
  } catch (error) {
    throw new MessageNotCloneableError(
      path,
      `not V8-serializable (${error instanceof Error ? error.message : error})`,
      { cause: error },
    );
  }
}

/** Decodes a `node:v8` body; the empty body is `undefined`. Throws on bytes it cannot read. */
export function decodeV8(bytes: Uint8Array): unknown {
  return bytes.length === 0 ? undefined : deserialize(bytes);
}

/** Encodes a payload or reply value in `codec`, refusing what that codec does not carry. */
export function encodeBody(
  codec: WireCodec,
  inspector: PayloadInspector,
  value: unknown,
  path?: string,
): Uint8Array {
  return codec === "v8" ? encodeV8(value, path) : encodePayload(inspector, value, path);
}

/** Decodes a body in `codec`; the empty body is `undefined`. */
export function decodeBody(codec: WireCodec, bytes: Uint8Array): unknown {
  return codec === "v8" ? decodeV8(bytes) : decodeValue(bytes);
}

function dropPrototypeKeys(key: string, value: unknown): unknown {
  return key === "__proto__" || key === "constructor" || key === "prototype" ? undefined : value;
}

/** An error as it travels in a reply's body: `{ "error": WireError }`. */
export interface WireError {
  /** The Troupe error class, or `BadRequest`, or the platform's name such as `TimeoutError`. */
  type: string;
  message: string;
  /**
   * ActorError (and an unclassed error): the handler's error as plain data,
   * with its class, own primitive properties, cause chain and `errors`.
   */
  remote?: RemoteErrorInfo;
  actor?: string;
  messageName?: string;
  known?: string[];
  capacity?: number;
  /** ActorCrashedError: its crash reason; ActorStoppedError: why it stopped, when known. */
  reason?: string;
  size?: number;
  limit?: number;
  path?: string;
}

/** A caller's request that broke the wire format (answered, never handled). */
export class BadRequest extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BadRequest";
  }
}

/** The wire form of an error the serving side met. */
export function errorToWire(error: unknown): WireError {
  if (error instanceof ActorError) {
    return {
      type: "ActorError",
      message: error.message,
      actor: error.actorId,
      messageName: error.messageName,
      remote: error.remote,
    };
  }
  if (error instanceof UnknownMessageError) {
    return {
      type: "UnknownMessageError",
      message: error.message,
      actor: error.actorId,
      messageName: error.messageName,
      known: [...error.known],
    };
  }
  if (error instanceof MailboxFullError) {
    return {
      type: "MailboxFullError",
      message: error.message,
      actor: error.actorId,
      capacity: error.capacity,
    };
  }
  if (error instanceof ActorCrashedError) {
    return {
      type: "ActorCrashedError",
      message: error.message,
      actor: error.actorId,
      reason: error.reason,
    };
  }
  if (error instanceof ActorStoppedError) {
    // Why, when known: an exposure that closed while the ask ran says so.
    const why = error.cause instanceof Error ? { reason: error.cause.message } : {};
    return { type: "ActorStoppedError", message: error.message, actor: error.actorId, ...why };
  }
  if (error instanceof ActorRestartingError) {
    return { type: "ActorRestartingError", message: error.message, actor: error.actorId };
  }
  if (error instanceof FrameTooLargeError) {
    return {
      type: "FrameTooLargeError",
      message: error.message,
      size: error.size,
      limit: error.limit,
    };
  }
  if (error instanceof BadRequest) return { type: "BadRequest", message: error.message };
  if (error instanceof MessageNotCloneableError) {
    return { type: "MessageNotCloneableError", message: error.message, path: error.path };
  }
  if (error instanceof DOMException && error.name === "TimeoutError") {
    return { type: "TimeoutError", message: error.message };
  }
  const info = serializeError(error);
  return { type: "Error", message: info.message, remote: info };
}

const str = (value: unknown, fallback: string): string =>
  typeof value === "string" ? value : fallback;
const num = (value: unknown): number => typeof value === "number" ? value : 0;

/**
 * Rebuilds the error a reply carried as the local class, so a remote caller
 * catches what a local one would. `target` names the actor when the reply
 * does not.
 */
export function errorFromWire(value: unknown, target: string, messageName: string): Error {
  const wire = (typeof value === "object" && value !== null ? value : {}) as Record<
    string,
    unknown
  >;
  const actor = str(wire.actor, target);
  const name = str(wire.messageName, messageName);
  const message = str(wire.message, "");
  switch (wire.type) {
    case "ActorError":
      return new ActorError(actor, name, toRemoteErrorInfo(wire.remote));
    case "UnknownMessageError":
      return new UnknownMessageError(
        actor,
        name,
        Array.isArray(wire.known) ? wire.known.filter((k) => typeof k === "string") : [],
      );
    case "MailboxFullError":
      return new MailboxFullError(actor, num(wire.capacity));
    case "ActorCrashedError":
      return new ActorCrashedError(actor, str(wire.reason, "error") as CrashReason);
    case "ActorStoppedError":
      return new ActorStoppedError(
        actor,
        typeof wire.reason === "string" ? { cause: new Error(wire.reason) } : undefined,
      );
    case "ActorRestartingError":
      return new ActorRestartingError(actor);
    case "FrameTooLargeError":
      return new FrameTooLargeError(num(wire.size), num(wire.limit));
    case "TimeoutError":
      return new DOMException(message || "Signal timed out.", "TimeoutError");
    case "MessageNotCloneableError":
      return new MessageNotCloneableError(str(wire.path, "reply"), "not plain JSON data", {
        cause: new Error(message),
      });
    case "BadRequest":
      return new ProtocolError(`Actor "${target}" refused the request: ${message}`);
    default:
      return new ActorError(actor, name, toRemoteErrorInfo(wire.remote ?? { message }));
  }
}

/**
 * The first value of header `key` (exact name, as `MsgHdrs.get` matches by
 * default), or `""`. Reads the decoded map directly: `get` lists and filters
 * every key on each call, and a request's five reads showed in profiles.
 */
export function headerOf(h: MsgHdrs | undefined, key: string): string {
  const map = (h as MsgHdrsImpl | undefined)?.headers;
  if (map instanceof Map) return map.get(key)?.[0] ?? "";
  return h?.get(key) ?? "";
}

/**
 * Headers encoded once and reused: the client re-encodes a header object on
 * every publish, and a node sends the same few (message name and deadline,
 * reply status) over and over.
 */
class FrozenHeaders extends MsgHdrsImpl {
  #bytes: Uint8Array | undefined;

  override encode(): Uint8Array {
    return this.#bytes ??= super.encode();
  }
}

const HEADER_CACHE_LIMIT = 1024;

/** The headers of one (name, value) list, built and encoded once per distinct list. */
export class HeaderCache {
  #cache = new Map<string, MsgHdrs>();

  get(pairs: readonly (readonly [string, string])[]): MsgHdrs {
    const key = pairs.map(([k, v]) => `${k}\u0000${v}`).join("\u0001");
    let h = this.#cache.get(key);
    if (h === undefined) {
      if (this.#cache.size >= HEADER_CACHE_LIMIT) this.#cache.clear();
      h = new FrozenHeaders();
      for (const [k, v] of pairs) h.set(k, v);
      this.#cache.set(key, h);
    }
    return h;
  }
}
