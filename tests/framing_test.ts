import assert from "node:assert/strict";
import { FrameTooLargeError, ProtocolError } from "../internal/errors.ts";
import {
  checkMaxFrameBytes,
  DEFAULT_MAX_FRAME_BYTES,
  encodeFrames,
  FrameReader,
  FrameWriter,
} from "../transports/framing/framing.ts";
import { StreamTransport } from "../transports/framing/stream_transport.ts";
import { jsonCodec } from "../transports/codec.ts";

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

function bodies(count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => {
    const body = new Uint8Array((i * 7) % 23);
    body.fill(i & 0xff);
    return body;
  });
}

/** A small deterministic generator, so a failing split is reproducible. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 0x1_0000_0000;
  };
}

Deno.test("encodeFrames() writes a little-endian length prefix before each body", () => {
  assert.deepEqual(
    encodeFrames([bytes(7, 8, 9), bytes()]),
    bytes(3, 0, 0, 0, 7, 8, 9, 0, 0, 0, 0),
  );
  assert.deepEqual(encodeFrames([new Uint8Array(0x0102)]).subarray(0, 4), bytes(2, 1, 0, 0));
});

Deno.test("FrameReader returns a frame whose length prefix is split across chunks", () => {
  const reader = new FrameReader();
  assert.deepEqual(reader.push(bytes(3)), []);
  assert.equal(reader.buffered, 1);
  assert.deepEqual(reader.push(bytes(0, 0)), []);
  assert.deepEqual(reader.push(bytes(0, 1)), []);
  assert.deepEqual(reader.push(bytes(2, 3, 4, 0)), [bytes(1, 2, 3)]);
  assert.equal(reader.buffered, 2);
  assert.deepEqual(reader.push(bytes(0, 0)), []);
  assert.equal(reader.buffered, 4);
  assert.deepEqual(reader.push(bytes(9, 8, 7, 6)), [bytes(9, 8, 7, 6)]);
  assert.equal(reader.buffered, 0);
  reader.end();
});

Deno.test("FrameReader returns many frames from one chunk, in order", () => {
  const expected = bodies(100);
  const reader = new FrameReader();
  assert.deepEqual(reader.push(encodeFrames(expected)), expected);
  assert.equal(reader.buffered, 0);
  reader.end();
});

Deno.test("FrameReader reassembles frames split at every byte offset", () => {
  const expected = [bytes(1, 2, 3), bytes(), bytes(4), new Uint8Array(9).fill(5)];
  const stream = encodeFrames(expected);
  for (let split = 0; split <= stream.length; split++) {
    const reader = new FrameReader();
    const got = [...reader.push(stream.subarray(0, split)), ...reader.push(stream.subarray(split))];
    assert.deepEqual(got, expected, `split at ${split}`);
    reader.end();
  }
});

Deno.test("FrameReader reassembles frames from randomly sized chunks", () => {
  const expected = bodies(500);
  const stream = encodeFrames(expected);
  const next = random(42);
  for (let round = 0; round < 20; round++) {
    const reader = new FrameReader();
    const got: Uint8Array[] = [];
    let offset = 0;
    while (offset < stream.length) {
      const size = 1 + Math.floor(next() * 40);
      got.push(...reader.push(stream.subarray(offset, offset + size)));
      offset += size;
    }
    assert.deepEqual(got, expected, `round ${round}`);
    reader.end();
  }
});

Deno.test("FrameReader returns an empty body for a zero-length frame", () => {
  const reader = new FrameReader();
  assert.deepEqual(reader.push(bytes(0, 0, 0, 0, 0, 0, 0, 0)), [bytes(), bytes()]);
  reader.end();
});

Deno.test("FrameReader returns a body that lies inside one chunk as a view, without copying", () => {
  const chunk = encodeFrames([bytes(1, 2), bytes(3)]);
  const [first, second] = new FrameReader().push(chunk);
  assert.equal(first!.buffer, chunk.buffer);
  assert.equal(second!.byteOffset, chunk.byteOffset + 10);
});

Deno.test("FrameReader accepts a body of exactly the limit", () => {
  const reader = new FrameReader(4);
  assert.deepEqual(reader.push(bytes(4, 0, 0, 0, 1, 2, 3, 4)), [bytes(1, 2, 3, 4)]);
});

Deno.test("FrameReader throws ProtocolError for a length over the limit before reading its body", () => {
  const reader = new FrameReader(16);
  assert.deepEqual(reader.push(bytes(17, 0)), []);
  assert.throws(() => reader.push(bytes(0, 0)), (error: unknown) => {
    assert.ok(error instanceof ProtocolError);
    assert.match(error.message, /17 bytes, the limit is 16 bytes/);
    return true;
  });
  // Nothing of the body was held (or allocated), and the reader stays failed.
  assert.equal(reader.buffered, 0);
  assert.throws(() => reader.push(bytes(1)), ProtocolError);
  assert.throws(() => reader.end(), ProtocolError);
});

Deno.test("FrameReader rejects a 4 GiB length prefix under the default 64 MiB limit", () => {
  const reader = new FrameReader();
  assert.throws(
    () => reader.push(bytes(0xff, 0xff, 0xff, 0xff)),
    // Bad bytes, not a stream cut short: the peer's error whatever its exit says.
    (error: unknown) => error instanceof ProtocolError && !error.truncated,
  );
  assert.equal(DEFAULT_MAX_FRAME_BYTES, 64 * 1024 * 1024);
});

Deno.test("FrameReader.end() throws ProtocolError when the stream ends inside a body", () => {
  const reader = new FrameReader();
  reader.push(bytes(5, 0, 0, 0, 1, 2));
  assert.throws(() => reader.end(), (error: unknown) => {
    assert.ok(error instanceof ProtocolError && error.truncated, String(error));
    assert.match(error.message, /ended after 2 of its 5 body bytes/);
    return true;
  });
});

Deno.test("FrameReader.end() throws ProtocolError when the stream ends inside a length prefix", () => {
  const reader = new FrameReader();
  reader.push(bytes(5, 0));
  assert.throws(() => reader.end(), (error: unknown) => {
    assert.ok(error instanceof ProtocolError && error.truncated);
    assert.match(error.message, /ended after 2 of its 4 length bytes/);
    return true;
  });
});

Deno.test("checkMaxFrameBytes() accepts 1 to 2^32 - 1 and rejects anything else", () => {
  assert.equal(checkMaxFrameBytes(undefined, "x"), DEFAULT_MAX_FRAME_BYTES);
  assert.equal(checkMaxFrameBytes(1, "x"), 1);
  assert.equal(checkMaxFrameBytes(0xffff_ffff, "x"), 0xffff_ffff);
  for (const bad of [0, -1, 1.5, NaN, 2 ** 32, Infinity]) {
    assert.throws(() => checkMaxFrameBytes(bad, "Cannot test"), RangeError, String(bad));
  }
  assert.throws(() => new FrameReader(0), /Cannot create frame reader: maxFrameBytes must be/);
});

Deno.test("FrameWriter coalesces the frames added in one tick into one write", async () => {
  const writes: Uint8Array[] = [];
  const writer = new FrameWriter((chunk) => writes.push(chunk));
  assert.equal(writer.add(bytes(1)), 5);
  writer.add(bytes(2, 3));
  writer.add(bytes());
  assert.equal(writes.length, 0, "nothing is written synchronously");
  assert.equal(writer.pendingFrames, 3);
  assert.equal(writer.pendingBytes, 15);
  await Promise.resolve();
  assert.equal(writes.length, 1);
  assert.deepEqual(new FrameReader().push(writes[0]!), [bytes(1), bytes(2, 3), bytes()]);
  writer.add(bytes(4));
  await Promise.resolve();
  assert.equal(writes.length, 2);
  assert.deepEqual(writes[1], bytes(1, 0, 0, 0, 4));
});

Deno.test("FrameWriter throws FrameTooLargeError before queueing an oversized body", async () => {
  const writes: Uint8Array[] = [];
  const writer = new FrameWriter((chunk) => writes.push(chunk), 8);
  writer.add(bytes(1));
  assert.throws(() => writer.add(new Uint8Array(9)), (error: unknown) => {
    assert.ok(error instanceof FrameTooLargeError);
    assert.equal(error.size, 9);
    assert.equal(error.limit, 8);
    return true;
  });
  assert.equal(writer.pendingFrames, 1);
  writer.add(new Uint8Array(8));
  await Promise.resolve();
  assert.equal(writes.length, 1);
  assert.deepEqual(new FrameReader(8).push(writes[0]!).map((body) => body.length), [1, 8]);
});

Deno.test("FrameWriter writes at once when one tick queues its coalesce limit", () => {
  const writes: Uint8Array[] = [];
  const writer = new FrameWriter((chunk) => writes.push(chunk), 1024, 16);
  writer.add(new Uint8Array(4));
  assert.equal(writes.length, 0);
  writer.add(new Uint8Array(8));
  assert.equal(writes.length, 1, "20 queued bytes are written synchronously");
  assert.equal(writes[0]!.length, 20);
  assert.equal(writer.pendingBytes, 0);
});

Deno.test("FrameWriter.discard() drops queued frames and flush() writes nothing then", async () => {
  const writes: Uint8Array[] = [];
  const writer = new FrameWriter((chunk) => writes.push(chunk));
  writer.add(bytes(1));
  writer.discard();
  writer.flush();
  await Promise.resolve();
  assert.equal(writes.length, 0);
});

Deno.test("FrameWriter copies a body given as parts at add(), so the caller may reuse its bytes", async () => {
  const writes: Uint8Array[] = [];
  const writer = new FrameWriter((chunk) => writes.push(chunk), 8);
  const scratch = bytes(1, 2, 3);
  assert.equal(writer.add([scratch.subarray(0, 2), bytes(), bytes(9)]), 7);
  scratch.fill(0);
  writer.add(scratch);
  assert.throws(() => writer.add([new Uint8Array(5), new Uint8Array(4)]), (error: unknown) => {
    assert.ok(error instanceof FrameTooLargeError);
    assert.equal(error.size, 9);
    return true;
  });
  await Promise.resolve();
  assert.deepEqual(new FrameReader().push(writes[0]!), [bytes(1, 2, 9), bytes(0, 0, 0)]);
});

Deno.test("FrameWriter never changes a chunk it handed to write", async () => {
  const writes: Uint8Array[] = [];
  const writer = new FrameWriter((chunk) => writes.push(chunk));
  for (const size of [1, 200, 3, 5000, 2]) {
    writer.add(new Uint8Array(size).fill(size));
    await Promise.resolve();
  }
  writer.add(new Uint8Array(100).fill(7));
  writer.add(new Uint8Array(100).fill(8));
  await Promise.resolve();
  assert.deepEqual(
    writes.map((chunk) => new FrameReader().push(chunk).map((body) => [body.length, body[0]])),
    [[[1, 1]], [[200, 200]], [[3, 3]], [[5000, 5000 & 0xff]], [[2, 2]], [[100, 7], [100, 8]]],
  );
});

Deno.test("FrameReader returns every whole frame before an oversized length prefix, then fails", () => {
  // Two valid frames and the prefix of an oversized one, all in one chunk.
  const reader = new FrameReader(16);
  const chunk = new Uint8Array([...encodeFrames([bytes(1, 2), bytes(3)]), 17, 0, 0, 0, 9]);
  assert.deepEqual(reader.push(chunk), [bytes(1, 2), bytes(3)]);
  assert.ok(reader.failure instanceof ProtocolError);
  assert.match(reader.failure.message, /17 bytes, the limit is 16 bytes/);
  // Nothing after the bad prefix was taken, and the reader stays failed.
  assert.equal(reader.buffered, 0);
  assert.throws(() => reader.push(bytes(1)), (error: unknown) => error === reader.failure);
  assert.throws(() => reader.end(), (error: unknown) => error === reader.failure);
});

Deno.test("FrameReader returns a frame completed by the same chunk that brings an oversized prefix", () => {
  // The first frame's body is split: its tail arrives with the bad prefix.
  const reader = new FrameReader(16);
  assert.deepEqual(reader.push(bytes(3, 0, 0, 0, 7)), []);
  assert.equal(reader.failure, undefined);
  assert.deepEqual(reader.push(bytes(8, 9, 0xff, 0xff, 0xff, 0xff)), [bytes(7, 8, 9)]);
  assert.ok((reader.failure as unknown) instanceof ProtocolError);
  assert.throws(() => reader.end(), ProtocolError);
});

Deno.test("StreamTransport (pipe framing) delivers the frame before an oversized prefix in the same chunk, then fails", async () => {
  const good = encodeFrames([new TextEncoder().encode('["first"]')]);
  const chunk = new Uint8Array([...good, 0xff, 0xff, 0xff, 0x7f]);
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(chunk);
    },
  });
  const transport = new StreamTransport(readable, undefined, jsonCodec, 1024);
  const batches: unknown[][] = [];
  await assert.rejects(
    (async () => {
      for await (const batch of transport.receive()) batches.push(batch);
    })(),
    (error: unknown) => error instanceof ProtocolError && /limit is 1024 bytes/.test(error.message),
  );
  assert.deepEqual(batches, [["first"]]);
  await transport.close();
});

/** Text of one character per byte, as a port carries a small chunk. */
function latin1(chunk: Uint8Array): string {
  return String.fromCharCode(...chunk);
}

