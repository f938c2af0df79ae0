/**
 * The built-in transports, as one list: the actor system knows only the
 * `TransportFactory` contract and takes its defaults from here (as Hono's
 * presets hand a router to its core). Adding a transport is one module
 * beside these and one line in {@linkcode builtinTransports} (and one in
 * the conformance suite's list, `tests/transports_test.ts`).
 *
 * May import: the transport contract, the transports, `internal/`.
 *
 * @module
 */

import type { HostKind, TransportFactory } from "./transport.ts";
import { queueTransport } from "./queue.ts";
import { pipeTransport } from "./pipe/pipe.ts";
import { ringTransport } from "./ring/ring.ts";
import { socketTransport } from "./socket/socket.ts";

/** Fresh factories of the built-in transports, selectable by their names. */
export function builtinTransports(): TransportFactory[] {
  return [queueTransport(), pipeTransport(), ringTransport(), socketTransport()];
}

/** A transport module's URL (as its factory's link names it) to the name of its `connect` in a bundle. */
export type BundledTransports = Readonly<Record<string, string>>;

/** The built-in transports that reach each host, as `BundledTransports`. */
function bundled(names: readonly ("queue" | "ring" | "pipe" | "socket")[]): BundledTransports {
  const paths = {
    queue: "./queue.ts",
    ring: "./ring/ring.ts",
    pipe: "./pipe/pipe.ts",
    socket: "./socket/socket.ts",
  };
  return Object.fromEntries(
    names.map((name) => [new URL(paths[name], import.meta.url).href, name]),
  );
}

/**
 * The built-in transports whose actor side comes bundled with each host's
 * bootstrap (actors/hosts/_bundles/, built by `deno task bundle` from
 * .ci/bundle/, which exports the same names): a fresh isolate loads the one
 * bundle several milliseconds faster than the modules it is made of.
 */
export const BUNDLED_TRANSPORTS: Readonly<Record<HostKind, BundledTransports>> = {
  worker: bundled(["queue", "ring", "pipe", "socket"]),
  process: bundled(["pipe", "socket"]),
};

/** The transport an actor gets when its spawn names none, by host. */
export const DEFAULT_TRANSPORT: Readonly<Record<HostKind, string>> = {
  worker: "queue",
  process: "pipe",
};

/**
 * The transport that carries pipe ends found in a process actor's args to
 * the child (stdio is the mailbox's already): a socket per end.
 */
export function pipeEndBridge(): TransportFactory {
  return socketTransport();
}

/**
 * The module that opens a `Pipe()` end handed to an actor as a connection
 * again, inside the actor (it exports `connectionFromStreams`).
 */
export const PIPE_CONNECTIONS_MODULE: string = new URL("./pipe/channel.ts", import.meta.url).href;
