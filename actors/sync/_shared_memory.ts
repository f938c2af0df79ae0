// What every shared-memory primitive checks when it is rebuilt in an actor
// from the descriptor its share() made.

/**
 * Checks that `descriptor` is an object whose `buffer` is shared memory, and
 * returns its fields for the caller's own checks.
 */
export function sharedDescriptor(
  descriptor: unknown,
  what: string,
): Record<string, unknown> & { buffer: SharedArrayBuffer } {
  if (typeof descriptor !== "object" || descriptor === null) {
    throw new TypeError(
      `Cannot ${what}: the descriptor must be an object made by share(), received ${
        descriptor === null ? "null" : typeof descriptor
      }`,
    );
  }
  const { buffer } = descriptor as { buffer?: unknown };
  if (!(buffer instanceof SharedArrayBuffer)) {
    throw new TypeError(
      `Cannot ${what}: the descriptor's buffer must be a SharedArrayBuffer, received ${
        buffer instanceof ArrayBuffer
          ? "an ArrayBuffer (was it sent to a process actor?)"
          : `${typeof buffer} (send what share() returns, not the object itself)`
      }`,
    );
  }
  return descriptor as Record<string, unknown> & { buffer: SharedArrayBuffer };
}
