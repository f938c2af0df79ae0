/**
 * The `socket` transport under a flood of unauthenticated connections: an
 * attacker process keeps 1000 idle or byte-dripping connections open and
 * reconnects each one the server drops, and a legitimate client must still
 * get in and be served while it does.
 */

import assert from "node:assert/strict";
import { dialSocket } from "../transports/socket/dial.ts";
import { listenSocket, type SocketServer } from "../transports/socket/server.ts";
import type { DialSocketOptions, SocketRejection } from "../transports/socket/options.ts";
import type { Transport } from "../transports/transport.ts";
import { within } from "./_helpers.ts";

const WAIT_MS = 15_000;
const SECRET = "a shared secret for the flood tests";
const FLOOD = 1000;
/** Legitimate dial-and-ask rounds during each flood. */
const ROUNDS = 20;
const encoder = new TextEncoder();

/** Reads a child's stdout line by line. */
class Lines {
  readonly #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }

  async next(): Promise<string> {
    while (!this.#buffer.includes("\n")) {
      const { done, value } = await this.#reader.read();
      if (done) throw new Error(`the flood ended early; it printed "${this.#buffer}"`);
      this.#buffer += value;
    }
    const at = this.#buffer.indexOf("\n");
    const line = this.#buffer.slice(0, at);
    this.#buffer = this.#buffer.slice(at + 1);
    return line;
  }

  cancel(): Promise<void> {
    return this.#reader.cancel();
  }
}

/** Echoes every batch on every connection the server hands out, until it closes. */
function serveEcho(server: SocketServer): Promise<void> {
  const peers = new Set<Promise<void>>();
  return (async () => {
    for await (const peer of server) {
      const serving = (async () => {
        try {
          for await (const batch of peer.receive()) peer.send(batch);
        } catch {
          // A broken peer ends its own connection only.
        } finally {
          await peer.close();
        }
      })();
      peers.add(serving);
      serving.finally(() => peers.delete(serving));
    }
    await Promise.all(peers);
  })();
}

async function ask(client: Transport, value: unknown): Promise<unknown> {
  const iterator = client.receive()[Symbol.asyncIterator]();
  client.send([value]);
  const result = await within(iterator.next(), WAIT_MS, "the echo");
  assert.equal(result.done, false);
  return (result.value as unknown[])[0];
}

/** The attacker: `deno run` of the flood fixture, started and ready. */
async function startFlood(
  target: "tcp" | "tcp6" | "unix",
  where: string,
  mode: "idle" | "drip",
  count = FLOOD,
): Promise<{ status(): Promise<{ reconnects: number; open: number }>; stop(): Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      new URL("./fixtures/socket_flood.ts", import.meta.url).href,
      target,
      where,
      String(count),
      mode,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = new Lines(child.stdout);
  const stdin = child.stdin.getWriter();
  const stop = async () => {
    await stdin.close().catch(() => {});
    const status = await within(child.status, WAIT_MS, "the flood to exit");
    await lines.cancel().catch(() => {});
    assert.equal(status.code, 0, "the flood exits cleanly");
  };
  try {
    assert.equal(await within(lines.next(), WAIT_MS, "the flood to open"), `ready ${count}`);
  } catch (error) {
    child.kill("SIGKILL");
    await stop().catch(() => {});
    throw error;
  }
  return {
    async status() {
      await stdin.write(encoder.encode("status\n"));
      const line = await within(lines.next(), WAIT_MS, "the flood's status");
      const [, reconnects, , open] = line.split(" ");
      return { reconnects: Number(reconnects), open: Number(open) };
    },
    stop,
  };
}

/** Dials and asks `ROUNDS` times; every round must get in and get its answer. */
async function legitimateRounds(options: DialSocketOptions, rounds = ROUNDS): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const client = await within(
      dialSocket({ ...options, signal: AbortSignal.timeout(WAIT_MS) }),
      WAIT_MS,
      `legitimate client ${round} to get in`,
    );
    try {
      assert.equal(await ask(client, `round ${round}`), `round ${round}`);
    } finally {
      await client.close();
    }
  }
}

