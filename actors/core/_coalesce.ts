// Collects messages and hands them over in batches. The flush runs as a
// microtask, but while the producer keeps adding messages (a loop of
// `await ref.tell(...)` adds one per microtask turn) it steps back behind the
// producer, so a busy loop fills a batch and a lone message leaves at once.
// "The producer keeps adding" is judged across every coalescer of the thread,
// by one shared microtask chain: a loop that spreads its tells over many
// actors fills a batch for each of them too (with a chain per coalescer, each
// saw no new message of its own in a turn and sent one message per batch).
// The chain steps back at most `MAX_STEPS` turns, so a message is never held
// back for as long as an unrelated producer keeps going.
//
// A batch closes at 512 messages or at `maxBytes` of payload, whichever comes
// first, however the messages arrive: one by one, or thousands at once (a
// credit that releases every waiting message, or a channel that was busy while
// they piled up). Closed batches are handed over one at a time, and a
// `pause()` from the receiver of one (its channel is full) holds back the rest.

import { type BatchKind, UNKNOWN_KIND } from "../../internal/batch.ts";
import type { SendHints } from "../../transports/transport.ts";

/** Hints for every known kind (0 to 3) and quietness, made once: a batch allocates none. */
const HINTS: readonly SendHints[] = [false, true].flatMap((quiet) =>
  [0, 1, 2, 3].map((kind) => Object.freeze({ kind, quiet }))
);
const UNKNOWN_HINTS: readonly SendHints[] = [
  Object.freeze({ quiet: false }),
  Object.freeze({ quiet: true }),
];

/** The `SendHints` of a batch of the given kind (undefined: not known). */
export function hintsFor(kind: BatchKind | undefined, quiet: boolean): SendHints {
  if (kind === undefined) return UNKNOWN_HINTS[quiet ? 1 : 0]!;
  return HINTS[(quiet ? 4 : 0) + kind]!;
}

/** Messages per batch before it is sent regardless. */
const MAX_BATCH = 512;

/** Turns a message may wait behind busy producers before its batch is flushed regardless. */
const MAX_STEPS = 512;

/** A coalescer's open batch waiting in the shared chain, since turn `since`. */
interface Enlisted {
  coalescer: Coalescer<unknown>;
  /** Which enlistment of the coalescer this is: an older one is stale. */
  gen: number;
  since: number;
}

/**
 * The thread's one flush chain: the open batches waiting, oldest first from
 * `head`, and the count of pushes into any coalescer, which tells the chain
 * whether some producer is still going.
 */
const chain = {
  waiting: [] as Enlisted[],
  head: 0,
  pushes: 0,
  seen: -1,
  turn: 0,
  scheduled: false,
};

/** Queues an open batch for the shared flush, starting the chain if it is idle. */
function enlist(coalescer: Coalescer<unknown>, gen: number): void {
  chain.waiting.push({ coalescer, gen, since: chain.turn });
  if (chain.scheduled) return;
  chain.scheduled = true;
  chain.seen = -1;
  queueMicrotask(chainTick);
}

function chainTick(): void {
  chain.turn++;
  const waiting = chain.waiting;
  // Still busy: flush only the batches that waited long enough, then step back.
  const busy = chain.pushes !== chain.seen;
  chain.seen = chain.pushes;
  while (chain.head < waiting.length) {
    const entry = waiting[chain.head]!;
    if (busy && entry.since + MAX_STEPS > chain.turn) break;
    chain.head++;
    entry.coalescer.chainFlush(entry.gen);
  }
  if (chain.head < waiting.length) {
    queueMicrotask(chainTick);
    return;
  }
  chain.waiting = [];
  chain.head = 0;
  chain.scheduled = false;
}

export class Coalescer<T> {
  /** Full batches not yet handed over, oldest first, from `#closedHead` on. */
  #closed: T[][] = [];
  /** The kind of each closed batch, when every item's was known. */
  #closedKinds: (BatchKind | undefined)[] = [];
  #closedHead = 0;
  /** The batch being filled. */
  #items: T[] = [];
  /** The kinds of `#items`, or-ed: handed over with the batch when all are known. */
  #kind: BatchKind = 0;
  /** Payload bytes in `#items`, as their senders estimated them. */
  #bytes = 0;
  /** Items in full batches not yet handed over. */
  #closedItems = 0;
  /** The open batch waits in the shared chain (see `enlist`). */
  #enlisted = false;
  /** Counts this coalescer's enlistments. */
  #gen = 0;
  /** A microtask will hand over the closed batches. */
  #handOverQueued = false;
  #paused = false;
  #deliver: (batch: T[], kind: BatchKind | undefined) => void;

  /** A batch is closed once it holds this many payload bytes (see `Transport.batchBytes`). */
  maxBytes = Infinity;

