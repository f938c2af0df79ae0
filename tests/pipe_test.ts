import assert from "node:assert/strict";
import { ConnectionClosedError, ProtocolError } from "../internal/errors.ts";
import { type Codec, jsonCodec } from "../transports/codec.ts";
import { FrameReader } from "../transports/framing/framing.ts";
import { connect, pipeTransport, pipeTransportFromStreams } from "../transports/pipe/pipe.ts";
import { connectionFromStreams, Pipe, pipeEnds } from "../transports/pipe/channel.ts";
import { within } from "./_helpers.ts";

const DEADLINE_MS = 20_000;

function isClosedBy(closedBy: "peer" | "local", operation?: "send" | "receive") {
  return (error: unknown): boolean => {
    assert.ok(
      error instanceof ConnectionClosedError,
      `expected ConnectionClosedError, got ${error}`,
    );
    assert.equal(error.closedBy, closedBy);
    if (operation) assert.equal(error.operation, operation);
    return true;
  };
}

// ---------------------------------------------------------------------------
// Pipe and its connections

Deno.test("Pipe() carries values both ways on a duplex pipe", async () => {
  const [parent, child] = Pipe<{ text: string; at: Date }>();
  child.send({ text: "hello", at: new Date(0) });
  assert.deepEqual(await within(parent.recv(), DEADLINE_MS, "hello"), {
    text: "hello",
    at: new Date(0),
  });
  parent.send({ text: "hi back", at: new Date(1) });
  assert.deepEqual((await within(child.recv(), DEADLINE_MS, "hi back")).text, "hi back");
  await Promise.all([parent.close(), child.close()]);
});

Deno.test("Pipe() sends copies: changing a value after send() does not change what arrives", async () => {
  const [left, right] = Pipe<number[]>();
  const value = [1, 2];
  left.send(value);
  value.push(3);
  assert.deepEqual(await within(right.recv(), DEADLINE_MS, "the copy"), [1, 2]);
  await Promise.all([left.close(), right.close()]);
});

Deno.test("Pipe({ duplex: false }) receives on the first end and sends on the second", async () => {
  const [output, input] = Pipe<string>({ duplex: false });
  input.send("one");
  input.send("two");
  assert.equal(await within(output.recv(), DEADLINE_MS, "one"), "one");
  assert.equal(await within(output.recv(), DEADLINE_MS, "two"), "two");
  await Promise.all([output.close(), input.close()]);
});

Deno.test("a one-way pipe refuses send() on the receiving end and recv() on the sending end", async () => {
  const [output, input] = Pipe<string>({ duplex: false });
  // @ts-expect-error: a ReadConnection has no send()
  assert.throws(() => output.send("x"), { name: "TypeError", message: /only receives/ });
  // @ts-expect-error: a WriteConnection has no recv()
  assert.throws(() => input.recv(), { name: "TypeError", message: /only sends/ });
  const iterate = async () => {
    // @ts-expect-error: a WriteConnection is not iterable
    for await (const _ of input) break;
  };
  await assert.rejects(iterate(), TypeError);
  await Promise.all([output.close(), input.close()]);
});

Deno.test("recv() rejects with a TimeoutError DOMException when nothing arrives in time", async () => {
  const [a, b] = Pipe<number>();
  const error = await within(b.recv({ timeout: 20 }).catch((e) => e), DEADLINE_MS, "timeout");
  assert.ok(error instanceof DOMException);
  assert.equal(error.name, "TimeoutError");
  assert.match(error.message, /within 20 ms/);
  // A value sent after the timeout is kept for the next recv().
  a.send(7);
  assert.equal(await within(b.recv({ timeout: DEADLINE_MS }), DEADLINE_MS, "7"), 7);
  await Promise.all([a.close(), b.close()]);
});