async function floodCase(transport: "tcp" | "unix", mode: "idle" | "drip"): Promise<void> {
  const rejected: SocketRejection[] = [];
  const onRejected = (rejection: SocketRejection) => void rejected.push(rejection);
  const server = transport === "tcp"
    ? await listenSocket({ port: 0, secret: SECRET, onRejected })
    : await listenSocket({ onRejected });
  const serving = serveEcho(server);
  try {
    const flood = await startFlood(
      transport,
      "port" in server.addr ? String(server.addr.port) : server.addr.path,
      mode,
    );
    try {
      await legitimateRounds(
        "port" in server.addr
          ? { port: server.addr.port, secret: SECRET }
          : { path: server.addr.path },
      );
      // The whole flood was still open after the rounds.
      const status = await flood.status();
      console.log(`${transport} ${mode}: ${JSON.stringify(status)}, ${rejected.length} dropped`);
      assert.ok(status.open >= FLOOD * 0.9, `the flood was open (${JSON.stringify(status)})`);
    } finally {
      await flood.stop();
    }
  } finally {
    await server.close();
    await serving;
  }
}

Deno.test("socket: a legitimate TCP client gets in and is served during a flood of 1000 idle connections", async () => {
  await floodCase("tcp", "idle");
});

Deno.test("socket: a legitimate TCP client gets in and is served during a flood of 1000 dripping connections", async () => {
  await floodCase("tcp", "drip");
});

Deno.test("socket: a legitimate Unix client gets in and is served during a flood of 1000 idle connections", async () => {
  await floodCase("unix", "idle");
});

Deno.test("socket: a legitimate Unix client gets in and is served during a flood of 1000 dripping connections", async () => {
  await floodCase("unix", "drip");
});

Deno.test("socket: a flood over maxPendingHandshakes from one address evicts its own connections, not another address's client", async () => {
  // Dual-stack: the flood comes from ::1, the legitimate client from 127.0.0.1.
  const rejected: SocketRejection[] = [];
  const server = await listenSocket({
    hostname: "::",
    port: 0,
    secret: SECRET,
    maxPendingHandshakes: 64,
    onRejected: (rejection) => void rejected.push(rejection),
  });
  const serving = serveEcho(server);
  try {
    // Two and a half times the slots, reconnecting as fast as it is dropped
    // (more would overflow the listen backlog, and the kernel would delay
    // every client's connect by its SYN retransmission, a second).
    const flood = await startFlood("tcp6", String(server.addr.port), "idle", 160);
    try {
      // The reconnecting flood keeps the server busy: fewer rounds keep this test short.
      await legitimateRounds({ hostname: "127.0.0.1", port: server.addr.port, secret: SECRET }, 5);
      const status = await flood.status();
      console.log(`tcp6 idle over 64 slots: ${JSON.stringify(status)}, ${rejected.length} dropped`);
      assert.ok(status.open > 0, "the flood was open");
    } finally {
      await flood.stop();
    }
  } finally {
    await server.close();
    await serving;
  }
  // Every connection dropped to make room was the flood's.
  const evicted = rejected.filter((rejection) =>
    /dropped to make room/.test(String((rejection.error.cause as Error | undefined)?.message))
  );
  assert.ok(evicted.length > 0);
  for (const rejection of evicted) {
    assert.equal((rejection.remoteAddr as Deno.NetAddr).hostname, "::1");
  }
});

Deno.test("socket: a flood that exhausts the server's file descriptors does not stop it accepting", async () => {
  // The server runs with 64 descriptors; the flood holds 1000 connections.
  const server = new Deno.Command("bash", {
    args: [
      "-c",
      `ulimit -n 64 && exec "$0" run --quiet --allow-net "$1"`,
      Deno.execPath(),
      new URL("./fixtures/socket_fd_server.ts", import.meta.url).href,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = new Lines(server.stdout);
  const stdin = server.stdin.getWriter();
  try {
    await stdin.write(encoder.encode(`${SECRET}\n`));
    const port = Number((await within(lines.next(), WAIT_MS, "the server's port")).split(" ")[1]);
    const flood = await startFlood("tcp", String(port), "idle");
    assert.ok((await flood.status()).open > 0, "the flood was open");
    await flood.stop();
    // Still listening and serving once the flood is over.
    await legitimateRounds({ port, secret: SECRET }, 3);
  } finally {
    await stdin.close().catch(() => {});
    const status = await within(server.status, WAIT_MS, "the server to exit");
    await lines.cancel().catch(() => {});
    assert.equal(status.code, 0, "the server never stopped accepting");
  }
});
