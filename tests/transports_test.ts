/**
 * Runs the transport conformance suite for every transport. To add one, add
 * an entry to `pairs`.
 */

import {
  DEADLINE_MS,
  transportConformance,
  type TransportPairHandle,
} from "./transport_conformance.ts";
import { queueTransportPair } from "../transports/queue.ts";
import { pipeTransport, pipeTransportFromStreams } from "../transports/pipe/pipe.ts";
import { connect, type RingConnectOptions, ringTransport } from "../transports/ring/ring.ts";
import { RingWriter } from "../transports/ring/_ring.ts";
import { openSocketPair, openWorkerSocketPair } from "./fixtures/socket_pairs.ts";
import { openRelayedPair } from "./fixtures/relay_pair.ts";

/** Frame limit for the byte transports under test: room for 1 MiB messages, cheap to exceed. */
const MAX_FRAME_BYTES = 2 * 1024 * 1024;

function noop(): void {}

function openQueuePair(): Promise<TransportPairHandle> {
  const [a, b] = queueTransportPair();
  return Promise.resolve({
    a,
    b,
    maxFrameBytes: { skip: "queue has no frame limit: postMessage carries any size" },
    raw: { skip: "queue carries structured-clone objects over a MessagePort, not bytes" },
    kill: {
      skip:
        "a MessagePort gives no signal when its peer dies; the runtime detects that by heartbeat",
    },
    async dispose() {
      await Promise.all([a.close(), b.close()]);
    },
  });
}

/** Two in-thread pipe ends; `a` writes through a forwarding sink the test can also write to. */
function openPipePair(): Promise<TransportPairHandle> {
  const ab = new TransformStream<Uint8Array, Uint8Array>();
  const ba = new TransformStream<Uint8Array, Uint8Array>();
  const sink = ab.writable.getWriter();
  const forward = new WritableStream<Uint8Array>({
    write: (chunk) => sink.write(chunk),
    close: () => sink.close(),
    abort: (reason) => sink.abort(reason),
  });
  const options = { maxFrameBytes: MAX_FRAME_BYTES };
  const a = pipeTransportFromStreams(ba.readable, forward, options);
  const b = pipeTransportFromStreams(ab.readable, ba.writable, options);
  return Promise.resolve({
    a,
    b,
    maxFrameBytes: MAX_FRAME_BYTES,
    raw: {
      write: (bytes) => sink.write(bytes),
      end: () => sink.close(),
    },
    kill() {
      // A crashed writer: half a frame, then the stream fails. Not awaited: an abort
      // completes only after the write in flight, which waits for the reader.
      sink.write(new Uint8Array([100, 0, 0, 0, 1, 2, 3])).catch(noop);
      sink.abort(new Error("The peer died")).catch(noop);
      return Promise.resolve();
    },
    async dispose() {
      await Promise.all([a.close(), b.close()]);
    },
  });
}

/**
 * Two pipe links to one real worker that relays between them, so both ends of
 * each link cross a thread: `a` → worker → `b` and back.
 */
async function openWorkerPipePair(): Promise<TransportPairHandle> {
  const { a, b, dispose } = await openRelayedPair(
    pipeTransport({ maxFrameBytes: MAX_FRAME_BYTES }),
    DEADLINE_MS,
  );
  return {
    a,
    b,
    maxFrameBytes: MAX_FRAME_BYTES,
    raw: { skip: "the relay re-frames what crosses the worker; the in-thread pipe covers framing" },
    kill: {
      skip:
        "a terminated worker neither ends nor errors the streams it held (Deno 2.9.6); the runtime detects that by heartbeat",
    },
    dispose,
  };
}

/**
 * Both ends of one ring channel in this thread (no spinning: the peer shares
 * the thread). Raw bytes go straight into the ring `b` reads.
 */
async function openRingPair(): Promise<TransportPairHandle> {
  const factory = ringTransport({ maxFrameBytes: MAX_FRAME_BYTES, spinMs: 0 });
  const link = await factory.open("worker");
  const options = link.remote.options as RingConnectOptions;
  const a = link.local, b = await connect(options);
  const raw = new RingWriter(options.inbound);
  return {
    a,
    b,
    maxFrameBytes: MAX_FRAME_BYTES,
    raw: {
      write: (bytes) => Promise.resolve(void raw.writeRaw(bytes)),
      end: () => Promise.resolve(raw.closeWriter()),
    },
    async kill() {
      // A worker dies mid-write: half a frame, and no flag changes in shared
      // memory. The actor system learns of the death from the worker and
      // declares it by closing its own end, as here.
      raw.writeRaw(new Uint8Array([100, 0, 0, 0, 1, 2, 3]));
      await b.close();
    },
    async dispose() {
      await Promise.all([a.close(), b.close()]);
    },
  };
}

/** Two ring links to one real worker that relays between them, as for `pipe (worker)`. */
async function openWorkerRingPair(): Promise<TransportPairHandle> {
  const { a, b, dispose } = await openRelayedPair(
    ringTransport({ maxFrameBytes: MAX_FRAME_BYTES }),
    DEADLINE_MS,
  );
  return {
    a,
    b,
    maxFrameBytes: MAX_FRAME_BYTES,
    raw: { skip: "the relay re-frames what crosses the worker; the in-thread ring covers framing" },
    kill: { skip: "the in-thread ring covers a dead peer; the runtime declares it with close()" },
    dispose,
  };
}

const pairs: { name: string; open: () => Promise<TransportPairHandle> }[] = [
  { name: "queue", open: openQueuePair },
  { name: "pipe", open: openPipePair },
  { name: "pipe (worker)", open: openWorkerPipePair },
  { name: "ring", open: openRingPair },
  { name: "ring (worker)", open: openWorkerRingPair },
  { name: "socket (unix)", open: () => openSocketPair("unix", MAX_FRAME_BYTES) },
  { name: "socket (tcp)", open: () => openSocketPair("tcp", MAX_FRAME_BYTES) },
  { name: "socket (worker)", open: () => openWorkerSocketPair(MAX_FRAME_BYTES) },
];

for (const { name, open } of pairs) await transportConformance(name, open);
