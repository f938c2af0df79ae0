// Shared test helpers: bounded waits and shared-memory handshakes, so no test
// synchronises by sleeping and none can hang CI.

import assert from "node:assert/strict";
import type { LifecycleEvent } from "../mod.ts";

/** Resolves like `promise`, or rejects if it takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The first event that `match` accepts, from a subscription taken before
 * (bounded: 15 s). Reads with `next()`, so the subscription stays open for
 * the next call; rejects if the events end first.
 */
export async function nextEvent(
  events: AsyncIterableIterator<LifecycleEvent>,
  match: (event: LifecycleEvent) => boolean,
): Promise<LifecycleEvent> {
  return await within(
    (async () => {
      while (true) {
        const { value, done } = await events.next();
        if (done) throw new Error("The events ended");
        if (match(value)) return value;
      }
    })(),
    15_000,
    "a lifecycle event",
  );
}

/**
 * Resolves once `condition()` is true, checking every few milliseconds; rejects
 * after `ms`. For state with no event to wait on (a queue length, a count).
 */
export async function eventually(
  condition: () => boolean,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * Shared flags for the probe actor: [0] gate, [1] stop hook ran,
 * [2] count at stop, [3] handlers inside `enter`, [4] values `record` saw,
 * [5...] those values (written by the stop hook).
 */
export class Flags {
  readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(4 * 64);
  readonly view: Int32Array = new Int32Array(this.buffer);

  /** Opens the gate the actor's `block` / `enter` handlers wait on. */
  open(): void {
    Atomics.store(this.view, 0, 1);
    Atomics.notify(this.view, 0);
  }

  get stopHookRan(): boolean {
    return Atomics.load(this.view, 1) === 1;
  }

  get countAtStop(): number {
    return Atomics.load(this.view, 2);
  }

  /** The values the actor's `record` handler saw, as its stop hook wrote them. */
  get recorded(): number[] {
    return [...this.view.subarray(5, 5 + Atomics.load(this.view, 4))];
  }

  /** Resolves once `index` holds `value` (bounded by `ms`). */
  async until(index: number, value: number, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (true) {
      const current = Atomics.load(this.view, index);
      if (current === value) return;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out waiting for flag ${index} to be ${value}`);
      const result = Atomics.waitAsync(this.view, index, current, left);
      if (result.async) await result.value;
    }
  }
}

/** The held-init fixture: each incarnation counts itself, the second and later wait in init. */
export const HELD_INIT: URL = new URL("./fixtures/held_init_actor.ts", import.meta.url);

/**
 * Starts something whose actors run the held-init fixture, aborts the start
 * once the second actor is inside its init, and checks that the start
 * rejects with the abort's reason and leaves nothing running: the first
 * actor stopped, the second killed, no other spawned.
 */
export async function abortWhileStarting(
  system: { stats(): { actors: number; supervisors: number; spawned: number; exits: object } },
  start: (
    args: { flags: SharedArrayBuffer; holdAt: number },
    signal: AbortSignal,
  ) => Promise<unknown>,
): Promise<void> {
  const flags = new Flags();
  const controller = new AbortController();
  const reason = new Error("no time left");
  const starting = start({ flags: flags.buffer, holdAt: 2 }, controller.signal);
  await flags.until(0, 2);
  controller.abort(reason);
  await assert.rejects(within(starting, 15_000, "the aborted start"), (error) => error === reason);
  const stats = system.stats();
  assert.deepEqual(
    [stats.actors, stats.supervisors, stats.spawned, stats.exits],
    [0, 0, 2, { normal: 1, killed: 1 }],
  );
}

/** Reads a transport's batches until its stream ends or fails (each read within `ms`); returns how it finished. */
export async function drain(
  transport: { receive(): AsyncIterable<unknown[]> },
  what: string,
  ms = 10_000,
): Promise<{ batches: unknown[][]; error?: unknown }> {
  const batches: unknown[][] = [];
  const iterator = transport.receive()[Symbol.asyncIterator]();
  try {
    while (true) {
      const result = await within(iterator.next(), ms, what);
      if (result.done) return { batches };
      batches.push(result.value);
    }
  } catch (error) {
    return { batches, error };
  }
}
