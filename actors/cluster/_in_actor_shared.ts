// What the three ends of a name served in the actor's thread share
// (`ExposeOptions.inActor`): the exposure (`exposure.ts`), the node's end
// (`_in_actor_node.ts`) and the actor's (`_in_actor.ts`).

import type { ClusterEventReport } from "../core/cluster_events.ts";
import type { NatsNodeOptions } from "./nats_options.ts";
import type { ExposeSettings } from "./_options.ts";
import type { WireCodec } from "./_wire.ts";
import { noop } from "../../internal/abort.ts";

/** How many counter slots an exposure has (see `exposure.ts`). */
export const COUNTERS = 9;
/** The slot of the requests in hand (`ExposureStats.pending`). */
export const PENDING_SLOT = 6;

/** The longest last error kept in shared memory, in UTF-8 bytes (a longer one is cut). */
const TEXT_BYTES = 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A short text one thread writes and another reads, with the time it was
 * written, in shared memory (the last error of a name served in the actor's
 * thread: the node reads it in `stats()` as the reply that carried it
 * arrives, before any message could). A sequence number, odd while a write
 * is under way, lets the reader retry a torn read.
 */
export class SharedText {
  readonly buffer: SharedArrayBuffer;
  /** `[sequence, byte length]`. */
  #head: Int32Array;
  /** `[written at, epoch ms]`. */
  #at: Float64Array;
  #bytes: Uint8Array;

  constructor(buffer = new SharedArrayBuffer(16 + TEXT_BYTES)) {
    this.buffer = buffer;
    this.#head = new Int32Array(buffer, 0, 2);
    this.#at = new Float64Array(buffer, 8, 1);
    this.#bytes = new Uint8Array(buffer, 16);
  }

