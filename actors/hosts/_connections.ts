// `Pipe()` ends handed to an actor: the parent marks each such end in the
// args, and the actor's bootstrap opens it as a connection again, with the
// pipe's own module (which this layer names only by URL). A worker actor's
// ends travel as MessagePorts, each a byte stream in both directions here
// and in the worker (`streamsOverPort`). Also the one walk over args that
// _pipe_ends.ts uses too. Kept apart from _pipe_ends.ts so that a worker's
// bootstrap loads only this.

import { PIPE_END_WINDOW_BYTES, portStreams, webStreamsOver } from "../../internal/port_streams.ts";

/** Marks an end the actor gets as a connection, opened for it, not as streams. */
export const CONNECTION = "troupe.connection";

/** Holds the port of an end that travels to a worker actor. */
export const PORT = "troupe.port";

/** Holds the ring pair of a `Pipe()` end that travels to a worker or thread actor. */
export const RINGS = "troupe.rings";

/**
 * Holds, inside a process actor, the transport a `Pipe()` end came over
 * when its module opens it straight on that transport (no streams).
 */
export const TRANSPORT = "troupe.transport";

/** The streams of a pipe end. */
interface EndStreams {
  readable?: ReadableStream<Uint8Array>;
  writable?: WritableStream<Uint8Array>;
}

/** Whether `value` is a plain object (what the args walk descends into, with arrays). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isMarked(value: unknown): boolean {
  return isPlainObject(value) && CONNECTION in value;
}

/**
 * Copies `value` (through plain objects and arrays) with every match
 * replaced; returns `value` itself when nothing matched. `path` names where
 * a match is, for errors.
 */
export function replaceIn(
  value: unknown,
  match: (value: unknown) => boolean,
  replace: (found: unknown, path: string) => unknown,
  path: string,
  seen: Set<unknown>,
): unknown {
  if (match(value)) return replace(value, path);
  if (typeof value !== "object" || value === null || seen.has(value)) return value;
  if (!Array.isArray(value) && !isPlainObject(value)) return value;
  seen.add(value);
  let copy: Record<string, unknown> | unknown[] | undefined;
  for (const [key, item] of Object.entries(value)) {
    const next = replaceIn(item, match, replace, `${path}.${key}`, seen);
    if (next !== item) {
      copy ??= Array.isArray(value) ? value.slice() : { ...value };
      (copy as Record<string, unknown>)[key] = next;
    }
  }
  return copy ?? value;
}

/** Opens a connection over an end's streams (the pipe module's `connectionFromStreams`). */
export type OpenConnection = (end: EndStreams) => unknown;

/**
 * Where the pipe module's `connectionFromStreams` keeps how to open a
 * `Pipe()` end straight over the port it came as (a registered symbol: the
 * pipe's module is not this layer's to import).
 */
const OPEN_PORT = Symbol.for("troupe.pipe.openPort");

/** Opens a `Pipe()` end over its port: whether the actor reads and writes it. */
type OpenPortConnection = (port: MessagePort, receives: boolean, sends: boolean) => unknown;

/** Where the pipe module keeps how to open a `Pipe()` end over its ring pair (as `OPEN_PORT`). */
const OPEN_RINGS = Symbol.for("troupe.pipe.openRings");

/** Opens a `Pipe()` end over its ring pair: whether the actor reads and writes it. */
type OpenRingsConnection = (
  rings: RingEnd[typeof RINGS],
  receives: boolean,
  sends: boolean,
) => unknown;

/** Where the pipe module keeps how to open a `Pipe()` end over a transport (as `OPEN_PORT`). */
const OPEN_TRANSPORT = Symbol.for("troupe.pipe.openTransport");

/** Opens a `Pipe()` end over the transport it came on: whether the actor reads and writes it. */
type OpenTransportConnection = (transport: unknown, receives: boolean, sends: boolean) => unknown;

/** What stands for a `Pipe()` end opened straight on its transport, inside a process actor. */
export interface TransportEnd {
  [TRANSPORT]: unknown;
  /** The actor reads from it. */
  readable: boolean;
  /** The actor writes to it. */
  writable: boolean;
  [CONNECTION]: true;
}

