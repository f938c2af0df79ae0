/**
 * The children of examples 07 and 08: add to shared memory from worker actors.
 *
 * @module
 */
import {
  defineActor,
  SharedArray,
  type SharedArrayDescriptor,
  SharedValue,
  type SharedValueDescriptor,
} from "../../mod.ts";

/** A shared counter, and optionally a shared array whose slots take turns. */
export interface AdderArgs {
  counter: SharedValueDescriptor<"i32">;
  tallies?: SharedArrayDescriptor<"i32">;
}

/** Adds 1 to the shared counter `times` times (and to the array's slots in turn), atomically. */
export const adder = defineActor({
  init: (args: AdderArgs) => ({
    counter: SharedValue.from(args.counter),
    tallies: args.tallies && SharedArray.from(args.tallies),
  }),
  handlers: {
    add(state, times: number) {
      for (let i = 0; i < times; i++) {
        state.counter.add(1); // one atomic read-modify-write: no update is lost
        state.tallies?.add(i % state.tallies.length, 1);
      }
    },
  },
});
