/**
 * Child process for the stdio and Unix socket baselines. It speaks length-prefixed JSON frames:
 * it sends `{"ready":true}` first, counts one-way messages and acks every `ACK_EVERY` (acks of
 * one read go out in one write), parses and re-encodes round-trip messages straight back, and
 * exits when its input ends.
 *
 * Usage: `deno run _frame_child.ts stdio`, or
 * `deno run --allow-read=DIR --allow-write=DIR --allow-net=unix:PATH _frame_child.ts unix PATH`.
 *
 * @module
 */

import { FrameReader, FrameWriter } from "./_frames.ts";
import { ACK_EVERY, OP_ECHO, type SmallMessage } from "./_util.ts";

interface Reader {
  read(p: Uint8Array): Promise<number | null>;
}
interface Writer {
  write(p: Uint8Array): Promise<number>;
}

async function writeAll(writer: Writer, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await writer.write(bytes.subarray(offset));
}

async function serve(input: Reader, output: Writer): Promise<void> {
  const frames = new FrameReader();
  const out = new FrameWriter();
  const scratch = new Uint8Array(256 * 1024);
  let count = 0;
  out.add({ ready: true });
  await writeAll(output, out.take());
  for (;;) {
    const n = await input.read(scratch);
    if (n === null) return;
    frames.push(scratch.subarray(0, n));
    for (let m = frames.next(); m !== undefined; m = frames.next()) {
      const message = m as SmallMessage;
      if (message.op === OP_ECHO) {
        out.add(message);
      } else {
        count++;
        if (count % ACK_EVERY === 0) out.add({ ack: count });
      }
    }
    if (out.size > 0) await writeAll(output, out.take());
  }
}

const [mode, path] = Deno.args;
if (mode === "stdio") {
  await serve(Deno.stdin, Deno.stdout);
} else if (mode === "unix" && path !== undefined) {
  const conn = await Deno.connect({ transport: "unix", path });
  try {
    await serve(conn, conn);
  } catch (error) {
    // The parent closing its end mid-read is a normal way to end.
    if (!(error instanceof Deno.errors.ConnectionReset)) throw error;
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
} else {
  console.error("usage: _frame_child.ts stdio | unix PATH");
  Deno.exit(2);
}
