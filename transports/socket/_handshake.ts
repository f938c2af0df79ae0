/**
 * The handshake that opens every `socket` connection, before any message.
 *
 * Both sides speak length-prefixed frames (the data framing) holding small
 * JSON objects, so a peer in another language can implement it:
 *
 * 1. Server → client: `{ protocol, codec, auth: "none" }`, or
 *    `{ protocol, codec, auth: "hmac-sha256", nonce }` with a fresh random
 *    32-byte server nonce (base64).
 * 2. Client → server: `{ protocol, codec }`, or with a secret
 *    `{ protocol, codec, nonce, proof }`: a fresh client nonce and
 *    `HMAC-SHA-256(secret, "troupe-socket/1 client\0" || serverNonce || clientNonce)`.
 * 3. Server → client: `{ ok: true }`, or with a secret
 *    `{ ok: true, proof: HMAC-SHA-256(secret, "troupe-socket/1 server\0" || clientNonce || serverNonce) }`,
 *    so the client authenticates the server too; or `{ ok: false, reason, error }`
 *    before the server closes the connection.
 *
 * Each proof is bound to its direction by its label and to this connection by
 * both nonces, so neither can be replayed or reflected. Proofs are compared in
 * constant time. Until the handshake completes a frame may hold at most
 * {@linkcode HANDSHAKE_MAX_FRAME_BYTES}, and the whole exchange must finish
 * within the handshake timeout.
 *
 * @module
 */

import {
  AuthenticationError,
  ConnectionClosedError,
  ProtocolError,
} from "../../internal/channel_errors.ts";
import { watchDeadline } from "../../internal/abort.ts";
import { after } from "../../internal/ticker.ts";
import { encodeFrames, FRAME_PREFIX_BYTES } from "../framing/framing.ts";
import { isConnectionLoss } from "./_conn.ts";

/** The protocol name and version both sides announce. */
export const PROTOCOL = "troupe-socket/1";
/** The largest frame either side accepts before the handshake completes: 4 KiB. */
export const HANDSHAKE_MAX_FRAME_BYTES = 4096;
/**
 * How long a handshake may take by default, in milliseconds. Generous: on a
 * loaded 2-core machine, ten actors booting at once kept a parent busy past
 * 2 s; a peer that never answers is still dropped.
 */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** The shortest secret accepted, in bytes. */
export const MIN_SECRET_BYTES = 16;

const NONCE_BYTES = 32;
const PROOF_BYTES = 32;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const CLIENT_LABEL = encoder.encode(`${PROTOCOL} client\u0000`);
const SERVER_LABEL = encoder.encode(`${PROTOCOL} server\u0000`);

/** What one side of a handshake needs. */
export interface HandshakeSettings {
  /** The shared secret as an HMAC key; `undefined` when this side has none. */
  key: CryptoKey | undefined;
  /** The codec's name; both sides must use the same. */
  codec: string;
  /** The deadline for the whole exchange, in milliseconds. */
  timeoutMs: number;
  /** Aborts the handshake (the connection is closed). */
  signal?: AbortSignal;
  /**
   * The server's side calls it once the client's answer has arrived whole:
   * what is left (a signature check and one write) no longer waits on the peer.
   */
  onAnswered?: () => void;
}

type Message = Record<string, unknown>;

/**
 * Checks a secret and returns its bytes.
 *
 * @param secret A string (its UTF-8 bytes are used) or bytes.
 * @param context What is being set up, for the message.
 * @returns The secret's bytes.
 * @throws {TypeError} When the secret is neither a string nor a `Uint8Array`.
 * @throws {RangeError} When it is shorter than 16 bytes.
 */
export function checkSecret(secret: unknown, context: string): Uint8Array {
  let bytes: Uint8Array;
  if (typeof secret === "string") bytes = encoder.encode(secret);
  else if (secret instanceof Uint8Array) bytes = secret;
  else {
    throw new TypeError(
      `${context}: secret must be a string or a Uint8Array, received ${describe(secret)}`,
    );
  }
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new RangeError(
      `${context}: secret must be at least ${MIN_SECRET_BYTES} bytes, received ${bytes.length} bytes`,
    );
  }
  return bytes;
}

/**
 * Makes an HMAC-SHA-256 key of a checked secret.
 *
 * @param secret The secret's bytes.
 * @returns A key that can only sign.
 */
export function importSecret(secret: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    secret as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
}

