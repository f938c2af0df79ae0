// The parent's side of the calls actors make on their system's named work
// queues and semaphores (a `SystemCall`, which a process actor makes for both
// and a worker actor for queues; a worker actor holds permits through shared
// memory). Each kind of call is served by its own small function. An actor
// that ends leaves nothing behind: its waits end, the items it took and never
// finished go back to their queue, and the permits it held are given back,
// with a `permits-recovered` event.

import { watchDeadline } from "../../internal/abort.ts";
import type { LifecycleEvent } from "../core/events.ts";
import type { SystemCall } from "../core/protocol.ts";
import type { Semaphore } from "../sync/semaphore.ts";
import type { QueueWaitOptions, WorkQueue } from "../sync/work_queue.ts";

/** What the calls reach: the system's named queues and semaphores, and its actors. */
export interface CallTargets {
  /** The system's work queues, by name. */
  readonly queues: ReadonlyMap<string, WorkQueue<unknown>>;
  /** The system's semaphores, by name. */
  readonly semaphores: ReadonlyMap<string, Semaphore>;
  /** The semaphore owner id of a running actor; `undefined` once it has ended. */
  ownerOf(actorId: string): number | undefined;
  /** Publishes a lifecycle event. */
  emit(event: LifecycleEvent): void;
}

/** What one actor has under way. */
interface Caller {
  readonly id: string;
  /** Aborts the actor's waits when it ends: an item is never handed to a dead actor. */
  readonly ended: AbortController;
  /** Items it took and has not called `taskDone` for, oldest first. */
  readonly taken: [WorkQueue<unknown>, unknown][];
}

/**
 * How long after an actor was terminated its permits are looked for again:
 * `terminate()` returns before a busy worker thread stops.
 */
const RECHECK_MS = 100;

/** Serves the calls of a system's actors, and puts right what an ended actor left. */
export class CallServer {
  #targets: CallTargets;
  #callers = new Map<string, Caller>();
  /** Aborted by `close()`: cancels the permit rechecks still to come. */
  #closed = new AbortController();

  /** @param targets The queues, semaphores and actors the calls reach. */
  constructor(targets: CallTargets) {
    this.#targets = targets;
  }

