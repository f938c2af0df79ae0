/**
 * The `queue` transport's two wire forms: a batch its sender found to be
 * plain data travels as JSON text, anything else as structured clone, and
 * both arrive as structured clone would give them.
 */

import assert from "node:assert/strict";
import { connect } from "../transports/queue.ts";
import type { Transport } from "../transports/transport.ts";
import { PLAIN_KIND } from "../internal/batch.ts";

/** A queue transport on one port, and the raw other port with every `data` it receives. */
function rawPair(): { transport: Transport; port: MessagePort; seen: Promise<unknown> } {
  const channel = new MessageChannel();
  const transport = connect({ port: channel.port1 });
  const seen = new Promise<unknown>((resolve) => {
    channel.port2.onmessage = (event) => resolve(event.data);
  });
  return { transport, port: channel.port2, seen };
}

/** One batch from `transport`, or a rejection after a bound. */
async function nextBatch(transport: Transport): Promise<unknown[]> {
  const iterator = transport.receive()[Symbol.asyncIterator]();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("no batch within 5 s")), 5_000);
  });
  try {
    const result = await Promise.race([iterator.next(), bound]);
    assert.equal(result.done, false);
    return result.value;
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("a queue batch hinted plain travels as JSON text", async () => {
  const { transport, port, seen } = rawPair();
  try {
    transport.send([[0, "take", { id: 1, op: "counter.add" }]], { kind: PLAIN_KIND });
    const data = await seen;
    assert.equal(typeof data, "string");
    assert.deepEqual(JSON.parse(data as string), [[0, "take", { id: 1, op: "counter.add" }]]);
  } finally {
    await transport.close();
    port.close();
  }
});

Deno.test("a queue batch without a plain hint travels as structured clone", async () => {
  const { transport, port, seen } = rawPair();
  try {
    const when = new Date(0);
    transport.send([[0, "take", when]], { kind: 2 });
    assert.deepEqual(await seen, [[0, "take", when]]);
  } finally {
    await transport.close();
    port.close();
  }
});

Deno.test("a plain queue batch arrives as structured clone would give it", async () => {
  const channel = new MessageChannel();
  const a = connect({ port: channel.port1 });
  const b = connect({ port: channel.port2 });
  try {
    const batch = [
      [0, "take", { text: 'caf\u00e9 \u{1f600} \ud800 \u0000\n"', list: [1, -2.5, null, true] }],
      [4, "take", [{ nested: { deeper: [[[]]] } }, "", 0]],
      [1, 7, "echo", { __proto__: null, plain: "no prototype" }],
    ];
    a.send(batch, { kind: PLAIN_KIND });
    const received = await nextBatch(b);
    assert.deepEqual(received, structuredClone(batch));
    // A null-prototype object arrives with Object's, as structured clone gives it.
    const third = received[2] as unknown[];
    assert.equal(Object.getPrototypeOf(third[3]), Object.prototype);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("a queue batch with a transfer list moves its buffers, hinted plain or not", async () => {
  const channel = new MessageChannel();
  const a = connect({ port: channel.port1 });
  const b = connect({ port: channel.port2 });
  try {
    const bytes = new Uint8Array([1, 2, 3]);
    a.send([[0, "take", bytes]], { kind: PLAIN_KIND, transfer: [bytes.buffer] });
    assert.equal(bytes.buffer.detached, true);
    const received = await nextBatch(b);
    assert.deepEqual(received, [[0, "take", new Uint8Array([1, 2, 3])]]);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
