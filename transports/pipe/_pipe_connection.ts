/**
 * The one class behind every {@linkcode Pipe} end, {@linkcode PipeConnection}:
 * its receive buffer and waiters over a stream transport, and how an end
 * goes to an actor: as streams ({@linkcode HAND_OFF}), or to a worker or
 * thread actor over shared memory, a ring pair shared with its unused peer
 * ({@linkcode HAND_OFF_RINGS}, which {@linkcode connectionFromRings} opens
 * there), or as a port straight to that peer ({@linkcode HAND_OFF_PORT},
 * which {@linkcode connectionFromPort} opens). `channel.ts` makes the ends
 * and states their guarantees.
 *
 * @module
 */

import { ConnectionClosedError } from "../../internal/channel_errors.ts";
import { noop, settleWithin, watchDeadline } from "../../internal/abort.ts";
import { lendingHere, privatize } from "../../internal/lent.ts";
import {
  PIPE_END_WINDOW_BYTES,
  type PortStreams,
  portStreams,
  webStreamsOver,
} from "../../internal/port_streams.ts";
import type { Codec } from "../codec.ts";
import { checkCodec } from "../framing/codec_options.ts";
import { checkMaxFrameBytes } from "../framing/framing.ts";
import { StreamTransport } from "../framing/stream_transport.ts";
import {
  allocateRingPair,
  closeRingEndFor,
  reverseRingPair,
  type RingPair,
} from "../ring/shared_rings.ts";
import type { Connection, RecvOptions } from "./connection.ts";
import {
  pipeRingSizes,
  type PipeTransport,
  RingPipeTransport,
  streamsOverRing,
} from "./_ring_pipe.ts";

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/**
 * The key under which a {@linkcode Pipe} end gives up its streams to be
 * handed to an actor (the actor system calls it when it finds the end in a
 * spawn's args). A registered symbol: the actor layer looks it up by name.
 */
export const HAND_OFF: unique symbol = Symbol.for("troupe.pipe.handOff") as never;

/** What a {@linkcode Pipe} end hands to an actor: its streams, unopened. */
export interface HandedOffEnd {
  readable?: ReadableStream<Uint8Array>;
  writable?: WritableStream<Uint8Array>;
}

/**
 * The key under which a {@linkcode Pipe} end goes to a worker actor as a
 * `MessagePort` straight to its peer end here, when that peer was not used
 * yet: the peer then runs its frames over the port itself, with no web
 * streams and no pump between. A registered symbol, as {@linkcode HAND_OFF}.
 */
export const HAND_OFF_PORT: unique symbol = Symbol.for("troupe.pipe.handOffPort") as never;

/** What a {@linkcode Pipe} end hands to a worker actor through {@linkcode HAND_OFF_PORT}. */
export interface HandedOffPort {
  /** The port to transfer to the worker; its peer stays with this end's peer here. */
  port: MessagePort;
  /** The actor reads from the port. */
  receives: boolean;
  /** The actor writes to the port. */
  sends: boolean;
  /**
   * The actor ended: sends from the peer end here fail at once, and it gets
   * what the actor sent before it ended, then ends. Resolves once the port
   * here is closed.
   */
  settle(): Promise<void>;
}

/**
 * The key under which a {@linkcode Pipe} end goes to a worker or thread
 * actor over shared memory: a ring pair it shares with its peer end, which
 * is still unused here (or, once that peer went to another actor the same
 * way, with it there). A registered symbol, as {@linkcode HAND_OFF}.
 */
export const HAND_OFF_RINGS: unique symbol = Symbol.for("troupe.pipe.handOffRings") as never;

/** What a {@linkcode Pipe} end hands to a worker or thread actor through {@linkcode HAND_OFF_RINGS}. */
export interface HandedOffRings {
  /** The rings, as the actor's end sees them (it reads `inbound`). */
  rings: RingPair;
  /** The actor reads from the rings. */
  receives: boolean;
  /** The actor writes to them. */
  sends: boolean;
  /**
   * The actor ended (or will run nothing more): closes its end on its
   * behalf, so the peer's sends fail at once and the peer receives what the
   * actor wrote, then ends. Resolves at once: shared memory needs no wait.
   */
  settle(): Promise<void>;
}

