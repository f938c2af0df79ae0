// Durable mailboxes on JetStream. A name exposed durably gets a stream of its
// own (`TROUPE_<namespace>_<name>`, work-queue retention, file storage) on
// the subject `troupe-durable.<namespace>.<name>`, and one durable pull
// consumer (`troupe`) with explicit acks that every process exposing the
// name pulls from: the pool of a durable name is the set of its consumers'
// pullers. A message is acked only once its handler returned; a handler that
// throws is retried (nak with a delay); a message delivered `maxDeliver`
// times without an ack (its handler kept failing, ran past 0.8 × `ackWait`,
// or kept killing or stalling its process) is dead-lettered: acked away,
// counted, and reported as a `nats-dead-letter` event. The server redelivers by
// itself (max_deliver -1); the cut at `maxDeliver` is made here, so a message
// whose handler killed its process every time is dead-lettered too.
//
// The sending side publishes with a `Nats-Msg-Id`, so a retry with the same
// id within the stream's duplicate window stores once; a publish the broker
// did not confirm is a `PublishOutcomeUnknownError` with that id.

import { type Msg, MsgHdrsImpl, nanos, type NatsConnection } from "@nats-io/transport-node";
import type { Asks } from "./_asks.ts";
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  jetstream,
  JetStreamApiError,
  type JetStreamManager,
  jetstreamManager,
  type JsMsg,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import {
  ConnectionClosedError,
  ConnectionLostError,
  FrameTooLargeError,
  MessageNotCloneableError,
  NoRespondersError,
  ProtocolError,
  PublishOutcomeUnknownError,
  UnknownMessageError,
} from "../../internal/errors.ts";
import { noop, settleWithin } from "../../internal/abort.ts";
import type { ClusterEventReport } from "../core/cluster_events.ts";
import {
  CODEC_HEADER,
  decodeBody,
  decodeValue,
  headerOf,
  MESSAGE_HEADER,
  requestCodec,
  type WireCodec,
} from "./_wire.ts";

/** The first token of every durable mailbox's subject. */
export const DURABLE_ROOT = "troupe-durable";
/** The durable consumer every process exposing a name shares. */
export const CONSUMER_NAME = "troupe";
/** JetStream's message id header: a retry with the same id stores once. */
export const MSG_ID_HEADER = "Nats-Msg-Id";

/** The subject of a durable mailbox: `troupe-durable.<namespace>.<name>`. */
export function durableSubjectOf(namespace: string, name: string): string {
  return `${DURABLE_ROOT}.${namespace}.${name}`;
}

/** The stream of a durable mailbox: `TROUPE_<namespace>_<name>`, dots as `_`. */
export function streamNameOf(namespace: string, name: string): string {
  return `TROUPE_${namespace}_${name}`.replaceAll(".", "_");
}

/** What a durable exposure keeps of its options. */
export interface DurableSettings {
  ackWait: number;
  maxDeliver: number;
  retryDelay: number;
  maxInflight: number;
  duplicateWindow: number;
}

/** Counters of a durable mailbox in this process. */
export interface DurableStats {
  /** The JetStream stream behind the mailbox. */
  stream: string;
  /** The subject durable messages are published on. */
  subject: string;
  /** The durable consumer the serving processes share. */
  consumer: string;
  /** Deliveries taken from the stream (first deliveries and redeliveries). */
  delivered: number;
  /** Of those, redeliveries (the message had been delivered before). */
  redelivered: number;
  /** Messages whose handler returned, acked. */
  acked: number;
  /** Handler failures sent back for another delivery (nak). */
  retried: number;
  /** Messages given up: `maxDeliver` deliveries without an ack, or a permanent error. */
  deadLetters: number;
  /** Handlers running now. */
  inflight: number;
  /** Messages in the stream not yet acked (all processes), as last read from the broker. */
  depth: number | undefined;
}

