/**
 * How a `ring` end waits (the policy the transport's module docs promise):
 * when to spin holding the thread, when to sleep in `Atomics.waitAsync`
 * with the event loop free, how failed spins back off, when a busy receiver
 * lets the event loop run, and the timer that keeps the loop alive while
 * only a `waitAsync` is pending.
 *
 * @module
 */

import { noop } from "../../internal/abort.ts";
import { READER_SLEEP, type RingReader, type RingWriter, WRITER_WAIT } from "./_ring.ts";

/** The busy part of a spin, in ms; the rest of `spinMs` blocks in `Atomics.wait`. */
const BUSY_SPIN_MS = 0.025;
/** Batches delivered between looks at the clock for {@linkcode FAIRNESS_MS}. */
const FAIRNESS_CHECK_EVERY = 4;
/** Longest run of batches delivered without letting the event loop run, in ms. */
const FAIRNESS_MS = 0.2;
/** Failed reply spins double a penalty (in spins skipped) up to this. */
const MAX_SPIN_BACKOFF = 16;
/** Largest delay a timer takes; the keep-alive timer never fires in practice. */
const KEEP_ALIVE_MS = 2 ** 31 - 1;
/**
 * A Deno worker lives until it is terminated or closes itself, with or
 * without anything pending: there the keep-alive timer is not needed, and
 * not having it spares a fresh worker actor the first read of the
 * `setInterval` global (it loads Deno's Node timers: 4 to 10 ms before the
 * actor's first reply).
 */
const IN_WORKER = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope ===
  "function";

/**
 * The waiting of one ring end, for data on the ring it reads and for room
 * on the ring it writes. The transport tells it what happened (`arm()` on a
 * send, `armed = false` once a batch arrived, `close()`), and asks it to
 * spin, sleep or deliver.
 */
export class WaitPolicy {
  /** Sent since the last batch arrived, so a reply is likely. */
  armed = false;
  /** Batches have been arriving, so more are likely. */
  flowing = false;
  readonly #in: RingReader;
  readonly #out: RingWriter;
  readonly #spinMs: number;
  readonly #backoffReplies: boolean;
  #closed = false;
  #spinBackoff = 0;
  #spinSkip = 0;
  #hopWord = new Int32Array(new SharedArrayBuffer(4));
  #hopping = false;
  // Fairness: batches delivered since the last check, and when the event loop last ran.
  #streak = 0;
  #lastBreak = performance.now();
  // Sleeping: the parked receiver, and the one pending waitAsync.
  #parked: (() => void) | undefined;
  #readerWait: Promise<unknown> | undefined;
  // Keeps the event loop alive while waiting: a pending waitAsync does not.
  #timer: number | undefined;
  #refs = 0;

  /**
   * Starts with nothing likely: no spin until this end sends or batches arrive.
   *
   * @param reader The ring this end reads.
   * @param writer The ring this end writes.
   * @param spinMs The longest wait holding the thread; 0 never spins.
   * @param backoffReplies Whether the spin right after a send backs off too
   *   when it finds nothing, as the later spins do (a pipe end's choice: it
   *   keeps its short spin from costing a loaded machine its peer's time).
   */
  constructor(reader: RingReader, writer: RingWriter, spinMs: number, backoffReplies = false) {
    this.#in = reader;
    this.#out = writer;
    this.#spinMs = spinMs;
    this.#backoffReplies = backoffReplies;
  }

