/**
 * Bench child: an attacker without the secret. Keeps `count` idle
 * unauthenticated TCP connections open to 127.0.0.1:`port` and reconnects each
 * one as soon as the server drops it. Prints `ready` once every connection was
 * opened once; stops when stdin ends.
 *
 * @module
 */

const [portText, countText] = Deno.args;
const port = Number(portText);
const count = Number(countText);
let stopping = false;
const open = new Set<Deno.Conn>();

async function slot(first: () => void): Promise<void> {
  while (!stopping) {
    let conn: Deno.Conn;
    try {
      conn = await Deno.connect({ hostname: "127.0.0.1", port });
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 1));
      continue;
    }
    open.add(conn);
    first();
    const buffer = new Uint8Array(4096);
    try {
      while (await conn.read(buffer) !== null) {
        // Read the hello; never answer.
      }
    } catch {
      // Dropped by the server.
    } finally {
      open.delete(conn);
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
  }
}

const opened = Array.from({ length: count }, () => Promise.withResolvers<void>());
const slots = opened.map(({ resolve }) => slot(resolve));
await Promise.all(opened.map(({ promise }) => promise));
await Deno.stdout.write(new TextEncoder().encode("ready\n"));
for await (const _ of Deno.stdin.readable) {
  // Nothing is said on stdin; its end is the signal to stop.
}
stopping = true;
for (const conn of open) {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}
await Promise.allSettled(slots);
Deno.exit(0);