  /**
   * Asked when the shared chain would flush the open batch: `true` keeps it
   * open (its owner expects to merge later items into it, see `Outbox`), and
   * the batch waits for the next `push()` or `release()`. A full batch, a
   * `flush()` and a paused receiver's `resume()` never ask.
   */
  hold: (() => boolean) | undefined = undefined;

  /**
   * @param deliver Takes each batch, in order, with its kind when every
   * item's kind was known (see `SendHints.kind`).
   */
  constructor(deliver: (batch: T[], kind: BatchKind | undefined) => void) {
    this.#deliver = deliver;
  }

  /** Items not yet handed over. */
  get size(): number {
    return this.#closedItems + this.#items.length;
  }

  /**
   * Adds an item; `kind` is what its sender found walking it, if it did, and
   * `bytes` the size it estimated.
   */
  push(item: T, kind: BatchKind = UNKNOWN_KIND, bytes = 0): void {
    this.#kind |= kind;
    this.#bytes += bytes;
    const items = this.#items;
    items.push(item);
    chain.pushes++;
    if (items.length >= MAX_BATCH || this.#bytes >= this.maxBytes) {
      this.#close();
      // The open batch is empty again: its next item enlists it anew.
      this.#enlisted = false;
      // A full batch leaves at the next turn, while the producer goes on.
      if (!this.#handOverQueued && !this.#paused) {
        this.#handOverQueued = true;
        queueMicrotask(this.#queuedHandOver);
      }
    }
    if (!this.#enlisted && !this.#paused && this.#items.length > 0) {
      this.#enlisted = true;
      enlist(this as Coalescer<unknown>, ++this.#gen);
    }
  }

  #queuedHandOver = (): void => {
    this.#handOverQueued = false;
    if (!this.#paused) this.#handOver();
  };

  /**
   * The shared chain's flush of enlistment `gen`: the producers paused, or the
   * batch waited long enough. A stale enlistment does nothing.
   */
  chainFlush(gen: number): void {
    if (gen !== this.#gen || !this.#enlisted) return;
    this.#enlisted = false;
    if (this.#closed.length === 0 && this.hold?.() === true) return;
    this.flush();
  }

  /**
   * Lets an open batch that `hold` kept back leave with the shared chain, as
   * if an item had just been pushed: it still merges with the items pushed
   * while the producer goes on.
   */
  release(): void {
    if (!this.#enlisted && !this.#paused && this.#items.length > 0) {
      this.#enlisted = true;
      enlist(this as Coalescer<unknown>, ++this.#gen);
    }
  }

  /** Closes the batch being filled, keeping its kind when every item's is known. */
  #close(): void {
    const batch = this.#items;
    const kind = this.#kind;
    this.#closed.push(batch);
    this.#closedKinds.push((kind & UNKNOWN_KIND) === 0 ? kind : undefined);
    this.#closedItems += batch.length;
    this.#items = [];
    this.#kind = 0;
    this.#bytes = 0;
  }

  /**
   * Hands over closed batches, in order, until none is left or (unless
   * `evenPaused`) the receiver pauses.
   */
  #handOver(evenPaused = false): void {
    const closed = this.#closed;
    while (this.#closedHead < closed.length && (evenPaused || !this.#paused)) {
      const batch = closed[this.#closedHead]!;
      const kind = this.#closedKinds[this.#closedHead];
      closed[this.#closedHead++] = undefined as unknown as T[];
      this.#closedItems -= batch.length;
      this.#deliver(batch, kind);
    }
    if (this.#closedHead === closed.length) {
      this.#closed = [];
      this.#closedKinds = [];
      this.#closedHead = 0;
    }
  }

  /** Hands over everything collected so far, now (unless paused). */
  flush(): void {
    if (this.#paused) return;
    if (this.#items.length > 0) this.#close();
    this.#handOver();
  }

  /**
   * Hands over everything collected so far, now, even while paused: for a
   * message that must be sent alone at once behind them (see `Outbox`).
   * The receiver may pause again; what it is handed meanwhile it queues.
   */
  flushHeld(): void {
    if (this.#items.length > 0) this.#close();
    this.#handOver(true);
  }

  /** `true` while batches are held back (see `pause()`). */
  get paused(): boolean {
    return this.#paused;
  }

  /** Holds batches back (the channel is busy) until `resume()`. */
  pause(): void {
    this.#paused = true;
  }

  /** Sends what was held back. */
  resume(): void {
    this.#paused = false;
    this.flush();
  }

  /** Takes everything not yet handed over. */
  take(): T[] {
    const items: T[] = [];
    for (let i = this.#closedHead; i < this.#closed.length; i++) items.push(...this.#closed[i]!);
    items.push(...this.#items);
    this.#closed = [];
    this.#closedKinds = [];
    this.#closedHead = 0;
    this.#closedItems = 0;
    this.#items = [];
    this.#kind = 0;
    this.#bytes = 0;
    return items;
  }
}