Deno.test("recv() rejects with the abort reason when its signal aborts", async () => {
  const [a, b] = Pipe<number>();
  const reason = new Error("stop waiting");
  await assert.rejects(b.recv({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
  const controller = new AbortController();
  const pending = b.recv({ signal: controller.signal });
  controller.abort(reason);
  await within(assert.rejects(pending, (e) => e === reason), DEADLINE_MS, "the abort");
  a.send(1);
  assert.equal(await within(b.recv(), DEADLINE_MS, "the value after the abort"), 1);
  await Promise.all([a.close(), b.close()]);
});

Deno.test("recv() rejects a negative or non-numeric timeout with RangeError", async () => {
  const [a, b] = Pipe<number>();
  await assert.rejects(b.recv({ timeout: -1 }), RangeError);
  await assert.rejects(b.recv({ timeout: NaN }), /timeout must be a non-negative number/);
  await Promise.all([a.close(), b.close()]);
});

Deno.test("pending recv() calls resolve in call order", async () => {
  const [a, b] = Pipe<number>();
  const pending = [b.recv(), b.recv(), b.recv()];
  a.send(1);
  a.send(2);
  a.send(3);
  assert.deepEqual(await within(Promise.all(pending), DEADLINE_MS, "three values"), [1, 2, 3]);
  await Promise.all([a.close(), b.close()]);
});

Deno.test("recv() rejects with ConnectionClosedError once the peer closed and its values were read", async () => {
  const [a, b] = Pipe<string>();
  const waiting = b.recv();
  a.send("last words");
  await a.close();
  assert.equal(await within(waiting, DEADLINE_MS, "the last value"), "last words");
  await within(
    assert.rejects(b.recv(), isClosedBy("peer", "receive")),
    DEADLINE_MS,
    "the peer-closed error",
  );
  await assert.rejects(b.recv({ timeout: 10_000 }), /the peer closed the connection/);
  await b.close();
});

Deno.test("close() rejects pending recv() calls and later ones with ConnectionClosedError", async () => {
  const [a, b] = Pipe<string>();
  const pending = b.recv();
  await b.close();
  await within(assert.rejects(pending, isClosedBy("local")), DEADLINE_MS, "the pending recv");
  await assert.rejects(b.recv(), isClosedBy("local"));
  assert.throws(() => b.send("x"), isClosedBy("local", "send"));
  await b.close();
  await a.close();
});

Deno.test("send() throws ConnectionClosedError once the peer closed", async () => {
  const [a, b] = Pipe<number>();
  await b.close();
  // The stream reports the peer's close asynchronously; a send or two may be accepted first.
  const error = await within(
    (async () => {
      for (let i = 0; i < 100; i++) {
        try {
          await a.send(i);
        } catch (error) {
          return error;
        }
        await Promise.resolve();
      }
      return undefined;
    })(),
    DEADLINE_MS,
    "send() to fail",
  );
  assert.ok(isClosedBy("peer", "send")(error));
  await a.close();
});

Deno.test("async iteration yields values in order and ends when the peer closes", async () => {
  const [output, input] = Pipe<number>({ duplex: false });
  for (let i = 0; i < 5; i++) input.send(i);
  await input.close();
  const got: number[] = [];
  await within(
    (async () => {
      for await (const n of output) got.push(n);
    })(),
    DEADLINE_MS,
    "iteration to end",
  );
  assert.deepEqual(got, [0, 1, 2, 3, 4]);
  await output.close();
});

Deno.test("breaking out of async iteration keeps the connection open", async () => {
  const [a, b] = Pipe<number>();
  a.send(1);
  a.send(2);
  for await (const n of b) {
    assert.equal(n, 1);
    break;
  }
  assert.equal(await within(b.recv(), DEADLINE_MS, "the second value"), 2);
  await Promise.all([a.close(), b.close()]);
});

Deno.test("await using closes a connection end", async () => {
  const [left, right] = Pipe<number>();
  {
    await using _left = left;
  }
  assert.throws(() => left.send(1), isClosedBy("local"));
  await within(assert.rejects(right.recv(), isClosedBy("peer")), DEADLINE_MS, "the peer's close");
  await right.close();
});

Deno.test("Pipe() validates its options eagerly", () => {
  assert.throws(() => Pipe({ maxFrameBytes: 0 }), {
    name: "RangeError",
    message: /Cannot create pipe: maxFrameBytes must be an integer/,
  });
  // @ts-expect-error: duplex is a boolean
  assert.throws(() => Pipe({ duplex: "yes" }), /duplex must be a boolean, received yes/);
  // @ts-expect-error: not a codec
  assert.throws(() => Pipe({ codec: {} }), /codec must have encode and decode methods/);
});

Deno.test("a Pipe with the JSON codec carries JSON values", async () => {
  const [a, b] = Pipe<{ n: number; list: string[] }>({ codec: jsonCodec });
  a.send({ n: 1, list: ["x"] });
  assert.deepEqual(await within(b.recv(), DEADLINE_MS, "the value"), { n: 1, list: ["x"] });
  await Promise.all([a.close(), b.close()]);
});

Deno.test("a send() over maxFrameBytes throws FrameTooLargeError and the pipe keeps working", async () => {
  const [a, b] = Pipe<Uint8Array>({ maxFrameBytes: 1024 });
  assert.throws(() => a.send(new Uint8Array(2048)), { name: "FrameTooLargeError" });
  a.send(new Uint8Array(8));
  assert.equal((await within(b.recv(), DEADLINE_MS, "the small value")).length, 8);
  await Promise.all([a.close(), b.close()]);
});

Deno.test("a pipe end transferred to a worker carries values both ways", async () => {
  const [mine, theirs] = pipeEnds();
  const worker = new Worker(
    new URL("./fixtures/connection_echo_worker.ts", import.meta.url),
    { type: "module" },
  );
  try {
    const ready = Promise.withResolvers<void>();
    worker.onmessage = (event) => {
      if (event.data === "ready") ready.resolve();
      else ready.reject(new Error(`The echo worker failed: ${event.data.error}`));
    };
    worker.onerror = (event) => {
      event.preventDefault();
      ready.reject(new Error(`The echo worker crashed: ${event.message}`));
    };
    worker.postMessage(theirs, [theirs.readable, theirs.writable]);
    await within(ready.promise, DEADLINE_MS, "the echo worker to start");
    const connection = connectionFromStreams<unknown>(mine);
    const values = [1, "two", new Map([[3, new Set([4n])]]), new Uint8Array([5])];
    for (const value of values) connection.send(value);
    for (const value of values) {
      assert.deepEqual(await within(connection.recv(), DEADLINE_MS, "an echo"), value);
    }
    await connection.close();
  } finally {
    worker.terminate();
  }
});

Deno.test("connectionFromStreams() needs at least one stream", () => {
  // @ts-expect-error: an end has a readable, a writable or both
  assert.throws(() => connectionFromStreams({}), /neither a readable nor a writable/);
});

// ---------------------------------------------------------------------------
// The pipe transport

Deno.test("pipe transport writes all batches sent in one tick as one chunk", async () => {
  const chunks: Uint8Array[] = [];
  const writable = new WritableStream<Uint8Array>({ write: (chunk) => void chunks.push(chunk) });
  const transport = pipeTransportFromStreams(new ReadableStream(), writable);
  for (let i = 0; i < 10; i++) transport.send([i, "x"]);
  assert.equal(chunks.length, 0);
  await within(transport.close(), DEADLINE_MS, "close");
  assert.equal(chunks.length, 1);
  const frames = new FrameReader().push(chunks[0]!);
  assert.equal(frames.length, 10);
  assert.equal(transport.stats().batchesSent, 10);
  assert.equal(transport.stats().bytesSent, chunks[0]!.length);
});

Deno.test("pipe transport sends plain batches as JSON, with byte arrays as binary frames, others as V8", async () => {
  const chunks: Uint8Array[] = [];
  const writable = new WritableStream<Uint8Array>({ write: (chunk) => void chunks.push(chunk) });
  const transport = pipeTransportFromStreams(new ReadableStream(), writable);
  transport.send([{ id: 1, op: "tell" }, [1, "two", null]]);
  transport.send([{ bytes: new Uint8Array([7, 8]) }]);
  transport.send([new Map([[1, 2]])]);
  transport.send([undefined]);
  await within(transport.close(), DEADLINE_MS, "close");
  const [json, binary, map, undef] = new FrameReader().push(chunks[0]!);
  assert.equal(new TextDecoder().decode(json), '[{"id":1,"op":"tell"},[1,"two",null]]');
  assert.equal(String.fromCharCode(binary![0]!), "B");
  assert.deepEqual(binary!.subarray(binary!.length - 2), new Uint8Array([7, 8]), "raw bytes last");
  assert.equal(map![0], 0xff, "a V8 serialization starts with its version tag");
  assert.equal(undef![0], 0xff);
});

Deno.test("pipe transport uses a custom codec as given, and its frames only", async () => {
  const calls = { encode: 0, decode: 0 };
  const lines: Codec = {
    name: "lines",
    encode(batch) {
      calls.encode++;
      return new TextEncoder().encode(batch.join("\n"));
    },
    decode(bytes) {
      calls.decode++;
      return new TextDecoder().decode(bytes).split("\n");
    },
  };
  const chunks: Uint8Array[] = [];
  const tap = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      chunks.push(chunk.slice());
      controller.enqueue(chunk);
    },
  });
  const a = pipeTransportFromStreams(new ReadableStream(), tap.writable, { codec: lines });
  const b = pipeTransportFromStreams(tap.readable, new WritableStream(), { codec: lines });
  a.send(["[x", "B"]);
  const batches = b.receive()[Symbol.asyncIterator]();
  assert.deepEqual((await within(batches.next(), DEADLINE_MS, "the batch")).value, ["[x", "B"]);
  assert.deepEqual(new FrameReader().push(chunks[0]!), [new TextEncoder().encode("[x\nB")]);
  assert.deepEqual(calls, { encode: 1, decode: 1 });
  await Promise.all([a.close(), b.close()]);
});

