// `Pipe()` ends handed to an actor: the parent marks each such end in the
// args, and the actor's bootstrap opens it as a connection again, with the
// pipe's own module (which this layer names only by URL). Also the one walk
// over args that _pipe_ends.ts uses too. Kept apart from _pipe_ends.ts so
// that a worker's bootstrap loads only this.

/** Marks an end the actor gets as a connection, opened for it, not as streams. */
export const CONNECTION = "troupe.connection";

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

/**
 * Inside an actor: turns each end that was a `Pipe()` end in the parent
 * into a connection again, opened with `open`.
 */
export function openConnections(args: unknown, open: OpenConnection): unknown {
  return replaceIn(
    args,
    isMarked,
    (found) => {
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
