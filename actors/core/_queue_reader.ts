// An actor's loop over a system queue (`for await (const item of
// ctx.queue(name))`): every item comes from the parent, which owns the queue,
// so the loop fetches ahead while it handles items faster than a round trip
// (doubling up to FETCH_AHEAD at once), and one at a time while it is slower,
// so slow jobs still spread over every consumer. What it fetched and did not
// handle when it ends early (`break`, a throw) goes back to the queue's front.

import { QueueClosedError } from "../../internal/queue_errors.ts";
import type { SystemCall } from "./protocol.ts";

/** The most items one fetch takes. */
export const FETCH_AHEAD = 32;

/**
 * The items of queue `name`, fetched through `call`; `now` is the clock
 * (milliseconds) the fetch-ahead decision reads.
 */
export async function* queueItems(
  name: string,
  call: (...call: SystemCall) => Promise<unknown>,
  now: () => number = () => performance.now(),
): AsyncGenerator<unknown, void, undefined> {
  let ahead: unknown[] = [];
  let at = 0;
  let want = 1;
  try {
    while (true) {
      if (at < ahead.length) {
        yield ahead[at++];
        continue;
      }
      const asked = now();
      try {
        ahead = want === 1
          ? [await call("queue", "get", [name, undefined])]
          : await call("queue", "getMany", [name, want]) as unknown[];
      } catch (error) {
        if (error instanceof QueueClosedError) return;
        throw error;
      }
      at = 0;
      const roundTrip = now() - asked;
      const handling = now();
      yield ahead[at++];
      // Handling the item took longer than fetching it: fetching ahead gains nothing.
      want = now() - handling > roundTrip ? 1 : Math.min(FETCH_AHEAD, want * 2);
    }
  } finally {
    const left = ahead.length - at;
    if (left > 0) await call("queue", "putBack", [name, left]).catch(() => {});
  }
}
