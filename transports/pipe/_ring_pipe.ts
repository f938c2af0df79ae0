/**
 * A `Pipe()` over shared memory: when one end goes to a worker or thread
 * actor while its peer is unused, the two ends carry their values over a
 * pair of `ring` rings instead of framed bytes over a port
 * (`_pipe_connection.ts` decides; `../ring/shared_rings.ts` owns the rings).
 * {@linkcode RingPipeTransport} is an end's transport there, with the pipe's
 * errors; {@linkcode streamsOverRing} bridges such an end to byte streams
 * when it goes on to a process actor.
 *
 * The rings are allocated lazily, at the first hand-off, not at `Pipe()`:
 * only then is it known that an end leaves this thread, and for a thread
 * rather than a process; a pipe used in one thread or with a process never
 * holds shared memory (which the garbage collector does not count as
 * pressure), and its ends keep the byte path they have always had.
 *
 * @module
 */

import { noop } from "../../internal/abort.ts";
import { ConnectionClosedError } from "../../internal/channel_errors.ts";
import { MIN_RING_BYTES, openRingEnd, type RingEnd, type RingPair } from "../ring/shared_rings.ts";
import type { Codec } from "../codec.ts";
import { StreamTransport } from "../framing/stream_transport.ts";

/** What a pipe end needs of its transport: a stream transport or a ring end. */
export interface PipeTransport {
  send(batch: readonly unknown[]): void | Promise<void>;
  receive(): AsyncIterable<unknown[]>;
  close(): Promise<void>;
}

/**
 * Bytes of each ring of a pipe (per direction): 64 KiB, the window of a pipe
 * end over a port and of an operating system's pipe, so backpressure starts
 * where it did. A direction the pipe lacks gets the smallest ring.
 */
export const PIPE_RING_BYTES = 64 * 1024;

/** The ring sizes of an end that reads when `receives` and writes when `sends`. */
export function pipeRingSizes(receives: boolean, sends: boolean): [number, number] {
  return [receives ? PIPE_RING_BYTES : MIN_RING_BYTES, sends ? PIPE_RING_BYTES : MIN_RING_BYTES];
}

/**
 * How long a pipe end over rings spins for a reply before it sleeps: 20 µs
 * of busy spin, where a `ring` end waits up to 50 µs (25 of them spinning). A spin that finds
 * nothing makes the next reply spins skip, doubling up to 16 in a row, as a
 * ring end's later spins do; one that finds data ends the skipping.
 *
 * Measured on the 2-core machine this was built on (`seed.pipe.msgs`, one
 * worker actor echoing, 5 rounds): with no spin, every hop is one
 * `Atomics.waitAsync` wake-up, 18k to 21k msg/s on a quiet machine; this
 * spin gives 200k to 270k. With both cores busy in other processes it is
 * level with no spin or better (two or four busy loops beside the bench),
 * where a 50 µs spin, or one that never backs off, halved the rate: the
 * peer was often not scheduled within the spin, which then cost its whole
 * length before the sleep.
 */
export const PIPE_SPIN_MS = 0.02;

/** A pipe end's transport over a ring pair: the ring end, with the pipe's `ConnectionClosedError`. */
export class RingPipeTransport implements PipeTransport {
  readonly #end: RingEnd;
  #closed = false;

  constructor(pair: RingPair, codec: Codec, maxFrameBytes: number) {
    this.#end = openRingEnd(pair, codec, maxFrameBytes, {
      spinMs: PIPE_SPIN_MS,
      backoffReplies: true,
    });
  }

  send(batch: readonly unknown[]): void | Promise<void> {
    const end = this.#end;
    if (this.#closed) throw new ConnectionClosedError("send", "local");
    // The ring throws ConnectionClosedError itself once the peer closed.
    const waiting = end.transport.send(batch);
    if (waiting === undefined) return;
    // The ring drops a batch still waiting for room when the peer closes.
    return waiting.then(() => {
      if (!this.#closed && end.peerClosed()) throw new ConnectionClosedError("send", "peer");
    });
  }

  receive(): AsyncIterable<unknown[]> {
    return this.#end.transport.receive();
  }

  close(): Promise<void> {
    this.#closed = true;
    return this.#end.transport.close();
  }
}

/**
 * Byte streams in the `pipe` framing over a ring end here, for an end that
 * goes on to a process actor after its peer went to a worker over the rings:
 * what the rings bring is encoded onto `readable`, what the actor writes on
 * `writable` is decoded onto the rings. The actor closing its end (or the
 * runtime closing it for the actor) closes the ring end; the far end closing
 * ends `readable` after what it sent.
 *
 * @param ring The ring end, not used yet.
 * @param receives The actor reads (give it `readable`).
 * @param sends The actor writes (give it `writable`).
 */
export function streamsOverRing(
  ring: PipeTransport,
  receives: boolean,
  sends: boolean,
  codec: Codec,
  maxFrameBytes: number,
): { readable?: ReadableStream<Uint8Array>; writable?: WritableStream<Uint8Array> } {
  const end: { readable?: ReadableStream<Uint8Array>; writable?: WritableStream<Uint8Array> } = {};
  let open = Number(receives) + Number(sends);
  const finish = (): void => {
    if (--open === 0) ring.close().catch(noop);
  };
  if (receives) {
    const toActor = new TransformStream<Uint8Array, Uint8Array>();
    end.readable = toActor.readable;
    const bytes = new StreamTransport(undefined, toActor.writable, codec, maxFrameBytes);
    void (async () => {
      try {
        for await (const batch of ring.receive()) await bytes.send(batch);
      } catch {
        // The actor's side went, or the far end failed: end the actor's stream either way.
      } finally {
        await bytes.close().catch(noop);
        finish();
      }
    })();
  }
  if (sends) {
    const fromActor = new TransformStream<Uint8Array, Uint8Array>();
    end.writable = fromActor.writable;
    const bytes = new StreamTransport(fromActor.readable, undefined, codec, maxFrameBytes);
    void (async () => {
      try {
        for await (const batch of bytes.receive()) await ring.send(batch);
      } catch {
        // The far end closed, or the actor sent bytes that are no frame: stop taking them.
      } finally {
        await bytes.close().catch(noop);
        // The actor closed its end: so is the pipe, both ways.
        await ring.close().catch(noop);
        finish();
      }
    })();
  }
  return end;
}