Deno.test("FrameReader.pushText() gives the frames a byte push gives, whole bodies as text", () => {
  const all = bodies(12);
  const stream = encodeFrames(all);
  // Every split point: frames whole in a text chunk come as text, split ones as bytes.
  for (let cut = 0; cut <= stream.length; cut++) {
    const reader = new FrameReader();
    const got = [
      ...reader.pushText(latin1(stream.subarray(0, cut))),
      ...reader.pushText(latin1(stream.subarray(cut))),
    ];
    assert.deepEqual(
      got.map((body) =>
        typeof body === "string" ? new Uint8Array([...body].map((c) => c.charCodeAt(0))) : body
      ),
      all,
      `cut at ${cut}`,
    );
    reader.end();
  }
  const [first, second] = new FrameReader().pushText(
    latin1(encodeFrames([bytes(65, 66), bytes(255)])),
  );
  assert.equal(first, "AB");
  assert.equal(second, "\u00ff");
});

Deno.test("FrameReader.pushText() hands over the frames before a bad length prefix, then fails", () => {
  const reader = new FrameReader(4);
  const good = encodeFrames([bytes(1, 2)]);
  const bad = bytes(5, 0, 0, 0, 9);
  assert.deepEqual(reader.pushText(latin1(new Uint8Array([...good, ...bad]))), ["\u0001\u0002"]);
  assert.ok(reader.failure instanceof ProtocolError);
  assert.throws(() => reader.pushText("x"), ProtocolError);
  assert.throws(
    () => new FrameReader(4).pushText(latin1(bad)),
    /announces 5 bytes, the limit is 4/,
  );
});

