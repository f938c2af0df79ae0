/**
 * Bench actor for `tell.ring.worker.64k.lent`: the sink of `sink.ts`, spawned with
 * `lendBytes`, so on the ring its 64 KiB blocks arrive as views of the ring itself (no copy).
 * It reads each block's first byte, so a block that never arrived cannot count.
 *
 * @module
 */
import { defineActor } from "../../actor.ts";

/** Counts every `take`; `count` returns how many it took. */
export const lentSink = defineActor({
  lendBytes: true,
  init: () => ({ count: 0, bytes: 0 }),
  handlers: {
    take(state, msg: unknown) {
      state.count++;
      state.bytes += (msg as Uint8Array)[0];
    },
    count: (state) => state.count,
  },
});