  /**
   * Serves one call of the actor `actorId`.
   *
   * @param call What the actor asks for.
   * @param actorId Who asks.
   * @returns What the call gives back to the actor.
   */
  serve(call: SystemCall, actorId: string): Promise<unknown> {
    try {
      if (call[0] === "queue") {
        const queue = this.#queue(call[2][0]);
        switch (call[1]) {
          case "put":
            return put(queue, this.#callerOf(actorId), call[2][1], call[2][2]);
          case "get":
            return get(queue, this.#callerOf(actorId), call[2][1], this.#targets);
          case "getMany":
            return getMany(queue, this.#callerOf(actorId), call[2][1], this.#targets);
          case "putBack":
            return putBack(queue, this.#callerOf(actorId), call[2][1]);
          case "taskDone":
            return taskDone(queue, this.#callerOf(actorId));
          case "join":
            return join(queue, this.#callerOf(actorId), call[2][1]);
        }
      } else if (call[0] === "semaphore") {
        const [semaphore, owner] = this.#semaphore(call[2][0], actorId);
        switch (call[1]) {
          case "acquire":
            return acquire(semaphore, owner, this.#callerOf(actorId), call[2][1]);
          case "release":
            return release(semaphore, owner);
        }
      }
    } catch (error) {
      return Promise.reject(error);
    }
    const [service, op] = call as readonly unknown[];
    return Promise.reject(new TypeError(`Unknown system call ${service}.${op}`));
  }

  /**
   * An actor ended: ends its waits, puts back the items it took and never
   * finished, and gives back the permits it held (and looks again a moment
   * later when it was terminated, in case its thread was still running).
   *
   * @param actorId The actor.
   * @param owner Its semaphore owner id.
   * @param terminated Whether it was terminated rather than stopped or crashed.
   */
  ended(actorId: string, owner: number, terminated: boolean): void {
    const caller = this.#callers.get(actorId);
    if (caller) {
      this.#callers.delete(actorId);
      caller.ended.abort(new Error("The actor ended"));
      requeueTaken(caller.taken);
    }
    this.#recoverPermits(actorId, owner);
    if (!terminated) return;
    watchDeadline(this.#closed.signal, RECHECK_MS, () => {
      if (!this.#closed.signal.aborted) this.#recoverPermits(actorId, owner);
    });
  }

  /** Cancels the permit rechecks still to come: the system is shut down. */
  close(): void {
    this.#closed.abort();
  }

  /** Gives back the permits an ended actor held, and says so. */
  #recoverPermits(actorId: string, owner: number): void {
    for (const [name, semaphore] of this.#targets.semaphores) {
      const permits = semaphore.releaseAllOf(owner);
      if (permits > 0) {
        this.#targets.emit({
          type: "permits-recovered",
          id: actorId,
          semaphore: name,
          permits,
          time: Date.now(),
        });
      }
    }
  }

  #callerOf(actorId: string): Caller {
    let caller = this.#callers.get(actorId);
    if (!caller) {
      caller = { id: actorId, ended: new AbortController(), taken: [] };
      this.#callers.set(actorId, caller);
    }
    return caller;
  }

  #queue(name: string): WorkQueue<unknown> {
    const queue = this.#targets.queues.get(name);
    if (!queue) {
      throw new TypeError(`No queue named "${name}": create it with system.queue("${name}")`);
    }
    return queue;
  }

  #semaphore(name: string, actorId: string): [Semaphore, number] {
    const semaphore = this.#targets.semaphores.get(name);
    const owner = this.#targets.ownerOf(actorId);
    if (!semaphore || owner === undefined) {
      throw new TypeError(
        `No semaphore named "${name}": create it with system.semaphore("${name}", n)`,
      );
    }
    return [semaphore, owner];
  }
}

/** The most items one `getMany` call hands an actor. */
const MAX_BATCH = 64;

/** A wait of `caller` on a queue, ended by its end or after `timeout` ms. */
function waitOf(caller: Caller, timeout: number | undefined): QueueWaitOptions {
  return {
    signal: caller.ended.signal,
    ...(typeof timeout === "number" ? { timeout } : {}),
  };
}

function put(
  queue: WorkQueue<unknown>,
  caller: Caller,
  item: unknown,
  timeout: number | undefined,
): Promise<void> {
  return queue.put(item, waitOf(caller, timeout));
}

async function get(
  queue: WorkQueue<unknown>,
  caller: Caller,
  timeout: number | undefined,
  targets: CallTargets,
): Promise<unknown> {
  const item = await queue.get(waitOf(caller, timeout));
  if (targets.ownerOf(caller.id) === undefined) {
    queue.requeue(item);
    throw new Error("The actor ended before it got the item");
  }
  caller.taken.push([queue, item]);
  return item;
}

/**
 * Waits for one item as `get` does, then takes up to `max - 1` more that are
 * waiting now: what an actor iterating the queue fetches in one round trip.
 */
async function getMany(
  queue: WorkQueue<unknown>,
  caller: Caller,
  max: number,
  targets: CallTargets,
): Promise<unknown[]> {
  const first = await get(queue, caller, undefined, targets);
  const more = queue.takeAvailable(Math.max(0, Math.min(max, MAX_BATCH) - 1));
  for (const item of more) caller.taken.push([queue, item]);
  return [first, ...more];
}

/**
 * The last `count` items an actor took from `queue` were fetched ahead and
 * will not be handled (it stopped iterating): back to the queue's front, in
 * their order, and no longer the actor's.
 */
function putBack(queue: WorkQueue<unknown>, caller: Caller, count: number): Promise<void> {
  const items: unknown[] = [];
  for (let i = caller.taken.length - 1; i >= 0 && items.length < count; i--) {
    if (caller.taken[i]![0] !== queue) continue;
    items.unshift(caller.taken[i]![1]);
    caller.taken.splice(i, 1);
  }
  queue.requeueAll(items);
  return Promise.resolve();
}

/**
 * An ended actor's items, back to the front of each queue in the order it
 * took them: a consumer waiting gets the oldest first.
 */
function requeueTaken(taken: readonly [WorkQueue<unknown>, unknown][]): void {
  const byQueue = new Map<WorkQueue<unknown>, unknown[]>();
  for (const [queue, item] of taken) {
    const items = byQueue.get(queue);
    if (items) items.push(item);
    else byQueue.set(queue, [item]);
  }
  for (const [queue, items] of byQueue) queue.requeueAll(items);
}

function taskDone(queue: WorkQueue<unknown>, caller: Caller): Promise<void> {
  const index = caller.taken.findIndex(([q]) => q === queue);
  queue.taskDone();
  if (index >= 0) caller.taken.splice(index, 1);
  return Promise.resolve();
}

function join(
  queue: WorkQueue<unknown>,
  caller: Caller,
  timeout: number | undefined,
): Promise<void> {
  return queue.join(waitOf(caller, timeout));
}

async function acquire(
  semaphore: Semaphore,
  owner: number,
  caller: Caller,
  timeout: number | undefined,
): Promise<boolean> {
  const permit = await semaphore.acquire({
    owner,
    signal: caller.ended.signal,
    ...(timeout === undefined ? {} : { timeout }),
  });
  return permit.previousHolderDied;
}

function release(semaphore: Semaphore, owner: number): Promise<void> {
  semaphore.release(owner);
  return Promise.resolve();
}