Deno.test("FrameWriter writes text frames as one text chunk, and as bytes once bytes join them", async () => {
  const writes: Uint8Array[] = [];
  const texts: string[] = [];
  const writer = new FrameWriter((chunk) => writes.push(chunk), 16, undefined, {
    write: (text) => texts.push(text),
    limit: 12,
  });
  assert.equal(writer.addText("ab"), 6);
  writer.addText("c");
  assert.equal(writer.pendingBytes, 11);
  await Promise.resolve();
  assert.deepEqual(texts, ["\u0002\u0000\u0000\u0000ab\u0001\u0000\u0000\u0000c"]);
  assert.equal(writes.length, 0);
  // Past the text limit, and text followed by bytes in one tick: one byte chunk, in order.
  writer.addText("abcdefghi");
  writer.addText("z");
  writer.add(bytes(7));
  await Promise.resolve();
  assert.equal(texts.length, 1);
  assert.equal(writes.length, 1);
  assert.deepEqual(new FrameReader().push(writes[0]!), [
    new TextEncoder().encode("abcdefghi"),
    bytes(0x7a),
    bytes(7),
  ]);
  writer.addText("q");
  writer.add(bytes(8));
  await Promise.resolve();
  assert.deepEqual(new FrameReader().push(writes[1]!), [bytes(0x71), bytes(8)]);
  assert.throws(() => writer.addText("x".repeat(17)), FrameTooLargeError);
  assert.equal(writer.pendingFrames, 0);
});
