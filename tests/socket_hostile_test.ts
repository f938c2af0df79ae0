/**
 * The `socket` transport against hostile and broken peers after the
 * handshake: a frame dripped byte by byte (the per-frame read deadline), a
 * large frame that keeps coming, and valid frames next to a bad header.
 */

import assert from "node:assert/strict";
import { ProtocolError } from "../internal/errors.ts";
import { jsonCodec } from "../transports/codec.ts";
import { FRAME_MIN_BYTES_PER_SECOND, FrameDeadline } from "../transports/framing/framing.ts";
import { dialSocket } from "../transports/socket/dial.ts";
import { listenSocket } from "../transports/socket/server.ts";
import { drain, within } from "./_helpers.ts";

const WAIT_MS = 10_000;
const PROTOCOL = "troupe-socket/1";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function frame(body: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(4 + body.length);
  new DataView(bytes.buffer).setUint32(0, body.length, true);
  bytes.set(body, 4);
  return bytes;
}

function jsonFrame(message: unknown): Uint8Array {
  return frame(encoder.encode(JSON.stringify(message)));
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

async function readExact(conn: Deno.Conn, length: number): Promise<Uint8Array | null> {
  const bytes = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const count = await conn.read(bytes.subarray(filled));
    if (count === null) return null;
    filled += count;
  }
  return bytes;
}

async function readJsonFrame(conn: Deno.Conn): Promise<Record<string, unknown> | null> {
  const prefix = await readExact(conn, 4);
  if (prefix === null) return null;
  const body = await readExact(conn, new DataView(prefix.buffer).getUint32(0, true));
  return body === null ? null : JSON.parse(decoder.decode(body));
}

/** Resolves once the connection's stream has ended (EOF or reset). */
async function readToEnd(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(4096);
  try {
    while (await conn.read(buffer) !== null) {
      // Drain.
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.ConnectionReset)) throw error;
  }
}

/** Completes the handshake by hand on a Unix server without a secret, as a peer would. */
async function rawClient(path: string, codec: string): Promise<Deno.UnixConn> {
  const conn = await Deno.connect({ transport: "unix", path });
  const hello = await readJsonFrame(conn);
  assert.equal(hello?.protocol, PROTOCOL);
  assert.equal(hello?.auth, "none");
  await writeAll(conn, jsonFrame({ protocol: PROTOCOL, codec }));
  assert.deepEqual(await readJsonFrame(conn), { ok: true });
  return conn;
}

// ---------------------------------------------------------------------------
// Gap 3: every complete valid frame before a bad one is delivered.

Deno.test("socket: a valid frame in the same chunk as an oversized length prefix is delivered, then ProtocolError", async () => {
  await using server = await listenSocket({ codec: jsonCodec, maxFrameBytes: 1024 });
  const raw = await rawClient(server.addr.path, "json");
  try {
    const peer = await within(server.accept(), WAIT_MS, "the raw client to be accepted");
    const bad = new Uint8Array(4);
    new DataView(bad.buffer).setUint32(0, 1025, true);
    // One write: a whole valid frame, then a length prefix one over the limit.
    const good = jsonFrame(["before the bad header"]);
    const chunk = new Uint8Array(good.length + bad.length);
    chunk.set(good, 0);
    chunk.set(bad, good.length);
    await writeAll(raw, chunk);
    const { batches, error } = await drain(peer, "the batch, then the protocol error");
    assert.deepEqual(batches, [["before the bad header"]]);
    assert.ok(error instanceof ProtocolError, `got ${error}`);
    assert.match(error.message, /1025 bytes, the limit is 1024 bytes/);
    // The server closed the connection.
    await within(readToEnd(raw), WAIT_MS, "the server to close the connection");
    await peer.close();
  } finally {
    raw.close();
  }
});

// ---------------------------------------------------------------------------
// Gap 2: the per-frame read deadline.

