/**
 * Small tells to a sink actor for a while, as the bench's tell figures send them (the small
 * message, 64 between clock reads), counted by the sink: the pump of `_ab_tell.ts` and
 * `_otel_probe.ts`.
 *
 * @module
 */

import { smallMessage } from "./baselines/_util.ts";

/** What the pump needs of a ref to `actors/sink.ts`, from any checkout. */
export interface SinkLike {
  tell(name: "take", message: unknown): Promise<void>;
  ask(name: "count"): Promise<number>;
}

/**
 * Returns a pump over `sink`: each call tells for `ms` and resolves with the messages per
 * second, once the sink counted every one of them.
 */
export function smallTellPump(sink: SinkLike): (ms: number) => Promise<number> {
  let sent = 0;
  return async (ms) => {
    const before = await sink.ask("count");
    const from = sent;
    const start = performance.now();
    const deadline = start + ms;
    do {
      for (let i = 0; i < 64; i++) await sink.tell("take", smallMessage(sent++));
    } while (performance.now() < deadline);
    if (await sink.ask("count") - before !== sent - from) throw new Error("Cannot trust run");
    return (sent - from) / ((performance.now() - start) / 1000);
  };
}