/** Creates a random secret for one link: 32 bytes, base64. */
export function randomSecret(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * Runs the server's side of the handshake on a freshly accepted connection.
 * On failure the peer has been told why (when it got that far); the caller
 * closes the connection.
 *
 * @throws {AuthenticationError} When the peer's proof is missing or wrong.
 * @throws {ProtocolError} When the peer speaks another protocol or codec, or sends a malformed or oversized frame.
 * @throws {ConnectionClosedError} When the peer closed the connection during the handshake.
 * @throws {DOMException} `TimeoutError` when the deadline passed.
 */
export function serverHandshake(conn: Deno.Conn, settings: HandshakeSettings): Promise<void> {
  return withDeadline(conn, settings, "Cannot accept connection", async () => {
    const { key, codec } = settings;
    const serverNonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
    await writeMessage(
      conn,
      key
        ? { protocol: PROTOCOL, codec, auth: "hmac-sha256", nonce: toBase64(serverNonce) }
        : { protocol: PROTOCOL, codec, auth: "none" },
    );
    const answer = await readMessage(conn, "Cannot accept connection");
    settings.onAnswered?.();
    if (answer.protocol !== PROTOCOL) {
      await refuse(conn, "protocol", `expected protocol "${PROTOCOL}"`);
      throw new ProtocolError(
        `Cannot accept connection: the peer speaks ${
          describe(answer.protocol)
        }, expected "${PROTOCOL}"`,
      );
    }
    if (answer.codec !== codec) {
      await refuse(conn, "protocol", `this server uses the "${codec}" codec`);
      throw new ProtocolError(
        `Cannot accept connection: the peer uses the ${
          describe(answer.codec)
        } codec, this server the "${codec}" codec`,
      );
    }
    if (key === undefined) {
      await writeMessage(conn, { ok: true });
      return;
    }
    const clientNonce = fromBase64(answer.nonce, NONCE_BYTES);
    const proof = fromBase64(answer.proof, PROOF_BYTES);
    const expected = await sign(key, CLIENT_LABEL, serverNonce, clientNonce ?? new Uint8Array());
    if (clientNonce === undefined || proof === undefined || !timingSafeEqual(proof, expected)) {
      await refuse(conn, "authentication", "authentication failed");
      throw new AuthenticationError(
        proof === undefined
          ? "Cannot accept connection: the peer sent no valid proof of the secret"
          : "Cannot accept connection: the peer's proof of the secret is wrong",
      );
    }
    const serverProof = await sign(key, SERVER_LABEL, clientNonce, serverNonce);
    await writeMessage(conn, { ok: true, proof: toBase64(serverProof) });
  });
}

/**
 * Runs the client's side of the handshake on a freshly dialled connection.
 * A client with a secret also requires the server to prove it knows it.
 *
 * @throws {AuthenticationError} When the server refused the secret, asked for one this side does not have, or could not prove it knows it.
 * @throws {ProtocolError} When the server speaks another protocol or codec, or sends a malformed or oversized frame.
 * @throws {ConnectionClosedError} When the server closed the connection during the handshake.
 * @throws {DOMException} `TimeoutError` when the deadline passed; the abort reason when aborted.
 */
export function clientHandshake(conn: Deno.Conn, settings: HandshakeSettings): Promise<void> {
  return withDeadline(conn, settings, "Cannot connect", async () => {
    const { key, codec } = settings;
    const hello = await readMessage(conn, "Cannot connect");
    if (hello.protocol !== PROTOCOL) {
      throw new ProtocolError(
        `Cannot connect: the server speaks ${describe(hello.protocol)}, expected "${PROTOCOL}"`,
      );
    }
    if (hello.codec !== codec) {
      throw new ProtocolError(
        `Cannot connect: the server uses the ${
          describe(hello.codec)
        } codec, this end the "${codec}" codec`,
      );
    }
    let clientNonce: Uint8Array | undefined;
    let serverNonce: Uint8Array | undefined;
    if (hello.auth === "hmac-sha256") {
      if (key === undefined) {
        throw new AuthenticationError(
          "Cannot connect: the server requires a secret, none was given",
        );
      }
      serverNonce = fromBase64(hello.nonce, NONCE_BYTES);
      if (serverNonce === undefined) {
        throw new ProtocolError("Cannot connect: the server sent no valid nonce");
      }
      clientNonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
      const proof = await sign(key, CLIENT_LABEL, serverNonce, clientNonce);
      await writeMessage(conn, {
        protocol: PROTOCOL,
        codec,
        nonce: toBase64(clientNonce),
        proof: toBase64(proof),
      });
    } else if (hello.auth === "none") {
      if (key !== undefined) {
        throw new AuthenticationError(
          "Cannot connect: the server does not authenticate, so it cannot prove it knows the secret",
        );
      }
      await writeMessage(conn, { protocol: PROTOCOL, codec });
    } else {
      throw new ProtocolError(
        `Cannot connect: the server asks for an unknown authentication, ${describe(hello.auth)}`,
      );
    }
    const verdict = await readMessage(conn, "Cannot connect");
    if (verdict.ok !== true) {
      const message = `Cannot connect: the server refused the connection: ${
        typeof verdict.error === "string" ? verdict.error : "no reason given"
      }`;
      throw verdict.reason === "authentication"
        ? new AuthenticationError(message)
        : new ProtocolError(message);
    }
    if (key === undefined) return;
    const proof = fromBase64(verdict.proof, PROOF_BYTES);
    const expected = await sign(key, SERVER_LABEL, clientNonce!, serverNonce!);
    if (proof === undefined || !timingSafeEqual(proof, expected)) {
      throw new AuthenticationError("Cannot connect: the server's proof of the secret is wrong");
    }
  });
}

/**
 * Runs `body` with the deadline and the abort signal armed: either closes the
 * connection, which fails the pending read or write at once.
 */
async function withDeadline(
  conn: Deno.Conn,
  settings: HandshakeSettings,
  context: string,
  body: () => Promise<void>,
): Promise<void> {
  const { signal, timeoutMs } = settings;
  signal?.throwIfAborted();
  let interrupted: { reason: unknown } | undefined;
  const stop = watchDeadline(
    signal,
    timeoutMs,
    (reason) => {
      interrupted = { reason };
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    },
    () =>
      new DOMException(
        `${context}: the handshake did not complete within ${timeoutMs} ms`,
        "TimeoutError",
      ),
    // The read or write under way keeps the event loop alive, and an actor
    // dialing its parent reads no timers global on its way to READY (see
    // internal/ticker.ts).
    after,
  );
  try {
    await body();
  } catch (error) {
    if (interrupted) throw interrupted.reason;
    throw error;
  } finally {
    stop();
  }
}

/** Tells the peer why it is dropped, if it still listens. */
async function refuse(
  conn: Deno.Conn,
  reason: "authentication" | "protocol",
  error: string,
): Promise<void> {
  try {
    await writeMessage(conn, { ok: false, reason, error });
  } catch {
    // The peer is gone; it is dropped either way.
  }
}

async function writeMessage(conn: Deno.Conn, message: Message): Promise<void> {
  const bytes = encodeFrames([encoder.encode(JSON.stringify(message))]);
  try {
    let offset = 0;
    while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
  } catch (error) {
    if (isConnectionLoss(error)) throw new ConnectionClosedError("send", "peer", { cause: error });
    throw error;
  }
}

async function readMessage(conn: Deno.Conn, context: string): Promise<Message> {
  const prefix = await readExact(conn, FRAME_PREFIX_BYTES);
  const length = new DataView(prefix.buffer).getUint32(0, true);
  if (length > HANDSHAKE_MAX_FRAME_BYTES) {
    throw new ProtocolError(
      `${context}: the peer sent a ${length}-byte frame during the handshake, the limit is ${HANDSHAKE_MAX_FRAME_BYTES} bytes`,
    );
  }
  const body = await readExact(conn, length);
  let message: unknown;
  try {
    message = JSON.parse(decoder.decode(body));
  } catch (error) {
    throw new ProtocolError(`${context}: a handshake frame is not JSON`, { cause: error });
  }
  if (typeof message !== "object" || message === null || Array.isArray(message)) {
    throw new ProtocolError(`${context}: a handshake frame is not a JSON object`);
  }
  return message as Message;
}

/** Reads exactly `length` bytes, never more, so what follows the handshake stays in the socket. */
async function readExact(conn: Deno.Conn, length: number): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = new Uint8Array(length);
  let filled = 0;
  try {
    while (filled < length) {
      const count = await conn.read(bytes.subarray(filled));
      if (count === null) throw new ConnectionClosedError("receive", "peer");
      filled += count;
    }
  } catch (error) {
    if (isConnectionLoss(error)) {
      throw new ConnectionClosedError("receive", "peer", { cause: error });
    }
    throw error;
  }
  return bytes;
}

async function sign(
  key: CryptoKey,
  label: Uint8Array,
  first: Uint8Array,
  second: Uint8Array,
): Promise<Uint8Array> {
  const data = new Uint8Array(label.length + first.length + second.length);
  data.set(label, 0);
  data.set(first, label.length);
  data.set(second, label.length + first.length);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, data));
}

/** Compares two byte strings in time that depends only on their length. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}

function fromBase64(value: unknown, length: number): Uint8Array | undefined {
  if (typeof value !== "string") return undefined;
  let text: string;
  try {
    text = atob(value);
  } catch {
    return undefined;
  }
  if (text.length !== length) return undefined;
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function describe(value: unknown): string {
  return typeof value === "string" ? `"${value.slice(0, 64)}"` : String(value).slice(0, 64);
}
