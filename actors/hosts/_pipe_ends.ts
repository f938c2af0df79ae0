// Pipe ends in spawn args. A `PipeEnd` (from `pipeEnds()`) anywhere in an
// actor's args, inside plain objects and arrays, reaches the actor as a pipe
// end it opens with `connectionFromStreams`, like a `multiprocessing.Pipe`
// end passed to a `Process`:
//
// - a worker actor gets a MessagePort per end, a byte stream both ways that
//   its bootstrap turns back into streams (a transferred web stream would
//   keep a port open here for good when the worker goes with bytes unread);
// - a process actor gets a link of the bridge transport (a private socket),
//   which its bootstrap turns back into streams before `init` runs.
//
// The parent keeps a pump between the end it was given and the carrier. A
// `Pipe()` end going to a worker actor while its peer end here is unused
// needs none: the end shares a ring pair with its peer, which then runs over
// the rings (`HAND_OFF_RINGS`; the peer can follow to another worker or
// thread actor the same way, and the two talk over shared memory with this
// thread out of the way). Nor does one going to a process actor while its
// peer is unused: the peer runs over the link itself (`HAND_OFF_TRANSPORT`),
// and the actor opens its end straight on the link's other side, so each
// value is framed once, on the socket, with no streams between. When the
// actor ends, the pumps stop (or the end is closed on the actor's behalf in
// the rings, or the link drained and closed): the parent's end still gets
// everything the actor sent, then closes, so its `recv()` rejects with
// `ConnectionClosedError` instead of waiting for a dead peer, and its
// `send()` fails. An end goes to one actor, once.

import type { Transport, TransportFactory, TransportLink } from "../../transports/transport.ts";
import { noop, valueWithin } from "../../internal/abort.ts";
import {
  CONNECTION,
  isPlainObject,
  PORT,
  type PortEnd,
  replaceIn,
  type RingEnd,
  RINGS,
  streamsOverPort,
  TRANSPORT,
  type TransportEnd,
} from "./_connections.ts";
export { hasConnections } from "./_connections.ts";

/** The streams of a pipe end, as `pipeEnds()` makes them. */
export interface EndStreams {
  readable?: ReadableStream<Uint8Array>;
  writable?: WritableStream<Uint8Array>;
}

/** What stands for a pipe end in a process actor's boot message. */
interface EndPlaceholder {
  [MARK]: unknown;
  readable: boolean;
  writable: boolean;
  /** The actor gets a connection (a `Pipe()` end), not streams. */
  connection: boolean;
  /** The connection opens straight on the link's transport (see `HAND_OFF_TRANSPORT`). */
  direct?: true;
}

const MARK = "troupe.pipeEnd";
/** The longest a stopped actor's last bytes are waited for. */
const GRACE_MS = 2000;

/** The pipe ends of one actor: what to send it instead of its args, and how to end them. */
export interface PipeBridges {
  /** The args with every pipe end replaced. */
  args: unknown;
  /** Streams to transfer with the boot message (worker actors). */
  transfer: Transferable[];
  /** What a process actor must be allowed to do to open its ends. */
  childPermissions: { read: string[]; write: string[]; net: string[] };
  /** The module whose `connect` opens an end (process actors), when there are ends. */
  module: string | undefined;
  /** Whether there are any ends: without, `settle` does nothing. */
  active: boolean;
  /**
   * The actor is ending (a process actor's exit is on its way): the
   * parent's ends read on, so the actor's last writes are not held up.
   */
  drain?(): void;
  /**
   * The actor ended: stops the pumps, hands what it sent to the parent's
   * ends, which then end, and closes the carriers.
   */
  settle(): Promise<void>;
}

function isEnd(value: unknown): value is EndStreams {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  if (keys.length === 0 || keys.some((k) => k !== "readable" && k !== "writable")) return false;
  const { readable, writable } = value;
  return (readable === undefined || readable instanceof ReadableStream) &&
    (writable === undefined || writable instanceof WritableStream) &&
    (readable !== undefined || writable !== undefined);
}

/**
 * Where a `Pipe()` end keeps the hand-off of its streams (a registered
 * symbol: the pipe's module, a transport, is not this layer's to import).
 */
const HAND_OFF = Symbol.for("troupe.pipe.handOff");

/**
 * Where a `Pipe()` end offers, for a worker actor, a port straight to its
 * peer end in this thread (when that peer is still unused): no pump then.
 */
const HAND_OFF_PORT = Symbol.for("troupe.pipe.handOffPort");

/**
 * Where a `Pipe()` end offers, for a worker or thread actor, a ring pair it
 * shares with its unused peer: no pump, and no port.
 */