Deno.test("pipe transport send() returns a promise when the stream is full, resolved once read", async () => {
  const ab = new TransformStream<Uint8Array, Uint8Array>();
  const ba = new TransformStream<Uint8Array, Uint8Array>();
  const a = pipeTransportFromStreams(ba.readable, ab.writable);
  const b = pipeTransportFromStreams(ab.readable, ba.writable);
  assert.equal(a.send([1]), undefined, "an empty stream has room");
  await Promise.resolve();
  const room = a.send([2]);
  assert.ok(room instanceof Promise, "a full stream returns a promise");
  let resolved = false;
  room.then(() => resolved = true);
  await Promise.resolve();
  assert.equal(resolved, false);
  // The stream holds one chunk (a TransformStream's default): batch 2 waits behind batch 1.
  const batches = b.receive()[Symbol.asyncIterator]();
  assert.deepEqual((await within(batches.next(), DEADLINE_MS, "batch 1")).value, [1]);
  assert.equal(resolved, false);
  assert.deepEqual((await within(batches.next(), DEADLINE_MS, "batch 2")).value, [2]);
  await within(room, DEADLINE_MS, "room");
  await Promise.all([a.close(), b.close()]);
});

Deno.test("pipe transport close() closes the writable and cancels the readable", async () => {
  const closed = Promise.withResolvers<void>();
  const cancelled = Promise.withResolvers<unknown>();
  const readable = new ReadableStream<Uint8Array>({
    cancel: (reason) => cancelled.resolve(reason),
  });
  const writable = new WritableStream<Uint8Array>({ close: () => closed.resolve() });
  const transport = pipeTransportFromStreams(readable, writable);
  const batches = transport.receive()[Symbol.asyncIterator]();
  const next = batches.next();
  await transport.close();
  await within(closed.promise, DEADLINE_MS, "the writable to close");
  await within(cancelled.promise, DEADLINE_MS, "the readable to be cancelled");
  assert.equal((await within(next, DEADLINE_MS, "receive() to end")).done, true);
  assert.throws(() => transport.send([1]), isClosedBy("local", "send"));
});