/**
 * The key under which a {@linkcode Pipe} end goes to a process actor
 * straight over a transport the runtime opened to it (a link of its pipe
 * bridge, a private socket), when its peer here is unused: the peer then
 * sends and receives its values on that transport itself, and the actor
 * opens its end over the transport's other side
 * ({@linkcode connectionFromTransport}). No web streams, no pump and no
 * second framing between: each value is encoded once, on the socket. A
 * registered symbol, as {@linkcode HAND_OFF}.
 */
export const HAND_OFF_TRANSPORT: unique symbol = Symbol.for(
  "troupe.pipe.handOffTransport",
) as never;

/** What a {@linkcode Pipe} end hands to a process actor through {@linkcode HAND_OFF_TRANSPORT}. */
export interface HandedOffTransport {
  /** The actor reads from the transport. */
  receives: boolean;
  /** The actor writes to it. */
  sends: boolean;
  /**
   * The actor is ending: the peer end here reads on into its buffer with
   * nobody waiting, so the actor's last writes complete (a socket full of
   * unread values would hold them until the actor's process exits without
   * them).
   */
  drain(): void;
  /**
   * The actor ended: sends from the peer end here fail at once, and it
   * reads what the actor sent before it ended (waiting while more comes, as
   * the other hand-offs do), then ends and closes the transport. Resolves
   * once that is read into the peer's buffer.
   */
  settle(): Promise<void>;
}

/** How long the peer end waits for more of what a stopped actor sent, and at most in all. */
const QUIET_MS = 25;
const GRACE_MS = 2000;

/** A pair of unused ends made together, and what they were made with. */
export interface Pairing {
  codec: Codec;
  maxFrameBytes: number;
}

/** A connection end over a stream transport or a ring pair; one class, capabilities checked at runtime. */
export class PipeConnection<T> implements Connection<T> {
  #transportOrStreams: PipeTransport | (() => PipeTransport);
  #handedOff = false;
  #handOff: (() => HandedOffEnd) | undefined;
  /** The other end of the same `Pipe()`, while neither was used or handed off. */
  #peer: PipeConnection<T> | undefined;
  #pairing: Pairing | undefined;
  /**
   * The rings this end would run over, while unused, once its peer went to
   * an actor over them: it can follow the same way ({@linkcode HAND_OFF_RINGS}).
   */
  #rings: RingPair | undefined;
  readonly #canSend: boolean;
  readonly #canReceive: boolean;
  #iterator: AsyncIterator<unknown[]> | undefined;
  #buffer: T[] = [];
  #head = 0;
  #waiters: Waiter<T>[] = [];
  #pulling = false;
  #ended: { error: unknown } | undefined;
  #closing: Promise<void> | undefined;
  /** The actor at the far end of an adopted transport ended: sends fail, receives drain. */
  #peerGone = false;
  /** Batches received so far (how a drain sees that more is still coming). */
  #batches = 0;
  /**
   * The actor at the far end of an adopted transport is ending or ended:
   * read on with nobody waiting.
   */
  #draining = false;
  /** While a drain after the far end's actor ended runs: resolves it once receiving ended. */
  #drained: (() => void) | undefined;

  /**
   * @param transport The transport, or how to make it on first use (an end
   * not used yet can be handed to an actor with `handOff`).
   */
  constructor(
    transport: PipeTransport | (() => PipeTransport),
    canSend: boolean,
    canReceive: boolean,
    handOff?: () => HandedOffEnd,
  ) {
    this.#transportOrStreams = transport;
    this.#canSend = canSend;
    this.#canReceive = canReceive;
    this.#handOff = handOff;
  }