/** What a durable mailbox needs from its exposure (internal). */
export interface DurableKit {
  nc: NatsConnection;
  emit(event: ClusterEventReport): void;
  badRequest(reason: string): void;
  lastError(error: unknown): void;
  /** Whether V8-serialized messages are taken (JSON ones always are). */
  v8: boolean;
}

interface Untyped {
  ask(name: string, payload: unknown): Promise<unknown>;
}

const PERMANENT = [UnknownMessageError, MessageNotCloneableError];

/**
 * The share of `ackWait` a handler may run: given up on (and naked) at
 * 0.8 × ackWait, found by a sweep every ackWait / 10 (at most 1 s), so by
 * 0.9 × ackWait at the latest, before the broker's own deadline redelivers
 * the message on top.
 */
const HANDLER_DEADLINE_SHARE = 0.8;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function ensureStream(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  duplicateWindow: number,
  where: string,
): Promise<void> {
  const config = {
    name: stream,
    subjects: [subject],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    duplicate_window: nanos(duplicateWindow),
  };
  try {
    await jsm.streams.add(config);
    return;
  } catch (error) {
    if (!(error instanceof JetStreamApiError)) throw error;
  }
  // It exists (another process made it, or an earlier run): it must be ours.
  const info = await jsm.streams.info(stream);
  if (info.config.subjects?.length !== 1 || info.config.subjects[0] !== subject) {
    throw new TypeError(
      `${where}: the stream ${stream} exists with subjects ${
        JSON.stringify(info.config.subjects)
      }, not ${subject}`,
    );
  }
  if (info.config.duplicate_window !== config.duplicate_window) {
    await jsm.streams.update(stream, { duplicate_window: config.duplicate_window });
  }
}

async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  settings: DurableSettings,
): Promise<void> {
  const config = {
    durable_name: CONSUMER_NAME,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(settings.ackWait),
    max_deliver: -1,
    filter_subject: subject,
    max_ack_pending: Math.max(1000, settings.maxInflight * 4),
  };
  try {
    await jsm.consumers.add(stream, config);
  } catch (error) {
    if (!(error instanceof JetStreamApiError)) throw error;
    // It exists with other settings: the latest exposure's deadline wins.
    await jsm.consumers.update(stream, CONSUMER_NAME, {
      ack_wait: config.ack_wait,
      max_ack_pending: config.max_ack_pending,
    });
  }
}

/** One message being handled. */
interface Handling {
  msg: JsMsg;
  messageName: string;
  deliveries: number;
  /** `performance.now()` past which the handler is given up on (0.8 × its `ackWait`). */
  deadline: number;
  settled: boolean;
}

/**
 * The serving side of a durable mailbox: pulls, runs the handler, acks.
 *
 * The handler runs as a plain ask, without a per-ask deadline or signal
 * (each costs a timer or a listener per message, several times the ask
 * itself): one sweep per mailbox gives up on handlers past 0.8 × `ackWait`, and
 * `close` on those left past its timeout. A handler given up on is naked
 * and its slot freed; what it returns later is ignored.
 */
export class DurableMailbox {
  readonly stream: string;
  readonly subject: string;
  #name: string;
  #target: Untyped;
  #settings: DurableSettings;
  /** Milliseconds a handler may run: `HANDLER_DEADLINE_SHARE` × ackWait. */
  #handlerMs: number;
  #kit: DurableKit;
  #jsm: JetStreamManager;
  #messages: ConsumerMessages;
  #pulling: Promise<void>;
  #inflight = new Set<Handling>();
  #room: (() => void) | undefined;
  #idle: (() => void) | undefined;
  #sweeper: ReturnType<typeof setInterval>;
  #counts = { delivered: 0, redelivered: 0, acked: 0, retried: 0, deadLetters: 0 };
  #depth: number | undefined;
  #closed = false;

