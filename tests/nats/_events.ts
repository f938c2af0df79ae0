// Shared by the NATS tests: a node's cluster events, collected as they come.
import type { ClusterEvent, NatsNode } from "../../actors/cluster/mod.ts";

/** Collects `node`'s events; `until` waits for the `n`th of a type. */
export function eventsOf(node: NatsNode) {
  const seen: ClusterEvent[] = [];
  let wake = () => {};
  const reading = (async () => {
    for await (const event of node.events()) {
      seen.push(event);
      wake();
    }
  })();
  const count = (type: ClusterEvent["type"]) => seen.filter((e) => e.type === type).length;
  return {
    seen,
    reading,
    /** Resolves with the `n`th event of `type` once it was seen. */
    async until(type: ClusterEvent["type"], n = 1): Promise<ClusterEvent> {
      while (count(type) < n) await new Promise<void>((resolve) => wake = resolve);
      return seen.filter((e) => e.type === type)[n - 1];
    },
  };
}