Deno.test("pipe transport receive() may be called once", async () => {
  const transport = pipeTransportFromStreams(new ReadableStream(), new WritableStream());
  transport.receive();
  assert.throws(() => transport.receive(), /receive\(\) was already called/);
  await transport.close();
});

Deno.test("pipe transport fails receive() with ProtocolError for a stream of non-bytes, then closes", async () => {
  const aborted = Promise.withResolvers<unknown>();
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue("not bytes" as unknown as Uint8Array);
    },
  });
  const writable = new WritableStream<Uint8Array>({ abort: (reason) => aborted.resolve(reason) });
  const transport = pipeTransportFromStreams(readable, writable);
  const batches = transport.receive()[Symbol.asyncIterator]();
  await within(assert.rejects(batches.next(), ProtocolError), DEADLINE_MS, "ProtocolError");
  assert.ok((await within(aborted.promise, DEADLINE_MS, "abort")) instanceof ProtocolError);
  assert.throws(() => transport.send([1]), isClosedBy("local"));
  await transport.close();
});

Deno.test("pipeTransportFromStreams() validates its streams and options", () => {
  const locked = new ReadableStream();
  locked.getReader();
  assert.throws(
    () => pipeTransportFromStreams(locked, new WritableStream()),
    /readable is locked/,
  );
  assert.throws(
    () =>
      pipeTransportFromStreams(new ReadableStream(), new WritableStream(), { maxFrameBytes: -1 }),
    RangeError,
  );
});

