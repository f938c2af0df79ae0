// The test server helper itself: a real nats-server that is ready when the
// helper says so, keeps its port across a restart and leaves nothing behind.
import assert from "node:assert/strict";
import { startNatsServer } from "./_server.ts";

async function infoLine(port: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const buffer = new Uint8Array(4096);
    const n = await conn.read(buffer);
    return new TextDecoder().decode(buffer.subarray(0, n ?? 0));
  } finally {
    conn.close();
  }
}

Deno.test("startNatsServer() resolves with a server that accepts clients, restarts on its port and cleans up", async () => {
  let dir: string;
  {
    await using server = await startNatsServer();
    dir = server.dir;
    assert.match(server.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
    assert.match(await infoLine(server.port), /^INFO \{.*"jetstream":true/);
    const port = server.port;
    await server.stop();
    assert.equal(server.running, false);
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }));
    await server.restart();
    assert.equal(server.port, port);
    assert.match(await infoLine(server.port), /^INFO /);
  }
  await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
});
