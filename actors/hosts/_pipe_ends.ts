// Pipe ends in spawn args. A `PipeEnd` (from `pipeEnds()`) anywhere in an
// actor's args, inside plain objects and arrays, reaches the actor as a pipe
// end it opens with `connectionFromStreams`, like a `multiprocessing.Pipe`
// end passed to a `Process`:
//
// - a worker actor gets streams transferred to it;
// - a process actor gets a link of the bridge transport (a private socket),
//   which its bootstrap turns back into streams before `init` runs.
//
// The parent keeps a pump between the end it was given and the carrier. When
// the actor ends, the pumps stop and the parent's end closes: its `recv()`
// rejects with `ConnectionClosedError` instead of waiting for a dead peer,
// and its `send()` fails. An end goes to one actor, once.

import type { Transport, TransportFactory } from "../../transports/transport.ts";
import { noop, settleWithin } from "../../internal/abort.ts";

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
}

const MARK = "troupe.pipeEnd";
/** How long a normal stop waits for the pumps to drain before they are cut. */
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
  /** Stops the pumps (after a short drain, unless `now`) and closes the parent's ends. */
  settle(now: boolean): Promise<void>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
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

function isPlaceholder(value: unknown): value is EndPlaceholder {
  return isPlainObject(value) && MARK in value;
}

