/**
 * The `socket` transport beyond the conformance suite: socket files and their
 * modes, stale socket recovery, loopback binding, authentication and its
 * failures, handshake limits, real `deno run` peers and connection loss.
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { AuthenticationError, ConnectionClosedError, ProtocolError } from "../internal/errors.ts";
import { dialSocket } from "../transports/socket/dial.ts";
import { listenSocket } from "../transports/socket/server.ts";
import { socketTransport } from "../transports/socket/socket.ts";
import type {
  DialSocketOptions,
  SocketConnectOptions,
  SocketRejection,
} from "../transports/socket/options.ts";
import type { Transport } from "../transports/transport.ts";
import { type Codec, jsonCodec } from "../transports/codec.ts";
import { drain, within } from "./_helpers.ts";

/** The bound on any single wait. */
const WAIT_MS = 10_000;
const SECRET = "a shared secret for the tests";
const WRONG_SECRET = "not the shared secret at all";
const PROTOCOL = "troupe-socket/1";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function noop(): void {}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

function frame(body: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(4 + body.length);
  new DataView(bytes.buffer).setUint32(0, body.length, true);
  bytes.set(body, 4);
  return bytes;
}

function jsonFrame(message: unknown): Uint8Array {
  return frame(encoder.encode(JSON.stringify(message)));
}

/** Reads exactly `length` bytes; `null` when the stream ends or resets first. */
async function readExact(conn: Deno.Conn, length: number): Promise<Uint8Array | null> {
  const bytes = new Uint8Array(length);
  let filled = 0;
  try {
    while (filled < length) {
      const count = await conn.read(bytes.subarray(filled));
      if (count === null) return null;
      filled += count;
    }
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionReset) return null;
    throw error;
  }
  return bytes;
}

/** Reads one handshake frame as JSON; `null` when the stream ends first. */
async function readJsonFrame(conn: Deno.Conn): Promise<Record<string, unknown> | null> {
  const prefix = await readExact(conn, 4);
  if (prefix === null) return null;
  const body = await readExact(conn, new DataView(prefix.buffer).getUint32(0, true));
  return body === null ? null : JSON.parse(decoder.decode(body));
}

/** Resolves once the connection's stream has ended (EOF or reset), draining what is left. */
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

function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function closeQuietly(closer: { close(): void }): void {
  try {
    closer.close();
  } catch {
    // Closed already.
  }
}

/** Collects rejections; `next()` resolves with the next one not yet taken. */
class Rejections {
  readonly seen: SocketRejection[] = [];
  #taken = 0;
  #waiter: PromiseWithResolvers<SocketRejection> | undefined;