  private constructor(
    name: string,
    stream: string,
    subject: string,
    target: Untyped,
    settings: DurableSettings,
    kit: DurableKit,
    jsm: JetStreamManager,
    messages: ConsumerMessages,
  ) {
    this.#name = name;
    this.stream = stream;
    this.subject = subject;
    this.#target = target;
    this.#settings = settings;
    this.#handlerMs = Math.round(settings.ackWait * HANDLER_DEADLINE_SHARE);
    this.#kit = kit;
    this.#jsm = jsm;
    this.#messages = messages;
    this.#sweeper = setInterval(
      () => this.#sweep(),
      Math.min(1000, Math.max(10, settings.ackWait / 10)),
    );
    this.#pulling = this.#pull();
  }

  /** Makes (or checks) the stream and the consumer, then starts pulling. */
  static async open(
    name: string,
    namespace: string,
    target: unknown,
    settings: DurableSettings,
    kit: DurableKit,
  ): Promise<DurableMailbox> {
    const where = `Cannot expose "${name}" durably`;
    const stream = streamNameOf(namespace, name);
    const subject = durableSubjectOf(namespace, name);
    let jsm: JetStreamManager;
    try {
      jsm = await jetstreamManager(kit.nc, { timeout: 5000 });
    } catch (error) {
      throw new TypeError(`${where}: the broker has no JetStream (run nats-server with -js)`, {
        cause: error,
      });
    }
    await ensureStream(jsm, stream, subject, settings.duplicateWindow, where);
    await ensureConsumer(jsm, stream, subject, settings);
    const consumer = await jetstream(kit.nc).consumers.get(stream, CONSUMER_NAME);
    const messages = await consumer.consume({ max_messages: settings.maxInflight });
    return new DurableMailbox(
      name,
      stream,
      subject,
      target as Untyped,
      settings,
      kit,
      jsm,
      messages,
    );
  }

  async #pull(): Promise<void> {
    try {
      for await (const msg of this.#messages) {
        while (
          this.#inflight.size + this.#starting.length >= this.#settings.maxInflight &&
          !this.#closed
        ) {
          await new Promise<void>((resolve) => this.#room = resolve);
        }
        if (this.#closed) {
          // Taken after close began: give it straight back for another process.
          msg.nak();
          continue;
        }
        if (this.#starting.push(msg) === 1) this.#startTimer = setTimeout(this.#startAll, 0);
      }
    } catch (error) {
      if (!this.#closed) {
        this.#kit.emit({ type: "nats-error", message: describe(error), time: Date.now() });
      }
    }
  }

  /**
   * Deliveries taken, handed to the actor together at the next timer turn:
   * they arrive one socket read each as the senders publish, and handed over
   * one by one each would be its own message to the actor's thread (about
   * 30 messages to one, measured). They count against `maxInflight`.
   */
  #starting: JsMsg[] = [];
  #startTimer: ReturnType<typeof setTimeout> | undefined;

  #startAll = (): void => {
    clearTimeout(this.#startTimer);
    this.#startTimer = undefined;
    const starting = this.#starting;
    this.#starting = [];
    for (const msg of starting) {
      if (this.#closed) msg.nak();
      else this.#start(msg);
    }
  };

  #deadLetter(msg: JsMsg, messageName: string, reason: string): void {
    this.#counts.deadLetters++;
    this.#kit.emit({
      type: "nats-dead-letter",
      name: this.#name,
      messageName,
      reason,
      msgId: msg.headers?.get(MSG_ID_HEADER) || undefined,
      deliveries: msg.info.deliveryCount,
      time: Date.now(),
    });
    msg.ack();
  }

  #start(msg: JsMsg): void {
    this.#counts.delivered++;
    const deliveries = msg.info.deliveryCount;
    if (deliveries > 1) this.#counts.redelivered++;
    let messageName = "";
    let payload: unknown;
    try {
      const h = msg.headers;
      messageName = headerOf(h, MESSAGE_HEADER);
      if (messageName === "") throw new Error(`the ${MESSAGE_HEADER} header is missing`);
      payload = decodeBody(requestCodec(headerOf(h, CODEC_HEADER), this.#kit.v8), msg.data);
    } catch (error) {
      this.#kit.badRequest(describe(error));
      this.#deadLetter(msg, messageName, `bad request: ${describe(error)}`);
      return;
    }
    if (deliveries > this.#settings.maxDeliver) {
      this.#deadLetter(
        msg,
        messageName,
        `delivered ${
          deliveries - 1
        } times without an ack (maxDeliver ${this.#settings.maxDeliver})`,
      );
      return;
    }
    const handling: Handling = {
      msg,
      messageName,
      deliveries,
      // Given up on (and naked) a little before the broker's own ack
      // deadline, so the broker does not redeliver it on top.
      deadline: performance.now() + this.#handlerMs,
      settled: false,
    };
    this.#inflight.add(handling);
    let work: Promise<unknown>;
    try {
      work = this.#target.ask(messageName, payload);
    } catch (error) {
      work = Promise.reject(error);
    }
    work.then(
      () => this.#finish(handling, true, undefined),
      (error) => this.#finish(handling, false, error),
    );
  }

  #finish(handling: Handling, ok: boolean, error: unknown): void {
    if (handling.settled) return; // Given up on already: its late end is ignored.
    handling.settled = true;
    this.#inflight.delete(handling);
    const room = this.#room;
    this.#room = undefined;
    room?.();
    if (this.#inflight.size === 0) {
      const idle = this.#idle;
      this.#idle = undefined;
      idle?.();
    }
    const { msg, messageName, deliveries } = handling;
    if (ok) {
      this.#counts.acked++;
      this.#ack(msg);
      return;
    }
    this.#kit.lastError(error);
    if (error instanceof ClosingError) {
      // Closing: another process (or a later run) takes it.
      msg.nak();
    } else if (PERMANENT.some((kind) => error instanceof kind)) {
      this.#deadLetter(msg, messageName, describe(error));
    } else if (deliveries >= this.#settings.maxDeliver) {
      this.#deadLetter(
        msg,
        messageName,
        `failed on all ${deliveries} deliveries, last: ${describe(error)}`,
      );
    } else {
      this.#counts.retried++;
      msg.nak(this.#settings.retryDelay);
    }
  }

  /**
   * Acks of handlers that returned, sent together: replies come back from the
   * actor one event each, and an ack sent at once is one socket write (and
   * one server read) per message. Held at most until the next timer turn.
   */
  #acks: JsMsg[] = [];
  #ackTimer: ReturnType<typeof setTimeout> | undefined;

  #ack(msg: JsMsg): void {
    if (this.#acks.push(msg) === 1) this.#ackTimer = setTimeout(this.#flushAcks, 0);
  }

  #flushAcks = (): void => {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    const acks = this.#acks;
    this.#acks = [];
    for (const msg of acks) {
      try {
        msg.ack();
      } catch {
        // The connection closed first: unacked, the message is delivered again.
      }
    }
  };

  /** Gives up on handlers past their ack deadline. */
  #sweep(): void {
    const now = performance.now();
    for (const handling of [...this.#inflight]) {
      if (now > handling.deadline) {
        this.#finish(
          handling,
          false,
          new DOMException(
            `The handler ran past its deadline of ${this.#handlerMs} ms (${HANDLER_DEADLINE_SHARE} × ackWait ${this.#settings.ackWait} ms)`,
            "TimeoutError",
          ),
        );
      }
    }
  }

  /** Reads the mailbox's depth (messages not yet acked, all processes) from the broker. */
  async refreshDepth(): Promise<number | undefined> {
    try {
      const info = await this.#jsm.consumers.info(this.stream, CONSUMER_NAME);
      this.#depth = info.num_pending + info.num_ack_pending;
    } catch {
      // The broker is away: the last depth read stands.
    }
    return this.#depth;
  }

  stats(): DurableStats {
    return {
      stream: this.stream,
      subject: this.subject,
      consumer: CONSUMER_NAME,
      ...this.#counts,
      inflight: this.#inflight.size,
      depth: this.#depth,
    };
  }

  /**
   * Stops pulling, lets the handlers running finish within `timeout` (their
   * messages are acked), then gives up on the rest (naked: redelivered elsewhere).
   */
  async close(timeout: number, signal?: AbortSignal): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#startAll(); // Closed: those not handed over yet go back (nak) for another process.
    const room = this.#room;
    this.#room = undefined;
    room?.();
    await settleWithin(this.#messages.close().then(noop, noop), timeout, signal);
    if (this.#inflight.size > 0) {
      const idle = new Promise<void>((resolve) => this.#idle = resolve);
      if (!await settleWithin(idle, timeout, signal)) {
        for (const handling of [...this.#inflight]) {
          this.#finish(handling, false, new ClosingError());
        }
      }
    }
    this.#flushAcks();
    await settleWithin(this.#pulling, timeout, signal);
  }
}

/** A handler given up on because its exposure closed. */
class ClosingError extends Error {
  constructor() {
    super("The exposure closed.");
    this.name = "AbortError";
  }
}

/** What a durable publish got back: the broker stored it (or had it already). */
export interface DurableReceipt {
  /** The message's id (`Nats-Msg-Id`). */
  id: string;
  /** The stream it is stored in. */
  stream: string;
  /** Its sequence number in the stream. */
  seq: number;
  /** `true` when the broker had a message with this id already (a retry): stored once. */
  duplicate: boolean;
}

/** Room left in a message for the headers, under the server's payload limit. */
const HEADER_ROOM = 512;

/** The sending side: one publish to a durable mailbox, confirmed by the broker. */
export async function publishDurable(
  nc: NatsConnection,
  asks: Asks,
  connected: boolean,
  target: string,
  subject: string,
  messageName: string,
  data: Uint8Array,
  id: string,
  timeout: number,
  codec: WireCodec,
): Promise<DurableReceipt> {
  if (nc.isClosed()) throw new ConnectionClosedError("send", "local");
  if (!connected) throw new ConnectionLostError(target, messageName, false);
  const limit = nc.info?.max_payload;
  if (limit !== undefined && data.length + HEADER_ROOM > limit) {
    throw new FrameTooLargeError(data.length, limit - HEADER_ROOM);
  }
  const h = new MsgHdrsImpl();
  h.set(MESSAGE_HEADER, messageName);
  h.set(MSG_ID_HEADER, id);
  if (codec !== "json") h.set(CODEC_HEADER, codec);
  let reply: Msg;
  try {
    // The node's inbox, as an ask: the client's own request costs a
    // subscription entry and two error objects (with stacks) per message.
    reply = await asks.request(target, subject, messageName, data, h, timeout);
  } catch (error) {
    // Timed out, connection lost or closed while waiting: it may have been stored.
    const cause = nc.isClosed() && !(error instanceof ConnectionClosedError)
      ? new ConnectionClosedError("receive", "local", { cause: error })
      : error;
    throw new PublishOutcomeUnknownError(target, messageName, id, {
      cause: cause instanceof Error ? cause : undefined,
    });
  }
  if (reply.headers?.code === 503 && reply.data.length === 0) {
    // Definite: no stream takes the subject, nothing was stored.
    throw new NoRespondersError(target, subject);
  }
  let ack: { stream?: unknown; seq?: unknown; duplicate?: unknown; error?: unknown };
  try {
    ack = decodeValue(reply.data) as typeof ack;
  } catch (error) {
    throw new ProtocolError(`The broker's answer to a durable publish is not JSON`, {
      cause: error,
    });
  }
  if (ack?.error !== undefined) {
    const description = (ack.error as { description?: unknown })?.description;
    throw new ProtocolError(
      `The broker refused durable message "${messageName}" to "${target}" (id ${id}): ${
        typeof description === "string" ? description : JSON.stringify(ack.error)
      }`,
    );
  }
  if (typeof ack?.stream !== "string" || typeof ack.seq !== "number") {
    throw new ProtocolError(`The broker's answer to a durable publish has no stream and seq`);
  }
  return { id, stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate === true };
}
