/**
 * Bench actor of `seed.counter.adds`: the writer of examples 07 and 08, adding to a shared counter
 * from a worker actor.
 *
 * @module
 */
import { defineActor, SharedValue, type SharedValueDescriptor } from "../../mod.ts";

/** Adds 1 to the shared counter it is spawned with, `times` times, atomically. */
export const seedAdder = defineActor({
  init: (counter: SharedValueDescriptor<"i32">) => SharedValue.from(counter),
  handlers: {
    add(counter, times: number) {
      for (let i = 0; i < times; i++) counter.add(1); // one atomic read-modify-write each
    },
  },
});