  /**
   * After a poll found nothing: waits for the reply to what this end just
   * sent, holding the thread. Not subject to the backoff unless the end
   * asked for it: a `ring` end's longer spin would otherwise keep two sides
   * that missed each other once in their slow, sleeping mode; a pipe end's
   * short one would otherwise fail each time the peer is not scheduled.
   *
   * @returns `true` when data arrived or the peer closed.
   */
  spinForReply(): boolean {
    if (!this.armed || this.#spinMs <= 0) return false;
    if (this.#backoffReplies && !this.#maySpin()) return false;
    return this.#spin();
  }

  /**
   * Hands a batch that was ready to the receiver: at once, or through a
   * macrotask when batches have come without a break for a while.
   *
   * @param batch The decoded batch.
   * @returns The iterator result to give the receiver.
   */
  deliver(batch: unknown[]): Promise<IteratorResult<unknown[]>> {
    this.flowing = true;
    if (++this.#streak >= FAIRNESS_CHECK_EVERY) return this.#fairly(batch);
    return Promise.resolve({ value: batch, done: false });
  }

  /** This end closed: wakes the receiver, stops the keep-alive timer and never waits again. */
  close(): void {
    this.#closed = true;
    this.wake();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Delivers a batch, but through a macrotask when batches have come
   * without a break for a while, so timers and I/O on this thread still run
   * while the peer keeps the ring full.
   */
  #fairly(batch: unknown[]): Promise<IteratorResult<unknown[]>> {
    this.#streak = 0;
    const now = performance.now();
    if (now - this.#lastBreak < FAIRNESS_MS) return Promise.resolve({ value: batch, done: false });
    this.ref();
    return this.#hop().then(() => {
      this.unref();
      this.#lastBreak = performance.now();
      return { value: batch, done: false };
    });
  }

  /**
   * Sleeps until the peer publishes, closes, or this end wakes itself
   * ({@linkcode WaitPolicy.wake}). When data is likely soon it spins first,
   * once the current macrotask is over. Call it with the loop kept alive
   * ({@linkcode WaitPolicy.ref}).
   */
  async sleep(): Promise<void> {
    if (this.armed || this.flowing) this.#spinLater();
    const reader = this.#in;
    try {
      if (this.#closed || !reader.prepareSleep()) return;
      if (this.#readerWait === undefined) {
        const result = Atomics.waitAsync(reader.words, READER_SLEEP, 1);
        if (!result.async) {
          reader.awake();
          return;
        }
        // One waiter at most: a sleep that ended early (a spin found data)
        // leaves it pending, and the next sleep reuses it.
        this.#readerWait = result.value.then(() => {
          this.#readerWait = undefined;
          this.wake();
        });
      }
      await new Promise<void>((resolve) => (this.#parked = resolve));
      reader.awake();
    } finally {
      // The event loop ran meanwhile.
      this.#lastBreak = performance.now();
    }
  }

  /** Ends a sleep at once (the receiver stopped, or this end closed). */
  wake(): void {
    const parked = this.#parked;
    if (parked !== undefined) {
      this.#parked = undefined;
      parked();
    }
  }

  /** Whether a spin may start: failed spins make the next ones skip, doubling up to a bound. */
  #maySpin(): boolean {
    if (this.#spinMs <= 0) return false;
    if (this.#spinSkip === 0) return true;
    this.#spinSkip--;
    return false;
  }

  /**
   * Waits, holding the thread, until data arrives, the peer closes, or
   * `spinMs` pass: a busy spin first, then a blocking `Atomics.wait` for
   * the rest, which the peer's notify ends in a few microseconds (far sooner
   * than it wakes an event loop) and which leaves the core to other threads
   * when there are more threads than cores.
   */
  #spin(): boolean {
    const reader = this.#in;
    const start = performance.now();
    const busyUntil = start + Math.min(this.#spinMs, BUSY_SPIN_MS);
    const deadline = start + this.#spinMs;
    let found = false;
    for (let i = 1;; i++) {
      if (reader.hasData()) {
        found = true;
        break;
      }
      if ((i & 63) === 0 && performance.now() >= busyUntil) break;
      Atomics.pause();
    }
    while (!found) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      if (!reader.prepareSleep()) {
        found = true;
        break;
      }
      Atomics.wait(reader.words, READER_SLEEP, 1, left);
      reader.awake();
      found = reader.hasData() || reader.writerClosed();
    }
    if (found) {
      this.#spinBackoff = 0;
      return true;
    }
    this.#spinBackoff = Math.min(this.#spinBackoff * 2 || 1, MAX_SPIN_BACKOFF);
    this.#spinSkip = this.#spinBackoff;
    this.flowing = false;
    return false;
  }

  /**
   * Spins once the current macrotask is over, while the receiver sleeps: by
   * then this thread has run what it had queued (the handlers of the batch
   * just delivered, which may be what the peer waits for), so spinning holds
   * nothing up, and data the peer sends next is caught without a wake-up.
   */
  #spinLater(): void {
    if (this.#hopping || this.#spinMs <= 0) return;
    this.#hopping = true;
    this.#hop().then(this.#lateSpin);
  }

  #lateSpin = (): void => {
    this.#hopping = false;
    if (this.#parked === undefined || !(this.armed || this.flowing) || !this.#maySpin()) return;
    // Awake while spinning, so the peer does not pay for a notify we do not need.
    const reader = this.#in;
    reader.awake();
    if (this.#spin() || !reader.prepareSleep()) this.wake();
  };

  /**
   * Resolves in a later macrotask: a self-notified `Atomics.waitAsync`
   * settles through the event loop's task queue, in a few microseconds, with
   * no port or timer to clean up. The caller keeps the loop alive meanwhile.
   */
  #hop(): Promise<unknown> {
    const result = Atomics.waitAsync(this.#hopWord, 0, 0);
    Atomics.notify(this.#hopWord, 0);
    return result.async ? result.value : Promise.resolve();
  }

  /** A send makes a reply likely: spin for it, now or once the receiver sleeps. */
  arm(): void {
    this.armed = true;
    if (this.#parked !== undefined) this.#spinLater();
  }

  /**
   * When this end spins: the time (`performance.now()`) until which a
   * writer waiting for room may hold the thread, `spinMs` from now; 0 when
   * it never spins.
   */
  roomDeadline(): number {
    return this.#spinMs > 0 ? performance.now() + this.#spinMs : 0;
  }

  /**
   * Waits, holding the thread, until the ring this end writes has room for
   * `bytes`, its reader closed or this end did, but not past `deadline`
   * (from {@linkcode roomDeadline}): a busy spin of up to 25 µs, then a
   * blocking `Atomics.wait` for the rest, as `#spin()` does for data.
   *
   * @param bytes The room wanted, in bytes.
   * @param deadline The latest time to wait until; 0 does not wait.
   * @returns `true` when the wait is over (room, or a close), `false` when the deadline passed.
   */
  spinForRoom(bytes: number, deadline: number): boolean {
    const out = this.#out;
    if (deadline <= 0) return false;
    const busyUntil = Math.min(deadline, performance.now() + BUSY_SPIN_MS);
    for (let i = 1;; i++) {
      if (out.hasRoom(bytes)) return true;
      if ((i & 63) === 0 && performance.now() >= busyUntil) break;
      Atomics.pause();
    }
    while (true) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      if (this.#closed || !out.prepareWait(bytes)) return true;
      Atomics.wait(out.words, WRITER_WAIT, 1, left);
      Atomics.store(out.words, WRITER_WAIT, 0);
      if (out.hasRoom(bytes) || out.readerClosed()) return true;
    }
  }

  /**
   * Resolves once the ring this end writes has room for `bytes` (or its
   * reader closed, or this end did): spins and blocks up to `spinMs`
   * holding the thread ({@linkcode spinForRoom}), then sleeps in
   * `Atomics.waitAsync`. Call it with the loop kept alive
   * ({@linkcode WaitPolicy.ref}).
   *
   * @param bytes The room wanted, in bytes.
   */
  async waitForRoom(bytes: number): Promise<void> {
    const out = this.#out;
    // A full ring drains soon: the reader is busy, or was woken by our last write.
    if (this.spinForRoom(bytes, this.roomDeadline())) return;
    if (this.#closed || !out.prepareWait(bytes)) return;
    const result = Atomics.waitAsync(out.words, WRITER_WAIT, 1);
    if (result.async) await result.value;
    Atomics.store(out.words, WRITER_WAIT, 0);
  }

  /** Keeps the event loop alive while something waits (a pending `waitAsync` does not); counted. */
  ref(): void {
    if (this.#closed || IN_WORKER) return;
    if (this.#refs++ > 0) return;
    // Deno's timers are numbers; the Node types in scope (node:v8) say otherwise.
    if (this.#timer === undefined) {
      this.#timer = setInterval(noop, KEEP_ALIVE_MS) as unknown as number;
    } else Deno.refTimer(this.#timer);
  }

  /** Undoes one {@linkcode WaitPolicy.ref}. */
  unref(): void {
    if (--this.#refs > 0 || this.#timer === undefined) return;
    Deno.unrefTimer(this.#timer);
  }
}