const HAND_OFF_RINGS = Symbol.for("troupe.pipe.handOffRings");

/** What a `Pipe()` end's ring hand-off gives. */
interface HandedOffRings {
  /** The rings as the actor's end sees them. */
  rings: { inbound: SharedArrayBuffer; outbound: SharedArrayBuffer };
  receives: boolean;
  sends: boolean;
  /** The actor ended: its end is closed for it, the peer gets what it sent, then ends. */
  settle(): Promise<void>;
}

/**
 * Where a `Pipe()` end offers, for a process actor, to go as a link of the
 * pipe bridge that its unused peer here then runs over: no pump, no streams.
 */
const HAND_OFF_TRANSPORT = Symbol.for("troupe.pipe.handOffTransport");

/** What a `Pipe()` end's transport hand-off gives. */
interface HandedOffTransport {
  receives: boolean;
  sends: boolean;
  /** The actor is ending: the peer reads on, so its last writes complete. */
  drain(): void;
  /** The actor ended: the peer gets what it sent, then ends and closes the link. */
  settle(): Promise<void>;
}

/** What a `Pipe()` end's port hand-off gives. */
interface HandedOffPort {
  port: MessagePort;
  /** The actor reads from the port. */
  receives: boolean;
  /** The actor writes to the port. */
  sends: boolean;
  /** The actor ended: the peer end here gets what it sent, then ends. */
  settle(): Promise<void>;
}

/** A `Pipe()` end (a connection object), which gives up its streams to go to an actor. */
function isConnectionEnd(value: unknown): value is { [HAND_OFF](): EndStreams } {
  return typeof value === "object" && value !== null &&
    typeof (value as Record<symbol, unknown>)[HAND_OFF] === "function";
}

function isPlaceholder(value: unknown): value is EndPlaceholder {
  return isPlainObject(value) && MARK in value;
}

/**
 * A pipe end found in the args: its streams, and whether the actor gets it
 * as a connection; or, for a worker actor, the port or the rings a
 * `Pipe()` end gave; or, for a process actor, the link a `Pipe()` end took.
 */
type FoundEnd =
  | OneWay<"streams", EndStreams> & { connection: boolean }
  | OneWay<"port", HandedOffPort> & { connection: true }
  | OneWay<"rings", HandedOffRings> & { connection: true }
  | OneWay<"direct", HandedOffTransport> & { connection: true };

/** The ways an end goes: `K` holds it, and the others are absent. */
type OneWay<K extends "streams" | "port" | "rings" | "direct", V> =
  & { [P in K]: V }
  & { [P in Exclude<"streams" | "port" | "rings" | "direct", K>]?: undefined };

function isAnyEnd(value: unknown): boolean {
  return isEnd(value) || isConnectionEnd(value);
}

/** How many distinct pipe ends `args` holds (each one `findEnds` finds). */
function countEnds(args: unknown): number {
  const ends = new Set<unknown>();
  replaceIn(args, isAnyEnd, (end) => ends.add(end) && end, "args", new Set());
  return ends.size;
}

/**
 * The pipe ends in `args` (streams from `pipeEnds()`, or `Pipe()` ends,
 * whose streams, or for a worker actor a port, they hand off now), each
 * once, by the value in the args. For a process actor, `links` holds one
 * transport per end, in the order found: a `Pipe()` end whose peer is
 * unused goes over its own, which the peer here then runs over.
 */