/** Copies `value` with every match replaced; returns `value` itself when nothing matched. */
function replaceIn(
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

/** The pipe ends in `args`, each once, with where they are. */
function findEnds(args: unknown): Map<EndStreams, string> {
  const ends = new Map<EndStreams, string>();
  replaceIn(
    args,
    isEnd,
    (end, path) => {
      const streams = end as EndStreams;
      if (streams.readable?.locked || streams.writable?.locked) {
        throw new TypeError(
          `Cannot spawn actor: ${path} is a pipe end already in use (an end goes to one actor, once)`,
        );
      }
      if (!ends.has(streams)) ends.set(streams, path);
      return end;
    },
    "args",
    new Set(),
  );
  return ends;
}

/**
 * Pumps bytes from the end to the carrier and back. When the pumps are cut
 * (the actor ended), the parent's sends fail and its reads end cleanly.
 */
function pump(end: EndStreams, carrier: EndStreams, signal: AbortSignal): Promise<unknown>[] {
  const pumps: Promise<unknown>[] = [];
  if (end.readable && carrier.writable) {
    pumps.push(end.readable.pipeTo(carrier.writable, { signal }).catch(noop));
  }
  if (end.writable && carrier.readable) {
    const writable = end.writable;
    pumps.push(
      carrier.readable.pipeTo(writable, { signal, preventAbort: true, preventClose: true })
        .catch(noop).then(() => writable.close().catch(noop)),
    );
  }
  return pumps;
}

function settler(
  pumps: Promise<unknown>[],
  controller: AbortController,
  close: () => Promise<void>,
): (now: boolean) => Promise<void> {
  let settled: Promise<void> | undefined;
  return (now) => {
    settled ??= (async () => {
      const all = Promise.all(pumps);
      if (!now) await settleWithin(all, GRACE_MS);
      controller.abort();
      await settleWithin(all, GRACE_MS);
      await close();
    })();
    return settled;
  };
}

const NO_PERMISSIONS = { read: [], write: [], net: [] };
/** Bytes a worker's end holds before its sends wait, like an operating system's pipe. */
const BUFFER_BYTES = 64 * 1024;

function buffered(): TransformStream<Uint8Array, Uint8Array> {
  // The readable side holds the bytes: a transform's writable side waits for it.
  return new TransformStream<Uint8Array, Uint8Array>(
    {},
    undefined,
    new ByteLengthQueuingStrategy({ highWaterMark: BUFFER_BYTES }),
  );
}

/**
 * Carries the pipe ends in `args` to a worker actor: each end becomes a pair
 * of streams transferred to the worker, pumped to and from the end here.
 *
 * @throws {TypeError} When an end is already in use.
 */
export function bridgeToWorker(args: unknown): PipeBridges {
  const ends = findEnds(args);
  const controller = new AbortController();
  const transfer: Transferable[] = [];
  const pumps: Promise<unknown>[] = [];
  const replacements = new Map<EndStreams, EndStreams>();
  for (const end of ends.keys()) {
    const down = end.readable ? buffered() : undefined;
    const up = end.writable ? buffered() : undefined;
    const theirs: EndStreams = {};
    if (down) transfer.push(theirs.readable = down.readable);
    if (up) transfer.push(theirs.writable = up.writable);
    replacements.set(end, theirs);
    pumps.push(
      ...pump(end, { readable: up?.readable, writable: down?.writable }, controller.signal),
    );
  }
  return {
    args: substitute(args, replacements),
    transfer,
    childPermissions: NO_PERMISSIONS,
    module: undefined,
    active: ends.size > 0,
    settle: settler(pumps, controller, () => Promise.resolve()),
  };
}

/**
 * Carries the pipe ends in `args` to a process actor: each end gets a link
 * of `factory` (which must reach processes without stdio, such as the socket
 * transport), pumped to and from the end here.
 *
 * @throws {TypeError} When an end is already in use.
 */
export async function bridgeToProcess(
  args: unknown,
  factory: TransportFactory,
): Promise<PipeBridges> {
  const ends = findEnds(args);
  const controller = new AbortController();
  const pumps: Promise<unknown>[] = [];
  const locals: Transport[] = [];
  const replacements = new Map<EndStreams, EndPlaceholder>();
  const childPermissions = { read: [] as string[], write: [] as string[], net: [] as string[] };
  let module: string | undefined;
  try {
    for (const end of ends.keys()) {
      const link = await factory.open("process");
      locals.push(link.local);
      module = link.remote.module;
      for (const kind of ["read", "write", "net"] as const) {
        childPermissions[kind].push(...(link.childPermissions?.[kind] ?? []));
      }
      const readable = end.readable !== undefined, writable = end.writable !== undefined;
      replacements.set(end, { [MARK]: link.remote.options, readable, writable });
      const carrier = streamsOverTransport(link.local, { send: readable, receive: writable });
      pumps.push(...pump(end, carrier, controller.signal));
    }
  } catch (error) {
    controller.abort();
    await Promise.all(locals.map((local) => local.close().catch(noop)));
    throw error;
  }
  return {
    args: substitute(args, replacements),
    transfer: [],
    childPermissions,
    module,
    active: ends.size > 0,
    settle: settler(pumps, controller, async () => {
      await Promise.all(locals.map((local) => local.close().catch(noop)));
    }),
  };
}

/**
 * Inside a process actor: opens the ends the parent bridged, with the bridge
 * module's `connect`, and puts their streams where the ends were.
 */
export async function openPipeEnds(
  args: unknown,
  connect: ((options: unknown) => Transport | Promise<Transport>) | undefined,
): Promise<unknown> {
  const found: EndPlaceholder[] = [];
  replaceIn(args, isPlaceholder, (p) => found.push(p as EndPlaceholder), "args", new Set());
  if (found.length === 0 || connect === undefined) return args;
  const opened = new Map<EndPlaceholder, EndStreams>();
  for (const placeholder of found) {
    const transport = await connect(placeholder[MARK]);
    const carrier = streamsOverTransport(transport, {
      send: placeholder.writable,
      receive: placeholder.readable,
    });
    const end: EndStreams = {};
    if (placeholder.readable) end.readable = carrier.readable;
    if (placeholder.writable) end.writable = carrier.writable;
    opened.set(placeholder, end);
  }
  return replaceIn(
    args,
    (v) => opened.has(v as EndPlaceholder),
    (v) => opened.get(v as EndPlaceholder),
    "args",
    new Set(),
  );
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

/** `args` with each pipe end swapped for what stands in for it on the actor's side. */
function substitute(args: unknown, replacements: Map<EndStreams, unknown>): unknown {
  if (replacements.size === 0) return args;
  return replaceIn(
    args,
    (v) => replacements.has(v as EndStreams),
    (v) => replacements.get(v as EndStreams),
    "args",
    new Set(),
  );
}