  write(text: string): void {
    Atomics.add(this.#head, 0, 1);
    const { written } = encoder.encodeInto(text, this.#bytes);
    this.#at[0] = Date.now();
    Atomics.store(this.#head, 1, written);
    Atomics.add(this.#head, 0, 1);
  }

  /** The text last written and when, or `undefined` when none was. */
  read(): { text: string; at: number } | undefined {
    for (let tries = 0; tries < 8; tries++) {
      const before = Atomics.load(this.#head, 0);
      if (before === 0) return undefined;
      if (before % 2 === 1) continue;
      // A copy: a decoder takes no shared memory, and the writer may go on.
      const copy = this.#bytes.slice(0, Atomics.load(this.#head, 1));
      const at = this.#at[0]!;
      if (Atomics.load(this.#head, 0) === before) return { text: decoder.decode(copy), at };
    }
    return undefined;
  }
}

/**
 * The slots of `InActorData.flags` (int32, 0 until raised): the node raises
 * `NODE_SERVES` once its thread serves the name again after the actor's
 * thread crashed; that thread then passes the requests the server sent it
 * meanwhile back to the subject, closes, and raises `ACTOR_DONE`, which
 * lets the node close its end of the extension (and the thread be ended).
 */
export const NODE_SERVES = 0;
/** See {@linkcode NODE_SERVES}. */
export const ACTOR_DONE = 1;

/** Raises the flag at `at` and wakes its waiter. */
export function raise(flags: Int32Array, at: number): void {
  Atomics.store(flags, at, 1);
  Atomics.notify(flags, at);
}

/**
 * Resolves true once the flag at `at` is raised, false when `ms` passed
 * first. A pending `Atomics.waitAsync` keeps no event loop alive (see
 * `../sync/_semaphore_layout.ts`): a timer does, meanwhile.
 */
export async function raised(flags: Int32Array, at: number, ms: number): Promise<boolean> {
  const waiting = Atomics.waitAsync(flags, at, 0, ms);
  if (!waiting.async) return waiting.value !== "timed-out";
  const alive = setTimeout(noop, ms);
  try {
    return await waiting.value !== "timed-out";
  } finally {
    clearTimeout(alive);
  }
}

/** Where an ask in hand would have been answered: what a node needs to answer it instead. */
export interface AskInHand {
  reply: string;
  id: string | undefined;
  codec: WireCodec;
}

/** The bytes of one journal slot: `[state, length]` as two int32, then the record. */
const SLOT_BYTES = 256;
/** The slots a journal starts with; it grows (doubling) up to its `maxSlots`. */
const FIRST_SLOTS = 16;

/**
 * The asks the actor's thread holds, in memory it shares with the node: one
 * slot per ask while it is in hand, so that when the thread ends without a
 * word (terminated at a stop deadline, out of memory, killed) the node can
 * still answer each one, as the node's own path would, where the caller
 * would otherwise wait for its deadline. The actor's thread writes (a slot's
 * record before its state), the node reads only once the thread has ended.
 * An ask whose record does not fit a slot (a very long id or reply subject)
 * is not kept: it meets its deadline, as before.
 */
export class AskJournal {
  readonly buffer: SharedArrayBuffer;
  #states: Int32Array;
  #bytes: Uint8Array;
  /** The writer's free slots, and the first never used. */
  #free: number[] = [];
  #next = 0;

  constructor(
    given: SharedArrayBuffer | number,
  ) {
    this.buffer = typeof given === "number"
      ? new SharedArrayBuffer(Math.min(FIRST_SLOTS, given) * SLOT_BYTES, {
        maxByteLength: Math.max(1, given) * SLOT_BYTES,
      })
      : given;
    // Views that follow the buffer as it grows.
    this.#states = new Int32Array(this.buffer);
    this.#bytes = new Uint8Array(this.buffer);
  }

  /** Keeps `ask`; returns its slot, or -1 when it is not kept. */
  add(ask: AskInHand): number {
    const slot = this.#slot();
    if (slot < 0) return -1;
    const base = slot * SLOT_BYTES;
    const text = `${ask.codec === "v8" ? "8" : "j"}${
      ask.id === undefined ? "-" : "+"
    }${ask.reply}\n${ask.id ?? ""}`;
    const { read, written } = encoder.encodeInto(
      text,
      this.#bytes.subarray(base + 8, base + SLOT_BYTES),
    );
    if (read < text.length) {
      this.#free.push(slot);
      return -1;
    }
    this.#states[slot * (SLOT_BYTES / 4) + 1] = written;
    Atomics.store(this.#states, slot * (SLOT_BYTES / 4), 1);
    return slot;
  }

  /** The ask in `slot` was answered (a slot of -1 was never kept). */
  remove(slot: number): void {
    if (slot < 0) return;
    Atomics.store(this.#states, slot * (SLOT_BYTES / 4), 0);
    this.#free.push(slot);
  }

  #slot(): number {
    const free = this.#free.pop();
    if (free !== undefined) return free;
    if (this.#next * SLOT_BYTES >= this.buffer.byteLength) {
      const grown = Math.min(this.buffer.maxByteLength, this.buffer.byteLength * 2);
      if (grown <= this.buffer.byteLength) return -1;
      this.buffer.grow(grown);
    }
    return this.#next++;
  }

  /** The asks kept now (the node's, once the actor's thread has ended). */
  read(): AskInHand[] {
    const asks: AskInHand[] = [];
    const slots = this.buffer.byteLength / SLOT_BYTES;
    for (let slot = 0; slot < slots; slot++) {
      const at = slot * (SLOT_BYTES / 4);
      if (Atomics.load(this.#states, at) !== 1) continue;
      const base = slot * SLOT_BYTES + 8;
      // A copy: a decoder takes no shared memory.
      const text = decoder.decode(this.#bytes.slice(base, base + this.#states[at + 1]!));
      const cut = text.indexOf("\n");
      asks.push({
        codec: text[0] === "8" ? "v8" : "json",
        reply: text.slice(2, cut),
        id: text[1] === "+" ? text.slice(cut + 1) : undefined,
      });
    }
    return asks;
  }
}

/**
 * The NATS connection of an actor that serves a name in its own thread
 * (`ExposeOptions.inActor`), across its incarnations.
 */
export interface ActorConnectionStats {
  /** Whether it is up and serving the name now. */
  connected: boolean;
  /** How often it dropped. */
  disconnects: number;
  /** How often it came back (its subscription registered again). */
  reconnects: number;
}

/** What a node gives its exposures for serving a name in the actor's thread. */
export interface InActorKit {
  /** Starts the node's end for an exposure. */
  start(hooks: InActorHooks): InActorEnd;
}

/** The node's end, as the exposure uses it (`InActorServing`). */
export interface InActorEnd {
  /** Whether the actor's thread serves the name now. */
  readonly serving: boolean;
  /** The actor's thread's counters, which the exposure adds to its own. */
  readonly counters: Float64Array;
  /** The actor's thread's last error. */
  readonly lastError: SharedText;
  /** The actor's own NATS connection. */
  readonly connection: ActorConnectionStats;
  /** Stops serving the name in the actor's thread. */
  close(timeout: number, signal: AbortSignal | undefined): Promise<void>;
}

/** A node's options as given, less those that cannot leave its thread. */
export type PortableNodeOptions = Omit<NatsNodeOptions, "system" | "signal">;

/** What the node's end needs from its node. */
export interface InActorNodeKit {
  /** The node's options as given, less those that cannot leave its thread. */
  options: PortableNodeOptions;
  /** The node's connection name: the actor's connection is named after it. */
  nodeName: string;
}

/** What the actor's end gets (see `_in_actor.ts`); plain data and shared memory. */
export interface InActorData {
  options: PortableNodeOptions;
  connectionName: string;
  name: string;
  subject: string;
  queue: string;
  settings: ExposeSettings;
  counters: SharedArrayBuffer;
  /** The last error answered there (see {@linkcode SharedText}). */
  lastError: SharedArrayBuffer;
  /** The asks in hand there (see {@linkcode AskJournal}). */
  journal: SharedArrayBuffer;
  /** Two int32 flags for the end of a crashed actor's thread (see {@linkcode NODE_SERVES}). */
  flags: SharedArrayBuffer;
  overflow: string;
}

/** What the actor's end says, one kind per message. */
export type InActorReport =
  | { serving: true }
  | { declined: string }
  | { event: ClusterEventReport }
  | { orphans: AskInHand[]; why: "crash" | "exit" }
  | { stopping: true }
  | { closed: true }
  /** The actor's own connection dropped, or is back (its subscription registered again). */
  | { link: "down" | "up"; server: string };

/** What the node's end needs from the exposure it serves for. */
export interface InActorHooks {
  name: string;
  subject: string;
  queue: string;
  settings: ExposeSettings;
  target: object;
  emit(event: ClusterEventReport): void;
  /** The actor's thread serves the name: the node's thread lets go of it. */
  took(): Promise<void>;
  /** The actor's thread no longer serves it: the node's serves it again. */
  gave(): Promise<void>;
  /** Answers asks the actor's thread held, with `error`. */
  answer(asks: readonly AskInHand[], error: Error): void;
}