function findEnds(
  args: unknown,
  ports: boolean,
  links: readonly Transport[] = [],
): Map<unknown, FoundEnd> {
  const ends = new Map<unknown, FoundEnd>();
  const checked: [unknown, string][] = [];
  replaceIn(
    args,
    isAnyEnd,
    (end, path) => {
      if (isEnd(end) && (end.readable?.locked || end.writable?.locked)) {
        throw new TypeError(
          `Cannot spawn actor: ${path} is a pipe end already in use (an end goes to one actor, once)`,
        );
      }
      checked.push([end, path]);
      return end;
    },
    "args",
    new Set(),
  );
  // Hand-offs only once every end was found valid: a refused spawn takes none.
  for (const [end, path] of checked) {
    if (ends.has(end)) continue;
    if (isEnd(end)) {
      ends.set(end, { streams: end, connection: false });
      continue;
    }
    try {
      const offerRings = (end as { [HAND_OFF_RINGS]?(): HandedOffRings | undefined })[
        HAND_OFF_RINGS
      ];
      const rings = ports && typeof offerRings === "function" ? offerRings.call(end) : undefined;
      if (rings !== undefined) {
        ends.set(end, { rings, connection: true });
        continue;
      }
      const link = links[ends.size];
      const offerLink = (end as {
        [HAND_OFF_TRANSPORT]?(transport: Transport): HandedOffTransport | undefined;
      })[HAND_OFF_TRANSPORT];
      const direct = !ports && link !== undefined && typeof offerLink === "function"
        ? offerLink.call(end, link)
        : undefined;
      if (direct !== undefined) {
        ends.set(end, { direct, connection: true });
        continue;
      }
      const offer = (end as { [HAND_OFF_PORT]?(): HandedOffPort | undefined })[HAND_OFF_PORT];
      const port = ports && typeof offer === "function" ? offer.call(end) : undefined;
      if (port !== undefined) ends.set(end, { port, connection: true });
      else {
        ends.set(end, {
          streams: (end as { [HAND_OFF](): EndStreams })[HAND_OFF](),
          connection: true,
        });
      }
    } catch (error) {
      // A refused spawn leaves no port open here, and no peer waiting on rings.
      for (const { port, rings, direct } of ends.values()) {
        port?.port.close();
        port?.settle().catch(noop);
        rings?.settle().catch(noop);
        direct?.settle().catch(noop);
      }
      throw new TypeError(`Cannot spawn actor: ${path}: ${(error as Error).message}`);
    }
  }
  return ends;
}

/** What is cut when the actor ends: the pumps of one or more ends. */
interface Pump {
  /**
   * Stops the pumps: the parent's sends to the actor fail at once, and what
   * the actor sent before it ended is handed to the parent's end, which then
   * ends. Resolves once that is queued there (not once the parent read it).
   */
  cut(): Promise<void>;
  /** The actor is ending: reads on from it (see {@linkcode PipeBridges.drain}). */
  drain?(): void;
}

/**
 * How long the parent's end waits for more of what a stopped actor sent:
 * bytes already on their way arrive within microseconds, and a stream from
 * a worker that is gone never ends by itself.
 */
const QUIET_MS = 25;

/**
 * Once the actor is ending (or ended): moves what it sends and the parent has
 * not read yet into the parent's end, without waiting for the parent to read
 * it (what is left is bounded: the actor sends no more once it ended). Until
 * `ended` resolves it reads all that comes; after, what comes within
 * `QUIET_MS` of the last chunk, `GRACE_MS` in all. Then it ends the parent's end.
 */
async function deliverRest(
  source: ReadableStream<Uint8Array>,
  destination: WritableStream<Uint8Array>,
  ended: Promise<void>,
): Promise<void> {
  const writer = destination.getWriter();
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    reader = source.getReader();
    let endedAt: number | undefined;
    const ending = ended.then(() => void (endedAt = Date.now()));
    let read = reader.read();
    while (true) {
      let next: ReadableStreamReadResult<Uint8Array> | undefined;
      if (endedAt === undefined) {
        next = await Promise.race([read, ending]);
        if (next === undefined) continue; // ended now: the same read, bounded from here on
      } else {
        if (Date.now() >= endedAt + GRACE_MS) break;
        // The next chunk, or undefined when none came within QUIET_MS.
        next = await valueWithin(read, QUIET_MS);
      }
      if (next === undefined || next.done) break;
      writer.write(next.value).catch(noop);
      read = reader.read();
    }
  } catch {
    // The actor's side failed: what came before it is queued already.
  } finally {
    reader?.cancel().catch(noop);
    writer.close().catch(noop);
    writer.releaseLock();
  }
}

/**
 * Pumps bytes from the end to the carrier and back, with backpressure while
 * the actor lives. `cut()` stops them when the actor ended: see {@linkcode Pump}.
 */
function pump(end: EndStreams, carrier: EndStreams & { cut?: () => void }): Pump {
  const toActor = new AbortController();
  const fromActor = new AbortController();
  const ended = Promise.withResolvers<void>();
  let sending: Promise<unknown> = Promise.resolve();
  let receiving: Promise<void> = Promise.resolve();
  if (end.readable && carrier.writable) {
    sending = end.readable.pipeTo(carrier.writable, { signal: toActor.signal }).catch(noop);
  }
  if (end.writable && carrier.readable) {
    const writable = end.writable, readable = carrier.readable;
    // Cut without cancelling the source: what is queued in it is still to deliver.
    const options = { signal: fromActor.signal, preventAbort: true, preventCancel: true };
    receiving = readable.pipeTo(writable, { ...options, preventClose: true }).then(
      () => writable.close().catch(noop),
      () => deliverRest(readable, writable, ended.promise),
    );
  }
  return {
    // Past the pipe's backpressure from here on: the actor's last writes must not wait for the parent.
    drain: () => fromActor.abort(),
    cut: async () => {
      ended.resolve();
      toActor.abort();
      fromActor.abort();
      // A write that waits for room the actor will never make ends now.
      carrier.cut?.();
      await Promise.all([sending, receiving]);
    },
  };
}