Deno.test("socket: a peer dripping one frame byte by byte gets ProtocolError and is closed at the frame deadline", async () => {
  await using server = await listenSocket({ codec: jsonCodec, frameTimeout: 100 });
  const raw = await rawClient(server.addr.path, "json");
  try {
    const peer = await within(server.accept(), WAIT_MS, "the raw client to be accepted");
    const draining = drain(peer, "the frame deadline to fail receive()");
    const bytes = jsonFrame(["never finished"]);
    // Drip the frame one byte per read the server takes, and stop one byte short.
    let dripped = 0;
    const closed = readToEnd(raw);
    const dripping = (async () => {
      try {
        while (dripped < bytes.length - 1) {
          await raw.write(bytes.subarray(dripped, dripped + 1));
          dripped++;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      } catch {
        // The server hung up: that is the point.
      }
    })();
    const { batches, error } = await draining;
    assert.deepEqual(batches, []);
    assert.ok(error instanceof ProtocolError, `got ${error}`);
    assert.match(error.message, /read deadline \(100 ms/);
    await within(closed, WAIT_MS, "the server to close the connection");
    await within(dripping, WAIT_MS, "the drip to stop");
    await peer.close();
  } finally {
    raw.close();
  }
});

Deno.test("socket: the frame deadline spares an idle connection and a large frame that keeps coming", async () => {
  await using server = await listenSocket({ frameTimeout: 20 });
  const client = await dialSocket({ path: server.addr.path, frameTimeout: 20 });
  const peer = await within(server.accept(), WAIT_MS, "the client to be accepted");
  try {
    const iterator = peer.receive()[Symbol.asyncIterator]();
    // 48 MiB takes far longer than 20 ms to cross, but it keeps coming.
    const large = new Uint8Array(48 * 1024 * 1024).fill(7);
    const sent = client.send([large]);
    const first = await within(iterator.next(), WAIT_MS, "the large batch");
    assert.equal(first.done, false);
    assert.equal((first.value as Uint8Array[])[0]!.length, large.length);
    await sent;
    // Idle well past the deadline (between frames there is none), then talk again.
    const idle = new Promise((resolve) => setTimeout(resolve, 100));
    await idle;
    client.send(["still here"]);
    const second = await within(iterator.next(), WAIT_MS, "the batch after the idle time");
    assert.deepEqual(second.value, ["still here"]);
  } finally {
    await client.close();
    await peer.close();
  }
});

Deno.test("socket: frameTimeout is validated like handshakeTimeout", async () => {
  for (const frameTimeout of [0, -1, Infinity, Number.NaN, "5" as unknown as number]) {
    await assert.rejects(
      listenSocket({ frameTimeout }),
      (error: unknown) =>
        error instanceof RangeError &&
        /frameTimeout must be a positive number of milliseconds/.test(error.message),
    );
  }
});

Deno.test("FrameDeadline: a frame gets its timeout plus one second per 64 KiB that arrived; paused time is not counted", () => {
  let now = 1000;
  const expired: ProtocolError[] = [];
  const deadline = new FrameDeadline(500, (error) => expired.push(error), () => now);
  try {
    assert.equal(deadline.remaining(), Infinity, "no deadline between frames");
    deadline.update(10, false);
    assert.equal(deadline.remaining(), 500 + 10 * 1000 / FRAME_MIN_BYTES_PER_SECOND);
    now += 400;
    deadline.update(FRAME_MIN_BYTES_PER_SECOND, false);
    // Started at 1000: 500 ms, plus a second for the 64 KiB that arrived.
    assert.equal(deadline.remaining(), 1100);
    deadline.pause();
    now += 5000;
    assert.equal(deadline.remaining(), 1100, "the clock stops while paused");
    deadline.resume();
    now += 100;
    assert.equal(deadline.remaining(), 1000);
    // A completed frame with a new one started in the same chunk: a fresh deadline.
    deadline.update(1, true);
    assert.equal(deadline.remaining(), 500 + 1000 / FRAME_MIN_BYTES_PER_SECOND);
    deadline.update(0, true);
    assert.equal(deadline.remaining(), Infinity);
    assert.deepEqual(expired, []);
  } finally {
    deadline.stop();
  }
});

// ---------------------------------------------------------------------------
// Gap 1, the log: a flood of bad connections does not flood the log.

Deno.test("socket: the default onRejected logs at most one line a second", async () => {
  const lines: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void lines.push(args.join(" "));
  try {
    await using server = await listenSocket();
    const started = performance.now();
    for (let i = 0; i < 5; i++) {
      const raw = await Deno.connect({ transport: "unix", path: server.addr.path });
      try {
        await readJsonFrame(raw);
        // A length prefix over the 4 KiB handshake limit: dropped at once.
        await writeAll(raw, new Uint8Array([0xff, 0xff, 0, 0]));
        // The server reports the drop before this end sees the connection close.
        await within(readToEnd(raw), WAIT_MS, "the server to drop the peer");
      } finally {
        raw.close();
      }
    }
    const elapsed = performance.now() - started;
    assert.ok(lines.length >= 1, "the first drop is logged");
    assert.match(lines[0]!, /dropped a connection from .* during the handshake: ProtocolError/);
    assert.ok(
      lines.length <= 1 + Math.floor(elapsed / 1000),
      `${lines.length} lines for 5 drops in ${elapsed.toFixed(0)} ms`,
    );
  } finally {
    console.warn = warn;
  }
});

Deno.test("socket: maxPendingHandshakes must be a positive integer", async () => {
  for (const maxPendingHandshakes of [0, -1, 1.5, Infinity, "8" as unknown as number]) {
    await assert.rejects(
      listenSocket({ maxPendingHandshakes }),
      (error: unknown) =>
        error instanceof RangeError &&
        /maxPendingHandshakes must be a positive integer/.test(error.message),
    );
  }
});
