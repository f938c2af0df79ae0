// `Pipe()` ends handed to an actor: the parent marks each such end in the
// args, and the actor's bootstrap opens it as a connection again, with the
// pipe's own module (which this layer names only by URL). Kept apart from
// _pipe_ends.ts so that a worker's bootstrap loads only this.

/** Marks an end the actor gets as a connection, opened for it, not as streams. */
export const CONNECTION = "troupe.connection";

/** The streams of a pipe end. */
interface EndStreams {
  readable?: ReadableStream<Uint8Array>;
  writable?: WritableStream<Uint8Array>;
}

function isMarked(value: unknown): value is EndStreams {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return (proto === Object.prototype || proto === null) && CONNECTION in value;
}

/** Calls `visit` on every marked end in `value` (plain objects and arrays), replacing it. */
function walk(value: unknown, visit: (end: EndStreams) => unknown, seen: Set<unknown>): unknown {
  if (isMarked(value)) return visit(value);
  if (typeof value !== "object" || value === null || seen.has(value)) return value;
  const proto = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return value;
  seen.add(value);
  let copy: Record<string, unknown> | unknown[] | undefined;
  for (const [key, item] of Object.entries(value)) {
    const next = walk(item, visit, seen);
    if (next !== item) {
      copy ??= Array.isArray(value) ? value.slice() : { ...value };
      (copy as Record<string, unknown>)[key] = next;
    }
  }
  return copy ?? value;
}

/** Opens a connection over an end's streams (the pipe module's `connectionFromStreams`). */
export type OpenConnection = (end: EndStreams) => unknown;

/** Whether `args` holds an end the actor gets as a connection. */
export function hasConnections(args: unknown): boolean {
  let found = false;
  walk(args, (end) => {
    found = true;
    return end;
  }, new Set());
  return found;
}

/**
 * Inside an actor: turns each end that was a `Pipe()` end in the parent
 * into a connection again, opened with `open`.
 */
export function openConnections(args: unknown, open: OpenConnection): unknown {
  return walk(args, ({ readable, writable }) => {
    const end: EndStreams = {};
    if (readable) end.readable = readable;
    if (writable) end.writable = writable;
    return open(end);
  }, new Set());
}