  readonly onRejected = (rejection: SocketRejection): void => {
    this.seen.push(rejection);
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      waiter.resolve(this.seen[this.#taken++]!);
    }
  };

  next(): Promise<SocketRejection> {
    if (this.#taken < this.seen.length) return Promise.resolve(this.seen[this.#taken++]!);
    this.#waiter = Promise.withResolvers<SocketRejection>();
    return within(this.#waiter.promise, WAIT_MS, "a rejection to be reported");
  }
}

async function firstBatch(transport: Transport, what: string): Promise<unknown[]> {
  const iterator = transport.receive()[Symbol.asyncIterator]();
  const result = await within(iterator.next(), WAIT_MS, what);
  assert.equal(result.done, false, `expected ${what}, but the stream ended`);
  return result.value as unknown[];
}

/** Proves the first connection a server hands out is a good client, not a dropped one. */
async function assertNextAcceptedIsGood(
  accept: () => Promise<Transport>,
  dial: () => Promise<Transport>,
): Promise<void> {
  const client = await within(dial(), WAIT_MS, "a good client to dial");
  client.send(["good"]);
  const peer = await within(accept(), WAIT_MS, "the good client to be accepted");
  try {
    assert.deepEqual(await firstBatch(peer, "the good client's batch"), ["good"]);
  } finally {
    await client.close();
    await peer.close();
  }
}

function childEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const name of ["DENO_DIR", "HOME", "XDG_CACHE_HOME", "TMPDIR", "PATH"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Starts `deno run` on a fixture with an explicit, narrow permission list and no inherited secrets. */
function spawnFixture(
  fixture: string,
  permissions: string[],
  options: { args?: string[]; stdin?: "piped" | "null"; stdout?: "piped" | "null" } = {},
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      ...permissions,
      new URL(`./fixtures/${fixture}`, import.meta.url).href,
      ...(options.args ?? []),
    ],
    clearEnv: true,
    env: childEnv(),
    stdin: options.stdin ?? "piped",
    stdout: options.stdout ?? "null",
    stderr: "inherit",
  }).spawn();
}

/** The narrowest flags that let a child dial a Unix socket: read, write and net on its path. */
function unixPermissions(path: string): string[] {
  return [`--allow-read=${path}`, `--allow-write=${path}`, `--allow-net=unix:${path}`];
}

/** Starts the echo client fixture and hands it its configuration (and secret) on stdin. */
async function spawnEchoClient(
  config: { dial: DialSocketOptions } | { connect: SocketConnectOptions },
  permissions: string[],
): Promise<Deno.ChildProcess> {
  const child = spawnFixture("socket_echo_client.ts", permissions);
  const stdin = child.stdin.getWriter();
  await stdin.write(encoder.encode(JSON.stringify(config) + "\n"));
  await stdin.close();
  return child;
}

async function killAndReap(child: Deno.ChildProcess): Promise<Deno.CommandStatus> {
  try {
    child.kill("SIGKILL");
  } catch {
    // Exited already.
  }
  return await child.status;
}

// ---------------------------------------------------------------------------
// Socket files.

Deno.test("listenSocket() puts its socket, mode 0600, in a fresh 0700 directory and removes both on close", async () => {
  const server = await listenSocket();
  const path = server.addr.path;
  const dir = dirname(path);
  try {
    assert.equal(server.addr.transport, "unix");
    assert.equal(server.authenticates, false);
    const dirInfo = await Deno.stat(dir);
    const socketInfo = await Deno.lstat(path);
    assert.equal(dirInfo.mode! & 0o777, 0o700);
    assert.ok(socketInfo.isSocket);
    assert.equal(socketInfo.mode! & 0o777, 0o600);
  } finally {
    await server.close();
  }
  await assert.rejects(Deno.lstat(path), Deno.errors.NotFound);
  await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
  await server.close();
});

Deno.test("socketTransport() listens in a private directory that is removed once the actor connected", async () => {
  const link = await socketTransport().open("worker");
  const options = link.remote.options as SocketConnectOptions & { path: string };
  assert.equal(options.transport, "unix");
  assert.equal(link.remote.module, new URL("../transports/socket/socket.ts", import.meta.url).href);
  assert.deepEqual(link.remote.transfer, []);
  assert.equal(structuredClone(options).path, options.path);
  const dir = dirname(options.path);
  assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
  assert.equal((await Deno.lstat(options.path)).mode! & 0o777, 0o600);
  const { connect } = await import(link.remote.module);
  const actor: Transport = await within(connect(options), WAIT_MS, "the actor to connect");
  try {
    // A round trip proves the parent's end took the connection, which closed the listener.
    actor.send(["hello"]);
    assert.deepEqual(await firstBatch(link.local, "the actor's batch"), ["hello"]);
    await assert.rejects(Deno.lstat(options.path), Deno.errors.NotFound);
    await assert.rejects(connect(options), Deno.errors.NotFound);
  } finally {
    await link.local.close();
    await actor.close();
  }
  await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
});

Deno.test("socketTransport() removes the listener's directory when the parent closes before the actor connects", async () => {
  const link = await socketTransport().open("process");
  const { path } = link.remote.options as { path: string };
  const receiving = drain(link.local, "receive() to end");
  await link.local.close();
  assert.deepEqual(await receiving, { batches: [] });
  await assert.rejects(Deno.stat(dirname(path)), Deno.errors.NotFound);
  assert.throws(() => link.local.send(["late"]), ConnectionClosedError);
});

Deno.test("listenSocket({ path }) recovers a stale socket left by a killed process", async () => {
  const dir = await Deno.makeTempDir({ prefix: "troupe-test-" });
  const path = join(dir, "app.sock");
  try {
    const child = spawnFixture("socket_stale_child.ts", unixPermissions(path), {
      args: [path],
      stdin: "null",
      stdout: "piped",
    });
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      const first = await within(reader.read(), WAIT_MS, "the child to listen");
      assert.equal(first.value?.trim(), "listening");
    } finally {
      await reader.cancel();
    }
    const status = await killAndReap(child);
    assert.equal(status.signal, "SIGKILL");
    assert.ok((await Deno.lstat(path)).isSocket, "SIGKILL leaves the socket file behind");
    await assert.rejects(Deno.connect({ transport: "unix", path }), Deno.errors.ConnectionRefused);

    const rejections = new Rejections();
    const server = await listenSocket({ path, onRejected: rejections.onRejected });
    try {
      assert.equal(server.addr.path, path);
      assert.equal(server.authenticates, false, "the test's temporary directory is private");
      assert.equal((await Deno.lstat(path)).mode! & 0o777, 0o600);
      // A live socket is not taken over; its server sees the probe hang up.
      await assert.rejects(listenSocket({ path }), Deno.errors.AddrInUse);
      assert.ok((await rejections.next()).error instanceof ConnectionClosedError);
      await assertNextAcceptedIsGood(() => server.accept(), () => dialSocket({ path }));
    } finally {
      await server.close();
    }
    await assert.rejects(Deno.lstat(path), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("listenSocket({ path }) refuses a path that is not a socket and leaves it alone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "troupe-test-" });
  try {
    const path = join(dir, "notes.txt");
    await Deno.writeTextFile(path, "keep me");
    await assert.rejects(listenSocket({ path }), Deno.errors.AddrInUse);
    assert.equal(await Deno.readTextFile(path), "keep me");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("listenSocket({ path }) requires a secret when other users can enter the directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "troupe-test-" });
  try {
    await Deno.chmod(dir, 0o755);
    const path = join(dir, "open.sock");
    await assert.rejects(listenSocket({ path }), (error: unknown) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /secret is required/);
      return true;
    });
    await assert.rejects(Deno.lstat(path), Deno.errors.NotFound, "the refused socket is removed");
    await using server = await listenSocket({ path, secret: SECRET, onRejected: noop });
    assert.equal(server.authenticates, true);
    await assert.rejects(dialSocket({ path }), AuthenticationError);
    await assertNextAcceptedIsGood(
      () => server.accept(),
      () => dialSocket({ path, secret: SECRET }),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------
// TCP and authentication.

Deno.test("TCP listens on 127.0.0.1 by default and requires a secret", async () => {
  await using server = await listenSocket({ port: 0, secret: SECRET });
  assert.equal(server.addr.transport, "tcp");
  assert.equal(server.addr.hostname, "127.0.0.1");
  assert.ok(server.addr.port > 0);
  assert.equal(server.authenticates, true);
  await assert.rejects(
    listenSocket({ port: 0 } as unknown as { port: number; secret: string }),
    TypeError,
  );
  await assert.rejects(
    dialSocket({ port: server.addr.port } as unknown as DialSocketOptions),
    TypeError,
  );

  const link = await socketTransport({ tcp: {} }).open("worker");
  try {
    const options = link.remote.options as SocketConnectOptions & { hostname: string };
    assert.equal(options.transport, "tcp");
    assert.equal(options.hostname, "127.0.0.1");
    assert.equal(typeof (options as { secret: unknown }).secret, "string");
  } finally {
    await link.local.close();
  }
});

Deno.test("a client with the wrong secret is dropped, reported and gets no message in", async () => {
  const rejections = new Rejections();
  await using server = await listenSocket({
    port: 0,
    secret: SECRET,
    onRejected: rejections.onRejected,
  });
  const { port } = server.addr;

  await assert.rejects(dialSocket({ port, secret: WRONG_SECRET }), (error: unknown) => {
    assert.ok(error instanceof AuthenticationError, `got ${error}`);
    assert.match(error.message, /refused/);
    return true;
  });
  const first = await rejections.next();
  assert.ok(first.error instanceof AuthenticationError);
  assert.equal((first.remoteAddr as Deno.NetAddr).hostname, "127.0.0.1");

  // A raw peer sends a forged proof and a data frame right behind it.
  const raw = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const hello = await within(readJsonFrame(raw), WAIT_MS, "the server's hello");
    assert.equal(hello?.auth, "hmac-sha256");
    const forged = jsonFrame({
      protocol: PROTOCOL,
      codec: "v8",
      nonce: base64(new Uint8Array(32)),
      proof: base64(new Uint8Array(32).fill(7)),
    });
    const smuggled = frame(new Uint8Array([0xff, 0x0f, 0x41, 0x01, 0x22, 0x04, 0x65, 0x76, 0x69]));
    await writeAll(raw, new Uint8Array([...forged, ...smuggled]));
    const verdict = await within(readJsonFrame(raw), WAIT_MS, "the server's verdict");
    assert.deepEqual(verdict, {
      ok: false,
      reason: "authentication",
      error: "authentication failed",
    });
    await within(readToEnd(raw), WAIT_MS, "the server to drop the raw peer");
  } finally {
    closeQuietly(raw);
  }
  const second = await rejections.next();
  assert.ok(second.error instanceof AuthenticationError);

  await assertNextAcceptedIsGood(
    () => server.accept(),
    () => dialSocket({ port, secret: SECRET }),
  );
  assert.equal(rejections.seen.length, 2);
});

Deno.test("a client without a secret is refused by a server that requires one", async () => {
  const rejections = new Rejections();
  await using server = await listenSocket({
    port: 0,
    secret: SECRET,
    onRejected: rejections.onRejected,
  });
  const raw = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  try {
    await within(readJsonFrame(raw), WAIT_MS, "the server's hello");
    await writeAll(raw, jsonFrame({ protocol: PROTOCOL, codec: "v8" }));
    const verdict = await within(readJsonFrame(raw), WAIT_MS, "the server's verdict");
    assert.equal(verdict?.ok, false);
  } finally {
    closeQuietly(raw);
  }
  assert.ok((await rejections.next()).error instanceof AuthenticationError);
});

Deno.test("a client with a secret refuses a server that cannot prove it knows the secret", async () => {
  // An impostor: it asks for a proof, then claims success with a made-up proof of its own.
  const impostor = Deno.listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    const conn = await impostor.accept();
    try {
      await writeAll(
        conn,
        jsonFrame({
          protocol: PROTOCOL,
          codec: "v8",
          auth: "hmac-sha256",
          nonce: base64(crypto.getRandomValues(new Uint8Array(32))),
        }),
      );
      const answer = await readJsonFrame(conn);
      assert.equal(typeof answer?.proof, "string");
      await writeAll(conn, jsonFrame({ ok: true, proof: base64(new Uint8Array(32)) }));
      await readToEnd(conn);
    } finally {
      closeQuietly(conn);
    }
  })();
  try {
    const { port } = impostor.addr as Deno.NetAddr;
    await assert.rejects(dialSocket({ port, secret: SECRET }), (error: unknown) => {
      assert.ok(error instanceof AuthenticationError, `got ${error}`);
      assert.match(error.message, /server's proof/);
      return true;
    });
    await within(serving, WAIT_MS, "the impostor to see the client go");
  } finally {
    impostor.close();
  }

  // Nor does it talk to a Unix server that does not authenticate at all.
  await using open = await listenSocket({ onRejected: noop });
  await assert.rejects(dialSocket({ path: open.addr.path, secret: SECRET }), AuthenticationError);
});

Deno.test("a peer that never completes the handshake is dropped after the deadline", async () => {
  const rejections = new Rejections();
  await using server = await listenSocket({
    port: 0,
    secret: SECRET,
    handshakeTimeout: 200,
    onRejected: rejections.onRejected,
  });
  const raw = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  try {
    const started = performance.now();
    assert.equal((await readJsonFrame(raw))?.protocol, PROTOCOL);
    // Say nothing; the server must hang up on its own.
    await within(readToEnd(raw), WAIT_MS, "the server to drop the silent peer");
    assert.ok(performance.now() - started >= 150, "dropped by the deadline, not before");
  } finally {
    closeQuietly(raw);
  }
  const rejection = await rejections.next();
  assert.ok(rejection.error instanceof DOMException);
  assert.equal(rejection.error.name, "TimeoutError");
  await assertNextAcceptedIsGood(
    () => server.accept(),
    () => dialSocket({ port: server.addr.port, secret: SECRET }),
  );
});

Deno.test("dialSocket() gives up on a server that never answers after the handshake timeout", async () => {
  const mute = Deno.listen({ transport: "tcp", hostname: "127.0.0.1", port: 0 });
  const accepted = mute.accept();
  try {
    await assert.rejects(
      dialSocket({
        port: (mute.addr as Deno.NetAddr).port,
        secret: SECRET,
        handshakeTimeout: 100,
      }),
      (error: unknown) => error instanceof DOMException && error.name === "TimeoutError",
    );
    const abort = new AbortController();
    const dialling = dialSocket({
      port: (mute.addr as Deno.NetAddr).port,
      secret: SECRET,
      signal: abort.signal,
    });
    const reason = new Error("changed my mind");
    abort.abort(reason);
    await assert.rejects(dialling, (error: unknown) => error === reason);
  } finally {
    mute.close();
    closeQuietly(await accepted);
  }
});

Deno.test("an oversized frame before authentication drops the peer at once", async () => {
  const rejections = new Rejections();
  await using server = await listenSocket({
    port: 0,
    secret: SECRET,
    handshakeTimeout: 60_000,
    onRejected: rejections.onRejected,
  });
  const raw = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  try {
    await within(readJsonFrame(raw), WAIT_MS, "the server's hello");
    // Only the length prefix: 4097 bytes, one over the pre-authentication limit.
    const prefix = new Uint8Array(4);
    new DataView(prefix.buffer).setUint32(0, 4097, true);
    await writeAll(raw, prefix);
    // The deadline is a minute away: only the size check can end this in time.
    await within(readToEnd(raw), WAIT_MS, "the server to drop the peer");
  } finally {
    closeQuietly(raw);
  }
  const rejection = await rejections.next();
  assert.ok(rejection.error instanceof ProtocolError, `got ${rejection.error}`);
  assert.match(rejection.error.message, /4097-byte frame.*limit is 4096/);
});

Deno.test("both ends must use the same codec", async () => {
  const rejections = new Rejections();
  await using server = await listenSocket({ onRejected: rejections.onRejected });
  await assert.rejects(
    dialSocket({ path: server.addr.path, codec: jsonCodec }),
    (error: unknown) => error instanceof ProtocolError && /"v8" codec/.test(error.message),
  );
  assert.ok((await rejections.next()).error instanceof ConnectionClosedError);
});

// ---------------------------------------------------------------------------
// The server.

Deno.test("SocketServer: accept() honours its signal; close() drops connections nobody accepted", async () => {
  const server = await listenSocket();
  const abort = new AbortController();
  const waiting = server.accept({ signal: abort.signal });
  abort.abort(new Error("stop waiting"));
  await assert.rejects(waiting, /stop waiting/);

  // Authenticated, but never accepted: close() must close it.
  const orphan = await dialSocket({ path: server.addr.path });
  await server.close();
  await assert.rejects(server.accept(), TypeError);
  assert.deepEqual(await drain(orphan, "the orphan's receive() to end"), { batches: [] });
  assert.throws(() => orphan.send(["anyone?"]), ConnectionClosedError);
  await orphan.close();
});

Deno.test("SocketServer: iteration yields authenticated connections and ends on close()", async () => {
  const server = await listenSocket();
  const first = Promise.withResolvers<void>();
  const iterating = (async () => {
    const peers: Transport[] = [];
    for await (const peer of server) {
      peers.push(peer);
      first.resolve();
    }
    return peers;
  })();
  const client = await dialSocket({ path: server.addr.path });
  await within(first.promise, WAIT_MS, "iteration to yield the client");
  const pending = assert.rejects(server.accept(), TypeError);
  await server.close();
  const peers = await within(iterating, WAIT_MS, "iteration to end");
  assert.equal(peers.length, 1);
  await pending;
  client.send(["still connected"]);
  assert.deepEqual(await firstBatch(peers[0]!, "the client's batch"), ["still connected"]);
  await client.close();
  await peers[0]!.close();
});

Deno.test("socket options are validated with messages that say what failed", async () => {
  await assert.rejects(listenSocket({ port: 0, secret: "short" }), (error: unknown) => {
    assert.ok(error instanceof RangeError);
    assert.match(error.message, /secret must be at least 16 bytes, received 5 bytes/);
    return true;
  });
  await assert.rejects(listenSocket({ port: 70_000, secret: SECRET }), RangeError);
  await assert.rejects(listenSocket({ path: "" }), TypeError);
  await assert.rejects(
    dialSocket({ path: "/tmp/x.sock", port: 1, secret: SECRET } as unknown as DialSocketOptions),
    /either path .* or port and hostname/,
  );
  await assert.rejects(listenSocket({ handshakeTimeout: 0 }), RangeError);
  await assert.rejects(listenSocket({ maxFrameBytes: 0 }), RangeError);
  await assert.rejects(dialSocket({ path: "/nonexistent/troupe.sock" }), Deno.errors.NotFound);
  assert.throws(
    () =>
      socketTransport({ codec: { name: "x", encode: () => new Uint8Array(), decode: () => [] } }),
    TypeError,
  );
  assert.throws(() => socketTransport({ tcp: { port: -1 } }), RangeError);
  await assert.rejects(
    socketTransport().open("browser" as "worker"),
    TypeError,
  );
});

// ---------------------------------------------------------------------------
// The factory's parent end.

Deno.test("socketTransport(): sends before the actor connects are queued in order, with backpressure", async () => {
  const link = await socketTransport().open("worker");
  const chunk = new Uint8Array(256 * 1024);
  const rooms: (void | Promise<void>)[] = [];
  for (let i = 0; i < 6; i++) rooms.push(link.local.send([i, chunk]));
  assert.equal(rooms.slice(0, 3).every((room) => room === undefined), true);
  const waits = rooms.filter((room) => room !== undefined);
  assert.ok(waits.length > 0, "1 MiB queued asks the sender to wait");
  let released = false;
  Promise.all(waits).then(() => released = true);
  assert.throws(() => link.local.send([() => 1]), "an unencodable batch throws at once");
  assert.equal(link.local.stats().messagesSent, 12);

  const { connect } = await import(link.remote.module);
  const actor: Transport = await within(connect(link.remote.options), WAIT_MS, "the actor");
  try {
    await within(Promise.all(waits), WAIT_MS, "the queue to drain");
    assert.ok(released);
    const iterator = actor.receive()[Symbol.asyncIterator]();
    for (let i = 0; i < 6; i++) {
      const result = await within(iterator.next(), WAIT_MS, `batch ${i}`);
      assert.equal((result.value as unknown[])[0], i);
    }
    link.local.send(["after"]);
    assert.deepEqual((await within(iterator.next(), WAIT_MS, "the last batch")).value, ["after"]);
  } finally {
    await link.local.close();
    await actor.close();
  }
});

Deno.test("socketTransport(): batches queued before the actor connects are copied and decode as sent", async () => {
  const link = await socketTransport().open("worker");
  const bytes = new Uint8Array([1, 2, 3]);
  const plain = { id: 1, list: ["a"] };
  const batches: unknown[][] = [[plain], [bytes, { nested: bytes }], [
    new Map([[1, 2n]]),
    new Date(0),
  ]];
  for (const batch of batches) link.local.send(batch);
  bytes.fill(0);
  plain.list.push("changed");
  const { connect } = await import(link.remote.module);
  const actor: Transport = await within(connect(link.remote.options), WAIT_MS, "the actor");
  try {
    const iterator = actor.receive()[Symbol.asyncIterator]();
    const expected = [
      [{ id: 1, list: ["a"] }],
      [new Uint8Array([1, 2, 3]), { nested: new Uint8Array([1, 2, 3]) }],
      [new Map([[1, 2n]]), new Date(0)],
    ];
    for (const [i, batch] of expected.entries()) {
      assert.deepEqual((await within(iterator.next(), WAIT_MS, `batch ${i}`)).value, batch);
    }
  } finally {
    await link.local.close();
    await actor.close();
  }
});

Deno.test("a custom codec is used as given on both ends of a socket", async () => {
  const calls = { encode: 0, decode: 0 };
  const lines: Codec = {
    name: "lines",
    encode(batch) {
      calls.encode++;
      return encoder.encode(batch.join("\n"));
    },
    decode(bytes) {
      calls.decode++;
      return decoder.decode(bytes).split("\n");
    },
  };
  await using server = await listenSocket({ codec: lines });
  const client = await dialSocket({ path: server.addr.path, codec: lines });
  const peer = await within(server.accept(), WAIT_MS, "the client");
  try {
    client.send(["[not json", "B", "\u00ff"]);
    const iterator = peer.receive()[Symbol.asyncIterator]();
    assert.deepEqual((await within(iterator.next(), WAIT_MS, "the batch")).value, [
      "[not json",
      "B",
      "\u00ff",
    ]);
    assert.deepEqual(calls, { encode: 1, decode: 1 });
  } finally {
    await client.close();
    await peer.close();
  }
});

// ---------------------------------------------------------------------------
// Real processes.

async function echoRoundTrip(peer: Transport): Promise<AsyncIterator<unknown[]>> {
  const iterator = peer.receive()[Symbol.asyncIterator]();
  const values = [{ id: 1, op: "inc", n: 2 }, new Map([["k", 3n]]), new Uint8Array([1, 2, 3])];
  peer.send(values);
  peer.send(["second"]);
  assert.deepEqual((await within(iterator.next(), WAIT_MS, "the echo")).value, values);
  assert.deepEqual((await within(iterator.next(), WAIT_MS, "the 2nd echo")).value, ["second"]);
  return iterator;
}

Deno.test("a deno run client talks to a server over a Unix socket", async () => {
  await using server = await listenSocket();
  const child = await spawnEchoClient(
    { dial: { path: server.addr.path } },
    unixPermissions(server.addr.path),
  );
  try {
    const peer = await within(server.accept(), WAIT_MS, "the child to connect");
    try {
      const iterator = await echoRoundTrip(peer);
      await peer.close();
      assert.equal((await within(iterator.next(), WAIT_MS, "the end")).done, true);
    } finally {
      await peer.close();
    }
    const status = await within(child.status, WAIT_MS, "the child to exit");
    assert.equal(status.code, 0);
  } finally {
    await killAndReap(child);
  }
});

Deno.test("a deno run client talks to a server over TCP with a secret", async () => {
  const rejections = new Rejections();
  await using server = await listenSocket({
    port: 0,
    secret: SECRET,
    onRejected: rejections.onRejected,
  });
  const { port } = server.addr;
  const child = await spawnEchoClient(
    { dial: { port, secret: SECRET } },
    [`--allow-net=127.0.0.1:${port}`],
  );
  try {
    const peer = await within(server.accept(), WAIT_MS, "the child to connect");
    try {
      await echoRoundTrip(peer);
    } finally {
      await peer.close();
    }
    assert.equal((await within(child.status, WAIT_MS, "the child to exit")).code, 0);
  } finally {
    await killAndReap(child);
  }
  assert.equal(rejections.seen.length, 0);
});

Deno.test("a deno run actor opens the end a socketTransport() link describes, over Unix and TCP", async () => {
  for (const factory of [socketTransport(), socketTransport({ tcp: {} })]) {
    const link = await factory.open("process");
    const options = link.remote.options as SocketConnectOptions;
    const permissions = options.transport === "unix"
      ? unixPermissions(options.path)
      : [`--allow-net=${options.hostname}:${options.port}`];
    link.local.send(["sent before the actor connected"]);
    const child = await spawnEchoClient({ connect: options }, permissions);
    try {
      const iterator = link.local.receive()[Symbol.asyncIterator]();
      const first = await within(iterator.next(), WAIT_MS, `the ${options.transport} echo`);
      assert.deepEqual(first.value, ["sent before the actor connected"]);
      await link.local.close();
      assert.equal((await within(child.status, WAIT_MS, "the child to exit")).code, 0);
    } finally {
      await link.local.close();
      await killAndReap(child);
    }
  }
});

/** A client in Python that follows the documented wire protocol with the JSON codec, over TCP. */
const PYTHON_CLIENT = `
import base64, hashlib, hmac, json, os, socket, struct, sys
secret = os.environ["TROUPE_SECRET"].encode()
conn = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
def read_exact(n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk: raise EOFError("closed")
        data += chunk
    return data
def read_frame():
    (length,) = struct.unpack("<I", read_exact(4))
    return json.loads(read_exact(length))
def write_frame(value):
    body = json.dumps(value).encode()
    conn.sendall(struct.pack("<I", len(body)) + body)
def mac(label, first, second):
    return hmac.new(secret, label + first + second, hashlib.sha256).digest()
hello = read_frame()
assert hello["protocol"] == "troupe-socket/1" and hello["auth"] == "hmac-sha256", hello
server_nonce = base64.b64decode(hello["nonce"])
client_nonce = os.urandom(32)
proof = mac(b"troupe-socket/1 client\\0", server_nonce, client_nonce)
write_frame({"protocol": "troupe-socket/1", "codec": "json",
             "nonce": base64.b64encode(client_nonce).decode(), "proof": base64.b64encode(proof).decode()})
verdict = read_frame()
assert verdict["ok"] is True, verdict
expected = mac(b"troupe-socket/1 server\\0", client_nonce, server_nonce)
assert hmac.compare_digest(base64.b64decode(verdict["proof"]), expected), "server proof"
write_frame([{"hello": "from python"}])
write_frame(read_frame())
conn.close()
`;

Deno.test({
  name: "a Python client speaks the documented wire protocol with the JSON codec",
  ignore: Deno.build.os === "windows",
  async fn() {
    let python: Deno.ChildProcess;
    await using server = await listenSocket({ port: 0, secret: SECRET, codec: jsonCodec });
    try {
      python = new Deno.Command("python3", {
        args: ["-c", PYTHON_CLIENT, String(server.addr.port)],
        clearEnv: true,
        env: { TROUPE_SECRET: SECRET, PATH: Deno.env.get("PATH") ?? "" },
        stdin: "null",
        stdout: "null",
        stderr: "inherit",
      }).spawn();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return; // No python3 here: nothing to prove.
      throw error;
    }
    try {
      const peer = await within(server.accept(), WAIT_MS, "the Python client to connect");
      try {
        const iterator = peer.receive()[Symbol.asyncIterator]();
        const first = await within(iterator.next(), WAIT_MS, "the Python client's batch");
        assert.deepEqual(first.value, [{ hello: "from python" }]);
        peer.send([{ n: 1, list: [true, null, "é"] }]);
        const echo = await within(iterator.next(), WAIT_MS, "the Python echo");
        assert.deepEqual(echo.value, [{ n: 1, list: [true, null, "é"] }]);
        assert.equal((await within(iterator.next(), WAIT_MS, "the end")).done, true);
      } finally {
        await peer.close();
      }
      assert.equal((await within(python.status, WAIT_MS, "python to exit")).code, 0);
    } finally {
      await killAndReap(python);
    }
  },
});

Deno.test("killing the peer's process ends receive() and makes send() throw ConnectionClosedError", async () => {
  for (const kind of ["unix", "tcp"] as const) {
    await using server = kind === "unix"
      ? await listenSocket()
      : await listenSocket({ port: 0, secret: SECRET });
    const child = kind === "unix"
      ? await spawnEchoClient(
        { dial: { path: (server.addr as Deno.UnixAddr).path } },
        unixPermissions((server.addr as Deno.UnixAddr).path),
      )
      : await spawnEchoClient(
        { dial: { port: (server.addr as Deno.NetAddr).port, secret: SECRET } },
        [`--allow-net=127.0.0.1:${(server.addr as Deno.NetAddr).port}`],
      );
    let peer: Transport | undefined;
    try {
      peer = await within(server.accept(), WAIT_MS, "the child to connect");
      const iterator = await echoRoundTrip(peer);
      const status = await killAndReap(child);
      assert.equal(status.signal, "SIGKILL");
      let error: unknown;
      try {
        const result = await within(iterator.next(), WAIT_MS, `${kind}: receive() to notice`);
        assert.equal(result.done, true);
      } catch (thrown) {
        error = thrown;
      }
      if (error !== undefined) assert.ok(error instanceof ProtocolError, `${kind}: got ${error}`);
      assert.throws(() => peer!.send(["anyone there?"]), (thrown: unknown) => {
        assert.ok(thrown instanceof ConnectionClosedError, `${kind}: got ${thrown}`);
        assert.equal(thrown.closedBy, "peer");
        return true;
      });
    } finally {
      await peer?.close();
      await killAndReap(child);
    }
  }
});
