// Fans lifecycle events out to every subscriber. A subscriber that does not
// read keeps at most `limit` unread events; newer ones are dropped for it and
// counted (ActorSystem.stats().eventsDropped). Generic over the event type, so
// the cluster layer fans its own events out the same way.

import { AsyncQueue } from "../../internal/async_queue.ts";
import type { LifecycleEvent } from "./events.ts";
import { watchDeadline } from "../../internal/abort.ts";

/** Each system's hub, so a layer above the core (a NATS node) can report into it. */
const hubs = new WeakMap<object, EventHub<LifecycleEvent>>();

/** Makes `hub` the one `eventsOf(owner)` finds (the system registers its own at start). */
export function registerEvents(owner: object, hub: EventHub<LifecycleEvent>): void {
  hubs.set(owner, hub);
}

/** The hub `owner` registered, if any. */
export function eventsOf(owner: object): EventHub<LifecycleEvent> | undefined {
  return hubs.get(owner);
}

export class EventHub<E extends { type: string } = LifecycleEvent> {
  readonly counts: Record<string, number> = {};
  /** Events a subscriber missed because it had `limit` unread already. */
  dropped = 0;
  #subscribers = new Set<AsyncQueue<E>>();
  #limit: number;

  constructor(limit = 10_000) {
    this.#limit = limit;
  }

  emit(event: E): void {
    this.counts[event.type] = (this.counts[event.type] ?? 0) + 1;
    for (const queue of this.#subscribers) {
      if (queue.size >= this.#limit) {
        this.dropped++;
        continue;
      }
      queue.push(event);
    }
  }

  subscribe(signal: AbortSignal | undefined): AsyncIterableIterator<E> {
    const queue = new AsyncQueue<E>();
    this.#subscribers.add(queue);
    const end = () => {
      this.#subscribers.delete(queue);
      queue.end();
    };
    const stopWatching = watchDeadline(signal, undefined, end);
    const iterator = queue[Symbol.asyncIterator]();
    return {
      next: () => iterator.next(),
      return: () => {
        stopWatching();
        end();
        return iterator.return!();
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** Ends every subscription (the system shut down). */
  close(): void {
    for (const queue of this.#subscribers) queue.end();
    this.#subscribers.clear();
  }
}
