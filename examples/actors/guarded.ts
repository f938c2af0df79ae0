/**
 * The children of example 09: enter a critical section guarded by the
 * system's "db" semaphore.
 *
 * @module
 */
import { defineActor } from "../../actor.ts";

/** Enters the section under a "db" permit, or crashes while holding one. */
export const guarded = defineActor({
  // A gauge in shared memory: [0] holders inside, [1] holders done, [2] changes.
  init: (gauge: SharedArrayBuffer) => ({ gauge: new Int32Array(gauge) }),
  handlers: {
    /** Returns the most holders it saw inside at once (itself included). */
    async enter(state, holders: number, ctx) {
      const gauge = state.gauge;
      await using _permit = await ctx.semaphore("db").acquire({ timeout: 10_000 });
      Atomics.add(gauge, 0, 1);
      Atomics.add(gauge, 2, 1);
      Atomics.notify(gauge, 2);
      // Stay inside until another holder joins, or every other one is done:
      // the overlap is forced, not left to timing.
      let peak = 0;
      const deadline = Date.now() + 10_000;
      while (true) {
        const changes = Atomics.load(gauge, 2);
        const inside = Atomics.load(gauge, 0);
        peak = Math.max(peak, inside);
        if (inside >= 2 || inside + Atomics.load(gauge, 1) >= holders) break;
        if (Date.now() > deadline) throw new Error("No other holder came within 10 s");
        const wait = Atomics.waitAsync(gauge, 2, changes, deadline - Date.now());
        if (wait.async) await wait.value;
      }
      Atomics.sub(gauge, 0, 1);
      Atomics.add(gauge, 1, 1);
      Atomics.add(gauge, 2, 1);
      Atomics.notify(gauge, 2);
      return peak;
    },
    /** Takes a permit and dies with it. */
    async holdThenCrash(_state, _payload: undefined, ctx): Promise<never> {
      await ctx.semaphore("db").acquire({ timeout: 10_000 });
      setTimeout(() => {
        throw new Error("crashed holding a permit");
      }, 0);
      return await new Promise<never>(() => {});
    },
  },
});
