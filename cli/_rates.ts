// Messages per second per actor for `troupe status`: a sample of every
// actor's handled count each second, the rate between the last two.

import type { ActorStats } from "../mod.ts";

/** Each actor's messages per second, from samples of `ActorStats.handled`. */
export class Rates {
  #rates = new Map<string, number>();
  #samples = new Map<string, { handled: number; time: number }>();

  /** Takes a sample of every actor (once a second); actors gone are forgotten. */
  sample(actors: readonly ActorStats[], now: number = performance.now()): void {
    const seen = new Set<string>();
    for (const actor of actors) {
      seen.add(actor.id);
      const before = this.#samples.get(actor.id);
      if (before) {
        // A restarted actor counts from zero again.
        const delta = actor.handled >= before.handled
          ? actor.handled - before.handled
          : actor.handled;
        this.#rates.set(actor.id, (delta * 1000) / Math.max(1, now - before.time));
      }
      this.#samples.set(actor.id, { handled: actor.handled, time: now });
    }
    for (const id of this.#samples.keys()) {
      if (!seen.has(id)) {
        this.#samples.delete(id);
        this.#rates.delete(id);
      }
    }
  }

  /** The actor's messages per second, to one decimal (0 before there is a figure). */
  rate(actor: ActorStats, now: number = performance.now()): number {
    let rate = this.#rates.get(actor.id);
    const sample = this.#samples.get(actor.id);
    if (
      rate === undefined && sample && now - sample.time >= 250 && actor.handled >= sample.handled
    ) {
      // No full second yet: the rate since the first sample.
      rate = ((actor.handled - sample.handled) * 1000) / (now - sample.time);
    }
    return Math.round((rate ?? 0) * 10) / 10;
  }
}