function settler(pumps: Pump[], close: () => Promise<void>): () => Promise<void> {
  let settled: Promise<void> | undefined;
  return () => {
    settled ??= (async () => {
      await Promise.all(pumps.map((p) => p.cut()));
      await close();
    })();
    return settled;
  };
}

const NO_PERMISSIONS = { read: [], write: [], net: [] };

/**
 * Carries the pipe ends in `args` to a worker (or thread) actor: a
 * `Pipe()` end whose peer is unused shares a ring pair with it (closed on
 * the actor's behalf once it ended); any other end becomes a MessagePort
 * transferred to the worker, a byte stream both ways (up to 64 KiB in
 * flight, like an operating system's pipe), pumped to and from the end here.
 * The port here is closed once the actor ended, even with bytes it never read.
 *
 * @throws {TypeError} When an end is already in use.
 */
export function bridgeToWorker(args: unknown): PipeBridges {
  const ends = findEnds(args, true);
  const transfer: Transferable[] = [];
  const pumps: Pump[] = [];
  const replacements = new Map<unknown, PortEnd | RingEnd>();
  for (const [value, { streams: end, connection, port, rings }] of ends) {
    if (rings !== undefined) {
      // Shared memory with the peer end: the buffers are shared, not transferred.
      replacements.set(value, {
        [RINGS]: rings.rings,
        readable: rings.receives,
        writable: rings.sends,
        [CONNECTION]: true,
      });
      pumps.push({ cut: () => rings.settle() });
      continue;
    }
    if (port !== undefined) {
      // Straight to the peer end here: what settles it is the port's own end.
      const { receives, sends } = port;
      replacements.set(value, {
        [PORT]: port.port,
        readable: receives,
        writable: sends,
        [CONNECTION]: true,
      });
      transfer.push(port.port);
      pumps.push({ cut: () => port.settle() });
      continue;
    }
    if (end === undefined) continue; // only process actors take links
    const channel = new MessageChannel();
    // The actor reads what this end's readable gives, and writes what its writable takes.
    const readable = end.readable !== undefined, writable = end.writable !== undefined;
    const theirs: PortEnd = { [PORT]: channel.port2, readable, writable };
    if (connection) theirs[CONNECTION] = true;
    transfer.push(channel.port2);
    replacements.set(value, theirs);
    pumps.push(
      pump(end, streamsOverPort(channel.port1, { readable: writable, writable: readable })),
    );
  }
  return {
    args: substitute(args, replacements),
    transfer,
    childPermissions: NO_PERMISSIONS,
    module: undefined,
    active: ends.size > 0,
    settle: settler(pumps, () => Promise.resolve()),
  };
}

/**
 * Carries the pipe ends in `args` to a process actor: each end gets a link
 * of `factory` (which must reach processes without stdio, such as the socket
 * transport, and carry values as a `Pipe()` does with its defaults). A
 * `Pipe()` end whose peer here is unused goes over the link itself, which
 * that peer then uses; any other end is pumped to and from the link here.
 *
 * @throws {TypeError} When an end is already in use.
 */
export async function bridgeToProcess(
  args: unknown,
  factory: TransportFactory,
): Promise<PipeBridges> {
  const pumps: Pump[] = [];
  const locals: Transport[] = [];
  const replacements = new Map<unknown, EndPlaceholder>();
  const childPermissions = { read: [] as string[], write: [] as string[], net: [] as string[] };
  let module: string | undefined;
  // The links first: a `Pipe()` end is handed off over its link at once.
  const links: TransportLink[] = [];
  let ends: Map<unknown, FoundEnd>;
  try {
    for (let i = countEnds(args); i > 0; i--) links.push(await factory.open("process"));
    ends = findEnds(args, false, links.map((link) => link.local));
  } catch (error) {
    await Promise.all(links.map((link) => link.local.close().catch(noop)));
    throw error;
  }
  try {
    let index = 0;
    for (const [value, { streams: end, connection, direct }] of ends) {
      const link = links[index++]!;
      // A direct end's link is its peer's transport now: the peer closes it once it has read
      // what the actor sent, or, handed on to another actor, the streams it went as do.
      if (direct === undefined) locals.push(link.local);
      module = link.remote.module;
      for (const kind of ["read", "write", "net"] as const) {
        childPermissions[kind].push(...(link.childPermissions?.[kind] ?? []));
      }
      if (direct !== undefined) {
        const { receives: readable, sends: writable } = direct;
        replacements.set(value, {
          [MARK]: link.remote.options,
          readable,
          writable,
          connection: true,
          direct: true,
        });
        pumps.push({ cut: () => direct.settle(), drain: () => direct.drain() });
        continue;
      }
      if (end === undefined) continue; // only worker actors get ports
      const readable = end.readable !== undefined, writable = end.writable !== undefined;
      replacements.set(value, { [MARK]: link.remote.options, readable, writable, connection });
      const carrier = streamsOverTransport(link.local, { send: readable, receive: writable });
      pumps.push(pump(end, carrier));
    }
  } catch (error) {
    await Promise.all(pumps.map((p) => p.cut()));
    await Promise.all(locals.map((local) => local.close().catch(noop)));
    throw error;
  }
  return {
    args: substitute(args, replacements),
    transfer: [],
    childPermissions,
    module,
    active: ends.size > 0,
    drain: () => {
      for (const pump of pumps) pump.drain?.();
    },
    settle: settler(pumps, async () => {
      await Promise.all(locals.map((local) => local.close().catch(noop)));
    }),
  };
}

