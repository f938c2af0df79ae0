/**
 * The `queue` transport: structured clone over a `MessagePort`. Each batch
 * is one `postMessage`, so many small messages cost one clone and one wake-up.
 * A batch its sender found to be plain data (`SendHints.kind` 0: JSON carries
 * it exactly) travels as one JSON string instead: V8 clones a string with one
 * copy, and `JSON.parse` builds the objects two to three times faster than
 * structured clone's deserializer (and `JSON.stringify` is faster than its
 * serializer), so a batch of small objects costs both threads less. Either way
 * the receiver gets what structured clone would give.
 *
 * @module
 */

import { AsyncQueue } from "../internal/async_queue.ts";
import { PLAIN_KIND } from "../internal/batch.ts";
import { ConnectionClosedError } from "../internal/channel_errors.ts";
import { postToPort } from "../internal/post_message.ts";
import {
  emptyStats,
  type HostKind,
  type SendHints,
  type Transport,
  type TransportFactory,
  type TransportLink,
  type TransportStats,
} from "./transport.ts";

/** Posted when an end closes; never a JSON batch, which starts with `[`. */
const CLOSE = "\u0000troupe:close";

/** A {@linkcode Transport} over one `MessagePort`. */
class QueueTransport implements Transport {
  readonly name = "queue";
  /**
   * Structured clone copies a whole batch before the peer sees any of it:
   * batches of about 1 MiB keep both threads busy at once.
   */
  readonly batchBytes: number = 1024 * 1024;
  /** Structured clone shares a `SharedArrayBuffer` with the peer. */
  readonly sharesMemory = true;
  #port: MessagePort;
  #stats = emptyStats();
  #inbox = new AsyncQueue<unknown[]>();
  #closed = false;
  /** Who closed the channel, once it is closed. */
  #closedBy: "local" | "peer" = "local";

  constructor(port: MessagePort) {
    this.#port = port;
    port.onmessage = (event: MessageEvent) => {
      const data = event.data;
      if (data === CLOSE) {
        this.#closedBy = "peer";
        this.#shut();
        return;
      }
      let batch: unknown[];
      if (typeof data === "string") {
        // A plain batch, as JSON text (see `send`).
        try {
          batch = JSON.parse(data);
        } catch (error) {
          this.#inbox.fail(new TypeError("Cannot receive batch: it is not JSON", { cause: error }));
          return;
        }
      } else batch = data as unknown[];
      this.#stats.batchesReceived++;
      this.#stats.messagesReceived += batch.length;
      this.#inbox.push(batch);
    };
    port.onmessageerror = () => {
      this.#inbox.fail(new TypeError("Cannot receive batch: it could not be deserialized"));
    };
  }

  send(messages: readonly unknown[], hints?: SendHints): void {
    if (this.#closed) throw new ConnectionClosedError("send", this.#closedBy);
    if (hints?.transfer !== undefined) {
      postToPort(this.#port, messages, hints.transfer as Transferable[]);
    } else if (hints?.kind === PLAIN_KIND) {
      // Plain data: JSON carries it exactly, and costs both ends less (see the module doc).
      postToPort(this.#port, JSON.stringify(messages));
    } else postToPort(this.#port, messages);
    this.#stats.batchesSent++;
    this.#stats.messagesSent += messages.length;
  }

  receive(): AsyncIterable<unknown[]> {
    return this.#inbox;
  }

  close(): Promise<void> {
    if (!this.#closed) {
      try {
        postToPort(this.#port, CLOSE);
      } catch {
        // The peer is gone already.
      }
      this.#shut();
    }
    return Promise.resolve();
  }

  #shut(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#port.onmessage = null;
    this.#port.close();
    this.#inbox.end();
  }

  stats(): TransportStats {
    return { ...this.#stats };
  }
}

/**
 * Opens the actor's end of a `queue` channel inside a worker. Called by the
 * runtime with the options the parent's factory produced.
 *
 * @param options The transferred port.
 * @returns The actor's end.
 */
export function connect(options: { port: MessagePort }): Transport {
  return new QueueTransport(options.port);
}

/**
 * Creates two connected `queue` transports in this thread, for tests and for
 * wiring actors to each other.
 *
 * @example
 * ```ts
 * import { queueTransportPair } from "@troupe/troupe/transport";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = queueTransportPair();
 * a.send(["hi"]);
 * for await (const batch of b.receive()) {
 *   assert.deepEqual(batch, ["hi"]);
 *   break;
 * }
 * await a.close();
 * await b.close();
 * ```
 *
 * @returns Both ends.
 */
export function queueTransportPair(): [Transport, Transport] {
  const channel = new MessageChannel();
  return [new QueueTransport(channel.port1), new QueueTransport(channel.port2)];
}

/**
 * The `queue` transport factory: postMessage over a `MessageChannel`, for
 * worker actors.
 *
 * @example
 * ```ts
 * import { queueTransport } from "@troupe/troupe";
 * import assert from "node:assert/strict";
 *
 * assert.equal(queueTransport().name, "queue");
 * ```
 *
 * @returns A factory the actor system uses for `transport: "queue"`.
 */
export function queueTransport(): TransportFactory {
  return {
    name: "queue",
    hosts: ["worker"],
    open(host: HostKind): Promise<TransportLink> {
      if (host !== "worker") {
        return Promise.reject(
          new TypeError(`Cannot open queue transport: it reaches workers only, received "${host}"`),
        );
      }
      const channel = new MessageChannel();
      return Promise.resolve({
        local: new QueueTransport(channel.port1),
        remote: {
          module: import.meta.url,
          options: { port: channel.port2 },
          transfer: [channel.port2],
        },
      });
    },
  };
}
