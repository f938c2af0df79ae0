// A node's view of its connection: the client's status stream turned into
// the node's state (connected or not, how often it dropped and came back)
// and its cluster events. A drop fails the asks in flight at once; a
// reconnect is reported once the server holds the resent subscriptions.

import type { NatsConnection } from "@nats-io/transport-node";
import { noop } from "../../internal/abort.ts";
import type { ClusterEventReport } from "../core/cluster_events.ts";
import type { Asks } from "./_asks.ts";
import { redactServer } from "./_options.ts";

/** What the watch needs from its node. */
export interface StatusKit {
  nc: NatsConnection;
  asks: Asks;
  emit(event: ClusterEventReport): void;
  /** Whether the node is closing (then the client's end is not a give-up). */
  closing(): boolean;
  /** The client closed by itself (it gave up reconnecting). */
  gaveUp(): void;
}

export class ConnectionWatch {
  connected = true;
  disconnects = 0;
  reconnects = 0;
  /** Ends when the client's status stream ends (the connection closed). */
  readonly done: Promise<void>;
  #kit: StatusKit;

  constructor(kit: StatusKit) {
    this.#kit = kit;
    this.done = this.#watch();
  }

  async #watch(): Promise<void> {
    const { nc, asks } = this.#kit;
    for await (const status of nc.status()) {
      const time = Date.now();
      switch (status.type) {
        case "disconnect": {
          this.connected = false;
          asks.connected = false;
          this.disconnects++;
          const failedAsks = asks.failAll();
          this.#kit.emit({
            type: "nats-disconnected",
            server: redactServer(status.server),
            failedAsks,
            time,
          });
          break;
        }
        case "reconnect":
          this.connected = true;
          asks.connected = true;
          this.reconnects++;
          // The client has resent its subscriptions; a round trip makes sure
          // the server holds them, so the event means "served again".
          await nc.flush().catch(noop);
          this.#kit.emit({
            type: "nats-reconnected",
            server: redactServer(status.server),
            time,
          });
          break;
        case "error":
          this.#kit.emit({ type: "nats-error", message: status.error.message, time });
          break;
      }
    }
    if (!this.#kit.closing()) {
      // The client closed by itself: it gave up reconnecting
      // (`maxReconnectAttempts`). The node is closed for good.
      this.connected = false;
      this.#kit.gaveUp();
    }
  }
}