/**
 * Inside a process actor: opens the ends the parent bridged, with the bridge
 * module's `connect`, and puts their streams where the ends were. Each link
 * opened goes into `links`, when given (the process flushes them as it exits).
 */
export async function openPipeEnds(
  args: unknown,
  connect: ((options: unknown) => Transport | Promise<Transport>) | undefined,
  links?: Transport[],
): Promise<unknown> {
  const found: EndPlaceholder[] = [];
  replaceIn(args, isPlaceholder, (p) => found.push(p as EndPlaceholder), "args", new Set());
  if (found.length === 0 || connect === undefined) return args;
  const opened = new Map<EndPlaceholder, EndStreams | TransportEnd>();
  for (const placeholder of found) {
    const transport = await connect(placeholder[MARK]);
    links?.push(transport);
    if (placeholder.direct) {
      // The end opens straight on the link (`openConnections` does it).
      const end: TransportEnd = {
        [TRANSPORT]: transport,
        readable: placeholder.readable,
        writable: placeholder.writable,
        [CONNECTION]: true,
      };
      opened.set(placeholder, end);
      continue;
    }
    const carrier = streamsOverTransport(transport, {
      send: placeholder.writable,
      receive: placeholder.readable,
    });
    const end: EndStreams & { [CONNECTION]?: true } = {};
    if (placeholder.readable) end.readable = carrier.readable;
    if (placeholder.writable) end.writable = carrier.writable;
    if (placeholder.connection) end[CONNECTION] = true;
    opened.set(placeholder, end);
  }
  return substitute(args, opened);
}

/**
 * Byte streams over a transport: each chunk is one message, `null` ends a
 * direction. The transport closes once both directions are done.
 */
function streamsOverTransport(
  transport: Transport,
  directions: { send: boolean; receive: boolean },
): EndStreams {
  let open = Number(directions.send) + Number(directions.receive);
  const finish = (): void => {
    if (--open === 0) transport.close().catch(noop);
  };
  const streams: EndStreams = {};
  if (directions.receive) {
    const batches = transport.receive()[Symbol.asyncIterator]();
    let done = false;
    const end = (controller: ReadableStreamDefaultController<Uint8Array>): void => {
      if (done) return;
      done = true;
      controller.close();
      finish();
    };
    streams.readable = new ReadableStream<Uint8Array>({
      async pull(controller) {
        while (!done) {
          let next: IteratorResult<unknown[]>;
          try {
            next = await batches.next();
          } catch {
            return end(controller);
          }
          if (next.done) return end(controller);
          for (const chunk of next.value) {
            if (chunk === null) return end(controller);
            controller.enqueue(chunk as Uint8Array);
          }
          if (next.value.length > 0) return;
        }
      },
      cancel() {
        if (done) return;
        done = true;
        finish();
      },
    });
  }
  if (directions.send) {
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      try {
        transport.send([null]);
      } catch {
        // The peer is gone; closing tells it anyway.
      }
      finish();
    };
    streams.writable = new WritableStream<Uint8Array>({
      write: (chunk) => transport.send([chunk]),
      close: end,
      abort: end,
    });
  }
  return streams;
}

/** `args` with each key of `replacements` (pipe ends, or what stands for them) swapped. */
function substitute(args: unknown, replacements: ReadonlyMap<unknown, unknown>): unknown {
  if (replacements.size === 0) return args;
  return replaceIn(
    args,
    (v) => replacements.has(v),
    (v) => replacements.get(v),
    "args",
    new Set(),
  );
}
