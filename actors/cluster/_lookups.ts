// The asking side of a node's lookups: the links a `RemoteRef` and a
// `DurableRef` send through (encode the payload, hand it to the shared
// inbox's `Asks` or to a confirmed JetStream publish), and the checks of a
// looked-up name and of the lookup's options.

import type { NatsConnection } from "@nats-io/transport-node";
import type { AskOptions } from "../core/actor_ref.ts";
import type { PayloadInspector } from "../../internal/payload.ts";
import type { Asks } from "./_asks.ts";
import type { RemoteLink } from "./remote_ref.ts";
import type { DurableLink, DurableReceipt, DurableTellOptions } from "./durable_ref.ts";
import { durableSubjectOf, publishDurable } from "./_durable.ts";
import { encodeBody, isSubjectPart, payloadText, subjectOf } from "./_wire.ts";
import { codecOption } from "./_options.ts";
import type { DurableLookupOptions, LookupOptions } from "./nats_options.ts";

/** Throws the lookup's `TypeError` when `name` is not a valid name. */
export function checkLookupName(name: string): void {
  if (!isSubjectPart(name)) {
    throw new TypeError(
      `Cannot look up actor: the name must be letters, digits, "_" and "-" in dot-separated tokens, received ${
        JSON.stringify(name)
      }`,
    );
  }
}

/** The link of a core `RemoteRef`: tells and asks over the node's shared inbox. */
export function remoteLink(
  namespace: string,
  name: string,
  asks: Asks,
  inspector: PayloadInspector,
  askTimeout: number,
  options: LookupOptions,
): RemoteLink {
  checkLookupName(name);
  const codec = codecOption(options.codec, `Cannot look up actor "${name}"`);
  const subject = subjectOf(namespace, name);
  return {
    name,
    subject,
    tell(messageName: string, payload: unknown): Promise<void> {
      try {
        if (codec === "json") {
          asks.tellText(name, subject, messageName, payloadText(inspector, payload));
        } else asks.tell(name, subject, messageName, encodeBody(codec, inspector, payload), codec);
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error);
      }
    },
    ask(messageName: string, payload: unknown, options: AskOptions | undefined) {
      try {
        return asks.ask(
          name,
          subject,
          messageName,
          encodeBody(codec, inspector, payload),
          options?.timeout ?? askTimeout,
          options?.signal,
          codec,
        );
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
}

/** What a durable link needs from its node. */
export interface DurableLinkKit {
  nc: NatsConnection;
  asks: Asks;
  namespace: string;
  inspector: PayloadInspector;
  /** Whether a publish can go out now (connected and not closing). */
  open(): boolean;
  /** Counts one confirmed durable tell. */
  confirmed(): void;
}

/** The link of a `DurableRef`: one confirmed JetStream publish per tell. */
export function durableLink(
  name: string,
  options: DurableLookupOptions,
  kit: DurableLinkKit,
): DurableLink {
  checkLookupName(name);
  const codec = codecOption(options.codec, `Cannot look up actor "${name}"`);
  const timeout = options.publishTimeout ?? 5000;
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new RangeError(
      `Cannot look up actor "${name}": publishTimeout must be a positive number, received ${timeout}`,
    );
  }
  const subject = durableSubjectOf(kit.namespace, name);
  return {
    name,
    subject,
    async tell(
      messageName: string,
      payload: unknown,
      options: DurableTellOptions | undefined,
    ): Promise<DurableReceipt> {
      const id = options?.id ?? crypto.randomUUID();
      if (typeof id !== "string" || id.length === 0) {
        throw new TypeError(`Cannot tell "${name}" durably: id must be a non-empty string`);
      }
      const data = encodeBody(codec, kit.inspector, payload);
      const receipt = await publishDurable(
        kit.nc,
        kit.asks,
        kit.open(),
        name,
        subject,
        messageName,
        data,
        id,
        options?.timeout ?? timeout,
        codec,
      );
      kit.confirmed();
      return receipt;
    },
  };
}