/** Whether `args` holds an end the actor gets as a connection. */
export function hasConnections(args: unknown): boolean {
  let found = false;
  replaceIn(
    args,
    isMarked,
    (end) => {
      found = true;
      return end;
    },
    "args",
    new Set(),
  );
  return found;
}

/** What stands for a pipe end in a worker actor's boot message: its port and directions. */
export interface PortEnd {
  [PORT]: MessagePort;
  /** The actor reads from it. */
  readable: boolean;
  /** The actor writes to it. */
  writable: boolean;
  [CONNECTION]?: true;
}

function isPortEnd(value: unknown): value is PortEnd {
  return isPlainObject(value) && value[PORT] instanceof MessagePort;
}

/** What stands for a `Pipe()` end that shares a ring pair with its peer, in a boot message. */
export interface RingEnd {
  /** The rings as the actor's end sees them (it reads `inbound`). */
  [RINGS]: { inbound: SharedArrayBuffer; outbound: SharedArrayBuffer };
  /** The actor reads from them. */
  readable: boolean;
  /** The actor writes to them. */
  writable: boolean;
  [CONNECTION]: true;
}

function isRingEnd(value: unknown): value is RingEnd {
  return isPlainObject(value) && isPlainObject(value[RINGS]);
}

/** A byte stream over a port, and how to end it at once. */
export interface PortCarrier extends EndStreams {
  /**
   * Fails the sending direction now, even with a write waiting for room
   * (its peer may be gone, and never give it): the port closes once the
   * receiving direction is done too.
   */
  cut(): void;
}

/**
 * Web streams over `port` for the directions asked for (the others are
 * ended at once, so the port closes once the used ones are done): bytes are
 * posted as written, with credit back in bytes (`internal/port_streams.ts`).
 */
export function streamsOverPort(
  port: MessagePort,
  directions: { readable: boolean; writable: boolean },
): PortCarrier {
  return webStreamsOver(portStreams(port, PIPE_END_WINDOW_BYTES), directions);
}

/**
 * Inside a worker actor: turns each end the parent sent as a port into
 * streams again, and each that was a `Pipe()` end there into a connection,
 * opened with `open` (over its port, or over its ring pair).
 */
export function openPortEnds(args: unknown, open: OpenConnection | undefined): unknown {
  return replaceIn(
    args,
    (value) => isPortEnd(value) || isRingEnd(value),
    (found, path) => {
      if (isRingEnd(found)) {
        const overRings = (open as { [OPEN_RINGS]?: OpenRingsConnection } | undefined)
          ?.[OPEN_RINGS];
        if (overRings === undefined) {
          throw new TypeError(`${path}: no module to open a connection with`);
        }
        return overRings(found[RINGS], found.readable, found.writable);
      }
      const end = found as PortEnd;
      // A `Pipe()` end opens straight over the port when its module can.
      const overPort = (open as { [OPEN_PORT]?: OpenPortConnection } | undefined)?.[OPEN_PORT];
      if (end[CONNECTION] && overPort) return overPort(end[PORT], end.readable, end.writable);
      const { readable, writable } = streamsOverPort(end[PORT], end);
      const streams: EndStreams = {};
      if (readable) streams.readable = readable;
      if (writable) streams.writable = writable;
      if (!end[CONNECTION]) return streams;
      if (open === undefined) throw new TypeError(`${path}: no module to open a connection with`);
      return open(streams);
    },
    "args",
    new Set(),
  );
}

/**
 * Inside a process actor: turns each end that was a `Pipe()` end in the
 * parent into a connection again, opened with `open` (straight on the
 * transport it came over, when it came as one).
 */
export function openConnections(args: unknown, open: OpenConnection): unknown {
  return replaceIn(
    args,
    isMarked,
    (found, path) => {
      if (TRANSPORT in (found as Record<string, unknown>)) {
        const end = found as TransportEnd;
        const overTransport = (open as { [OPEN_TRANSPORT]?: OpenTransportConnection })[
          OPEN_TRANSPORT
        ];
        if (overTransport === undefined) {
          throw new TypeError(`${path}: no module to open a connection with`);
        }
        return overTransport(end[TRANSPORT], end.readable, end.writable);
      }
      const { readable, writable } = found as EndStreams;
      const end: EndStreams = {};
      if (readable) end.readable = readable;
      if (writable) end.writable = writable;
      return open(end);
    },
    "args",
    new Set(),
  );
}