Deno.test("pipeTransport() accepts only the codecs a worker can load by name", () => {
  const custom: Codec = { name: "custom", encode: () => new Uint8Array(), decode: () => [] };
  assert.throws(() => pipeTransport({ codec: custom }), /codec "custom" cannot be loaded/);
  assert.equal(pipeTransport({ codec: jsonCodec }).name, "pipe");
});

Deno.test("pipeTransport().open() rejects a process host without stdio and an unknown host", async () => {
  const factory = pipeTransport();
  await assert.rejects(factory.open("process"), /stdio is missing/);
  // @ts-expect-error: not a host
  await assert.rejects(factory.open("moon"), /host must be "worker" or "process"/);
});

Deno.test("connect() rejects an unknown codec or kind", () => {
  const streams = new TransformStream<Uint8Array, Uint8Array>();
  const base = { readable: streams.readable, writable: streams.writable, maxFrameBytes: 1024 };
  // @ts-expect-error: not a codec name
  assert.throws(() => connect({ kind: "streams", codec: "toString", ...base }), /unknown codec/);
  // @ts-expect-error: not a kind
  assert.throws(() => connect({ kind: "socket", codec: "v8", ...base }), /unknown kind/);
});

Deno.test("pipeTransport() reaches a subprocess over its stdin and stdout", async () => {
  const factory = pipeTransport({ maxFrameBytes: 1024 * 1024 });
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const name of ["DENO_DIR", "HOME", "PATH"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  const fixture = new URL("./fixtures/pipe_stdio_child.ts", import.meta.url);
  // The options are known before the child starts: they describe its stdio.
  const options = JSON.stringify({ kind: "stdio", codec: "v8", maxFrameBytes: 1024 * 1024 });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-lock", fixture.href, options],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    clearEnv: true,
    env,
  }).spawn();
  try {
    const link = await factory.open("process", { readable: child.stdout, writable: child.stdin });
    assert.equal(link.usesStdio, true);
    assert.deepEqual(JSON.parse(JSON.stringify(link.remote.options)), JSON.parse(options));
    const batches = link.local.receive()[Symbol.asyncIterator]();
    const sent = [[1, "one"], [new Map([[2n, new Date(2)]])], [new Uint8Array(100_000).fill(3)]];
    for (const batch of sent) link.local.send(batch);
    for (const batch of sent) {
      const result = await within(batches.next(), 20_000, "an echo from the child");
      assert.deepEqual(result.value, batch);
    }
    await link.local.close();
    const status = await within(child.status, 20_000, "the child to exit");
    assert.equal(status.code, 0);
  } finally {
    try {
      child.kill();
    } catch {
      // Already exited.
    }
    await child.status;
  }
});