  get #transport(): PipeTransport {
    if (this.#handedOff) {
      throw new TypeError("Cannot use this pipe end here: it was handed to an actor");
    }
    if (typeof this.#transportOrStreams === "function") {
      this.#transportOrStreams = this.#transportOrStreams();
    }
    return this.#transportOrStreams;
  }

  /** Makes `a` and `b`, unused ends of one `Pipe()`, each other's peer. */
  static pair<T>(a: PipeConnection<T>, b: PipeConnection<T>, pairing: Pairing): void {
    a.#peer = b;
    b.#peer = a;
    a.#pairing = b.#pairing = pairing;
  }

  /** Whether nothing opened or handed off this end yet. */
  get #unused(): boolean {
    return typeof this.#transportOrStreams === "function" && !this.#handedOff &&
      this.#closing === undefined;
  }

  /**
   * Hands this end to a worker or thread actor over a ring pair: shared with
   * its peer end here, which then runs over the rings, or, when that peer
   * went the same way first, with it in its actor. `undefined` when the peer
   * was used already (or this end cannot go to an actor: {@linkcode HAND_OFF}
   * then says why).
   */
  [HAND_OFF_RINGS](): HandedOffRings | undefined {
    if (this.#handOff === undefined || !this.#unused) return undefined;
    let rings = this.#rings;
    if (rings === undefined) {
      const peer = this.#peer;
      const pairing = this.#pairing;
      if (peer === undefined || pairing === undefined || !peer.#unused) return undefined;
      this.#peer = peer.#peer = undefined;
      rings = allocateRingPair(...pipeRingSizes(this.#canReceive, this.#canSend));
      const theirs = reverseRingPair(rings);
      const receives = peer.#canReceive, sends = peer.#canSend;
      const open = (): PipeTransport => {
        peer.#rings = undefined;
        return new RingPipeTransport(theirs, pairing.codec, pairing.maxFrameBytes);
      };
      peer.#rings = theirs;
      peer.#transportOrStreams = open;
      // Handed on to a process actor, the peer bridges the rings to bytes here.
      peer.#handOff = () =>
        streamsOverRing(open(), receives, sends, pairing.codec, pairing.maxFrameBytes);
    }
    this.#rings = undefined;
    this.#handedOff = true;
    const handed = rings;
    return {
      rings: handed,
      receives: this.#canReceive,
      sends: this.#canSend,
      settle: () => {
        closeRingEndFor(handed);
        return Promise.resolve();
      },
    };
  }

  /**
   * Marks this end handed off and unpairs it from its peer, which the caller
   * then sets up to run over what the end goes by; `undefined` (and nothing
   * changed) when either end was used, or this one cannot go to an actor.
   */
  #takePeer(): { peer: PipeConnection<T>; pairing: Pairing } | undefined {
    const peer = this.#peer;
    const pairing = this.#pairing;
    if (
      peer === undefined || pairing === undefined || this.#handOff === undefined ||
      !this.#unused || !peer.#unused
    ) return undefined;
    this.#peer = peer.#peer = undefined;
    this.#handedOff = true;
    return { peer, pairing };
  }

  /**
   * Hands this end to a worker actor as a port to its peer end here, which
   * then runs over the port; `undefined` when the peer was used already (or
   * this end cannot go to an actor: {@linkcode HAND_OFF} then says why).
   */
  [HAND_OFF_PORT](): HandedOffPort | undefined {
    const taken = this.#takePeer();
    if (taken === undefined) return undefined;
    const { peer, pairing } = taken;
    const { port1, port2 } = new MessageChannel();
    const receives = peer.#canReceive, sends = peer.#canSend;
    // Read from now on: what the actor sends waits here (up to the window)
    // until the peer is used, handed on, or settled.
    const parts = portStreams(port1, PIPE_END_WINDOW_BYTES);
    const open = (): PortStreams => parts;
    peer.#transportOrStreams = () => {
      const { readable, writable } = open();
      const transport = new StreamTransport(
        receives ? readable : undefined,
        sends ? writable : undefined,
        pairing.codec,
        pairing.maxFrameBytes,
      );
      // A direction this end lacks is ended, so the port closes once the other is done.
      if (!receives) readable.cancel().catch(noop);
      if (!sends) writable.getWriter().close().catch(noop);
      return transport;
    };
    // Handed on to an actor of its own, the peer gives web streams over the port.
    peer.#handOff = () => webStreamsOver(open(), { readable: receives, writable: sends });
    return {
      port: port2,
      receives: this.#canReceive,
      sends: this.#canSend,
      settle: () => open().peerGone(QUIET_MS, GRACE_MS),
    };
  }

  /**
   * Hands this end to a process actor over `transport`, a link to it that
   * its peer end here then runs over; `undefined` when the peer was used
   * already (or this end cannot go to an actor: {@linkcode HAND_OFF} then
   * says why), and `transport` is not taken.
   */
  [HAND_OFF_TRANSPORT](transport: PipeTransport): HandedOffTransport | undefined {
    const taken = this.#takePeer();
    if (taken === undefined) return undefined;
    const { peer, pairing } = taken;
    const receives = peer.#canReceive, sends = peer.#canSend;
    peer.#transportOrStreams = () => transport;
    // Handed on to an actor of its own, the peer bridges the transport to bytes here.
    peer.#handOff = () =>
      streamsOverRing(transport, receives, sends, pairing.codec, pairing.maxFrameBytes);
    return {
      receives: this.#canReceive,
      sends: this.#canSend,
      drain: () => peer.#drainFarEnd(),
      settle: () => peer.#farEndGone(),
    };
  }

  /** The actor holding the far end of this end's adopted transport is ending: reads on. */
  #drainFarEnd(): void {
    if (this.#handedOff || this.#closing !== undefined || !this.#canReceive) return;
    this.#draining = true;
    void this.#pull();
  }

  /**
   * The actor holding the far end of this end's adopted transport ended:
   * reads what it sent into the buffer while more keeps coming (within
   * `QUIET_MS` of the last, `GRACE_MS` in all), then ends this end's
   * receiving and closes the transport. An end handed on meanwhile is its
   * new holder's to settle; one closed here has nothing left to do.
   */
  async #farEndGone(): Promise<void> {
    if (this.#handedOff || this.#closing !== undefined) return;
    this.#peerGone = true;
    const transport = this.#transport;
    if (this.#canReceive) {
      const ended = Promise.withResolvers<void>();
      const deadline = Date.now() + GRACE_MS;
      this.#drained = ended.resolve;
      this.#draining = true;
      void this.#pull();
      let seen = -1;
      while (this.#ended === undefined && this.#batches !== seen && Date.now() < deadline) {
        seen = this.#batches;
        await settleWithin(ended.promise, QUIET_MS);
      }
      this.#drained = undefined;
      // What was read stays in the buffer for recv(); after it, the end is closed.
      this.#end(new ConnectionClosedError("receive", "peer"));
    }
    await transport.close().catch(noop);
  }

  /** Gives up the streams, unopened, to be handed to an actor; throws once the end was used. */
  [HAND_OFF](): HandedOffEnd {
    if (this.#handOff === undefined) {
      throw new TypeError(
        "Cannot hand this pipe end to an actor: its pipe has its own codec or frame limit, and an actor opens its end with the defaults",
      );
    }
    if (this.#handedOff) {
      throw new TypeError("Cannot hand this pipe end to an actor: it went to another one already");
    }
    if (typeof this.#transportOrStreams !== "function" || this.#closing) {
      throw new TypeError(
        "Cannot hand this pipe end to an actor: it was used here already (an end goes to one place)",
      );
    }
    this.#handedOff = true;
    const peer = this.#peer;
    if (peer !== undefined) this.#peer = peer.#peer = undefined;
    return this.#handOff();
  }

  send(value: T): void | Promise<void> {
    if (!this.#canSend) {
      throw new TypeError("Cannot send: this end of a one-way pipe only receives");
    }
    if (this.#closing) throw new ConnectionClosedError("send", "local");
    if (this.#peerGone) throw new ConnectionClosedError("send", "peer");
    // A lent byte array (an actor's `lendBytes`) may be encoded after its memory was reused.
    if (lendingHere.active) value = privatize(value) as T;
    return this.#transport.send([value]);
  }

  recv(options: RecvOptions = {}): Promise<T> {
    if (!this.#canReceive) {
      throw new TypeError("Cannot receive: this end of a one-way pipe only sends");
    }
    if (this.#handedOff) {
      throw new TypeError("Cannot use this pipe end here: it was handed to an actor");
    }
    const { signal, timeout } = options;
    if (timeout !== undefined && !(typeof timeout === "number" && timeout >= 0)) {
      return Promise.reject(
        new RangeError(
          `Cannot receive: timeout must be a non-negative number of milliseconds, received ${timeout}`,
        ),
      );
    }
    if (this.#head < this.#buffer.length && this.#waiters.length === 0) {
      return Promise.resolve(this.#take());
    }
    if (this.#ended) return Promise.reject(this.#ended.error);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        resolve(value) {
          stop();
          resolve(value);
        },
        reject(error) {
          stop();
          reject(error);
        },
      };
      this.#waiters.push(waiter);
      const stop = watchDeadline(
        signal,
        timeout === Infinity ? undefined : timeout,
        (reason) => {
          const index = this.#waiters.indexOf(waiter);
          if (index === -1) return;
          this.#waiters.splice(index, 1);
          reject(reason);
        },
        () =>
          new DOMException(
            `Cannot receive: no message arrived within ${timeout} ms`,
            "TimeoutError",
          ),
      );
      this.#pull();
    });
  }

  #take(): T {
    const value = this.#buffer[this.#head]!;
    this.#buffer[this.#head++] = undefined as T;
    if (this.#head === this.#buffer.length) {
      this.#buffer = [];
      this.#head = 0;
    }
    return value;
  }

  async #pull(): Promise<void> {
    if (this.#pulling) return;
    this.#pulling = true;
    try {
      this.#iterator ??= this.#transport.receive()[Symbol.asyncIterator]();
      // A drain (the far end's actor ended) reads on with nobody waiting.
      while (
        (this.#waiters.length > 0 || this.#draining) && this.#ended === undefined
      ) {
        const result = await this.#iterator.next();
        if (this.#ended !== undefined) return; // a drain gave up, or close() came meanwhile
        if (result.done) {
          this.#end(new ConnectionClosedError("receive", this.#closing ? "local" : "peer"));
          return;
        }
        this.#batches++;
        for (const value of result.value) this.#buffer.push(value as T);
        while (this.#waiters.length > 0 && this.#head < this.#buffer.length) {
          this.#waiters.shift()!.resolve(this.#take());
        }
      }
    } catch (error) {
      this.#end(error);
    } finally {
      this.#pulling = false;
    }
  }

  #end(error: unknown): void {
    if (this.#ended) return;
    this.#ended = { error };
    this.#drained?.();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  async *#iterate(): AsyncGenerator<T> {
    while (true) {
      let value: T;
      try {
        value = await this.recv();
      } catch (error) {
        if (error instanceof ConnectionClosedError) return;
        throw error;
      }
      yield value;
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.#iterate();
  }

  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#buffer = [];
      this.#head = 0;
      this.#end(new ConnectionClosedError("receive", "local"));
      // An end handed to an actor is closed by the system when the actor ends.
      this.#closing = this.#handedOff ? Promise.resolve() : this.#transport.close();
    }
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * In a worker or thread actor: opens a `Pipe()` end that came as a ring
 * pair, with the defaults (an end goes to an actor only with them).
 */
export function connectionFromRings(rings: RingPair, receives: boolean, sends: boolean): unknown {
  const transport = new RingPipeTransport(
    rings,
    checkCodec(undefined, "Cannot open pipe connection"),
    checkMaxFrameBytes(undefined, "Cannot open pipe connection"),
  );
  return new PipeConnection(transport, sends, receives);
}

/**
 * In a worker actor: opens a `Pipe()` end that came as a port, with the
 * defaults (an end goes to an actor only with them), straight over the
 * port's stand-in streams. A direction the end lacks is ended at once.
 */
export function connectionFromPort(port: MessagePort, receives: boolean, sends: boolean): unknown {
  const { readable, writable } = portStreams(port, PIPE_END_WINDOW_BYTES);
  const transport = new StreamTransport(
    receives ? readable : undefined,
    sends ? writable : undefined,
    checkCodec(undefined, "Cannot open pipe connection"),
    checkMaxFrameBytes(undefined, "Cannot open pipe connection"),
  );
  if (!receives) readable.cancel().catch(noop);
  if (!sends) writable.getWriter().close().catch(noop);
  return new PipeConnection(transport, sends, receives);
}

/**
 * In a process actor: opens a `Pipe()` end that came as a link of the pipe
 * bridge (see {@linkcode HAND_OFF_TRANSPORT}), straight over that link's
 * transport, which the connection then owns.
 */
export function connectionFromTransport(
  transport: PipeTransport,
  receives: boolean,
  sends: boolean,
): unknown {
  return new PipeConnection(transport, sends, receives);
}
