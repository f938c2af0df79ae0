// The asking side: one inbox subscription per node carries every reply
// (`<inbox>.<id>`), so an ask is one publish and one map entry, with its own
// deadline, abort, and a prompt typed rejection when the connection drops.

import {
  createInbox,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from "@nats-io/transport-node";
import { watchDeadline } from "../../internal/abort.ts";
import {
  ConnectionClosedError,
  ConnectionLostError,
  FrameTooLargeError,
  NoRespondersError,
  ProtocolError,
} from "../../internal/errors.ts";
import {
  BATCH_KIND,
  CODEC_HEADER,
  decodeBody,
  errorFromWire,
  HeaderCache,
  headerOf,
  KIND_HEADER,
  MESSAGE_HEADER,
  STATUS_HEADER,
  textBytes,
  TIMEOUT_HEADER,
  type WireCodec,
} from "./_wire.ts";

/** A tell waiting to be handed to the client: its bytes, or (JSON) its payload's text. */
interface Tell {
  subject: string;
  name: string;
  /** The body as it goes alone; `undefined` for a JSON tell that may share a batch. */
  data: Uint8Array | undefined;
  text: string | undefined;
  codec: WireCodec;
}

interface PendingAsk {
  target: string;
  subject: string;
  messageName: string;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  cancel(): void;
  /** A plain request (`request`): resolved with the reply message as it came. */
  raw?: boolean;
}

/** Room left in a message for the headers, under the server's payload limit. */
const HEADER_ROOM = 512;
/** Tells (or bytes of them) past which the waiting ones are handed to the client at once. */
const MAX_TELLS = 512;
const MAX_TELL_BYTES = 256 * 1024;
/** Microtask turns a tell may wait behind more tells before it is handed over regardless. */
const MAX_TELL_STEPS = 512;

export class Asks {
  #nc: NatsConnection;
  #prefix: string;
  #sub: Subscription;
  #pending = new Map<number, PendingAsk>();
  #next = 0;
  #closed = false;
  /** Set by the node from the client's status: a publish while down would be lost. */
  connected = true;
  #idle: (() => void)[] = [];
  #headers = new HeaderCache();
  /**
   * Tells taken, handed to the client together (see #tellTick): the client
   * writes to its socket once per microtask turn in which it was given
   * something, so a loop of awaited tells was one socket write per message.
   */
  #tells: Tell[] = [];
  #tellBytes = 0;
  #tellPushes = 0;
  #tellSeen = -1;
  #tellSteps = 0;
  #tellScheduled = false;
  /** A tell's headers by message name (and codec), without building the cache's key. */
  #tellHeaders = new Map<string, MsgHdrs>();
  sent = 0;
  told = 0;

  constructor(nc: NatsConnection) {
    this.#nc = nc;
    this.#prefix = createInbox();
    this.#sub = nc.subscribe(`${this.#prefix}.*`, {
      callback: (error, msg) => {
        if (error === null) this.#reply(msg);
      },
    });
  }

  /** Asks waiting for their reply (plain requests not counted). */
  get pending(): number {
    return this.#pending.size - this.#requests;
  }

  #requests = 0;

  /**
   * A plain request on the node's inbox, for a durable publish (the reply is
   * the broker's PubAck): one publish and one map entry, as an ask, without
   * the client's per-request machinery. Resolves with the reply as it came;
   * rejects with a `TimeoutError` past `timeout`, `ConnectionLostError` when
   * the connection drops, `ConnectionClosedError` when the node closes.
   */
  request(
    target: string,
    subject: string,
    messageName: string,
    data: Uint8Array,
    headers: MsgHdrs,
    timeout: number,
  ): Promise<Msg> {
    if (this.#closed) return Promise.reject(new ConnectionClosedError("send", "local"));
    this.#requests++;
    const reply = this.#call(target, subject, messageName, data, headers, timeout, undefined, true);
    return reply as Promise<Msg>;
  }

  /**
   * Publishes `data` with a reply subject of the node's inbox and waits for
   * the reply: the pending entry, the deadline (and `signal`), and the tells
   * sent before it going first (order from one node holds). `raw` replies
   * resolve as they came (a durable publish's PubAck); others are decoded.
   */
  #call(
    target: string,
    subject: string,
    messageName: string,
    data: Uint8Array,
    headers: MsgHdrs,
    timeout: number,
    signal: AbortSignal | undefined,
    raw: boolean,
  ): Promise<unknown> {
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      const entry: PendingAsk = { target, subject, messageName, resolve, reject, cancel: () => {} };
      if (raw) entry.raw = true;
      this.#pending.set(id, entry);
      entry.cancel = watchDeadline(signal, timeout, (reason) => {
        this.#settle(id);
        reject(reason);
      });
      try {
        if (this.#tells.length > 0) this.#flushTells();
        this.#nc.publish(subject, data, { reply: `${this.#prefix}.${id}`, headers });
        if (!raw) this.sent++;
      } catch (error) {
        entry.cancel();
        this.#settle(id);
        reject(error);
      }
    });
  }

  #limit(size: number): void {
    const limit = this.#nc.info?.max_payload;
    if (limit !== undefined && size + HEADER_ROOM > limit) {
      throw new FrameTooLargeError(size, limit - HEADER_ROOM);
    }
  }

  ask(
    target: string,
    subject: string,
    messageName: string,
    data: Uint8Array,
    timeout: number,
    signal: AbortSignal | undefined,
    codec: WireCodec = "json",
  ): Promise<unknown> {
    if (this.#closed) return Promise.reject(new ConnectionClosedError("send", "local"));
    signal?.throwIfAborted();
    if (!this.connected) {
      return Promise.reject(new ConnectionLostError(target, messageName, false));
    }
    this.#limit(data.length);
    // Kind and id go without saying: a reply subject makes it an ask, and
    // the reply subject carries the id.
    const h = this.#headers.get(
      codec === "json"
        ? [[MESSAGE_HEADER, messageName], [TIMEOUT_HEADER, String(Math.ceil(timeout))]]
        : [
          [MESSAGE_HEADER, messageName],
          [TIMEOUT_HEADER, String(Math.ceil(timeout))],
          [CODEC_HEADER, codec],
        ],
    );
    return this.#call(target, subject, messageName, data, h, timeout, signal, false);
  }

  tell(
    target: string,
    subject: string,
    messageName: string,
    data: Uint8Array,
    codec: WireCodec = "json",
  ): void {
    this.#open(target, messageName);
    this.#limit(data.length);
    this.#queue({ subject, name: messageName, data, text: undefined, codec });
  }

  /**
   * A JSON tell given as its payload's text (`undefined`: none): it may
   * travel with the tells beside it as one batch (see #flushTells).
   */
  tellText(target: string, subject: string, messageName: string, text: string | undefined): void {
    this.#open(target, messageName);
    let data: Uint8Array | undefined;
    const units = text?.length ?? 0;
    const limit = this.#nc.info?.max_payload;
    // UTF-16 units times three bound the UTF-8 bytes: encode only when that bound could be over.
    if (limit !== undefined && units * 3 + HEADER_ROOM > limit) {
      data = textBytes(text!);
      this.#limit(data.length);
    }
    this.#queue({ subject, name: messageName, data, text, codec: "json" });
  }

  #open(target: string, messageName: string): void {
    if (this.#closed) throw new ConnectionClosedError("send", "local");
    if (!this.connected) throw new ConnectionLostError(target, messageName, false);
  }

  #queue(tell: Tell): void {
    this.#tells.push(tell);
    this.#tellBytes += tell.data?.length ?? tell.text?.length ?? 0;
    this.#tellPushes++;
    this.told++;
    if (this.#tells.length >= MAX_TELLS || this.#tellBytes >= MAX_TELL_BYTES) this.#flushTells();
    else if (!this.#tellScheduled) {
      this.#tellScheduled = true;
      this.#tellSeen = -1;
      this.#tellSteps = 0;
      queueMicrotask(this.#tellTick);
    }
  }

  /**
   * One microtask turn of the tells' flush: while tells keep coming (a loop
   * of `await ref.tell(...)` adds one per turn) it steps back behind them, at
   * most MAX_TELL_STEPS turns; then it hands them all to the client at once.
   */
  #tellTick = (): void => {
    if (this.#tells.length === 0) {
      this.#tellScheduled = false;
      return;
    }
    if (this.#tellPushes !== this.#tellSeen && this.#tellSteps < MAX_TELL_STEPS) {
      this.#tellSeen = this.#tellPushes;
      this.#tellSteps++;
      queueMicrotask(this.#tellTick);
      return;
    }
    this.#tellScheduled = false;
    this.#flushTells();
  };

  /**
   * Hands the waiting tells to the client, in order for each subject (the
   * order between subjects is not kept, nor promised: they are other refs).
   * The JSON tells to one subject go as one batch message (`Troupe-Kind:
   * tells`, a line per tell), split where it would not fit the server's
   * payload limit; a lone tell, a V8 one, or one too large to share goes as
   * its own message, after the batch of the tells to its subject before it.
   */
  #flushTells(): void {
    const tells = this.#tells;
    this.#tells = [];
    this.#tellBytes = 0;
    const open = new Map<string, Tell[]>();
    for (const tell of tells) {
      const run = open.get(tell.subject);
      if (tell.data === undefined) {
        if (run === undefined) open.set(tell.subject, [tell]);
        else run.push(tell);
        continue;
      }
      if (run !== undefined) {
        open.delete(tell.subject);
        this.#publishBatch(run, 0, run.length);
      }
      this.#publishOne(tell);
    }
    for (const run of open.values()) this.#publishBatch(run, 0, run.length);
  }

  #publishOne(tell: Tell): void {
    try {
      this.#nc.publish(tell.subject, tell.data ?? textBytes(tell.text ?? ""), {
        headers: this.#tellHeader(tell.name, tell.codec),
      });
    } catch {
      // The connection closed under it: at most once, the tell is lost.
    }
  }

  /** Publishes tells[from..to) as one batch, or as halves when it would pass the limit. */
  #publishBatch(tells: Tell[], from: number, to: number): void {
    if (to - from === 1) return this.#publishOne(tells[from]!);
    let body = "";
    for (let k = from; k < to; k++) {
      const tell = tells[k]!;
      const name = this.#nameText(tell.name);
      const line = tell.text === undefined ? `[${name}]` : `[${name},${tell.text}]`;
      body = k === from ? line : `${body}\n${line}`;
    }
    const data = textBytes(body);
    const limit = this.#nc.info?.max_payload;
    if (limit !== undefined && data.length + HEADER_ROOM > limit) {
      const middle = from + Math.floor((to - from) / 2);
      this.#publishBatch(tells, from, middle);
      this.#publishBatch(tells, middle, to);
      return;
    }
    try {
      this.#nc.publish(tells[from]!.subject, data, { headers: this.#batchHeader });
    } catch {
      // The connection closed under it: at most once, the tells are lost.
    }
  }

  #batchHeader = new HeaderCache().get([[KIND_HEADER, BATCH_KIND]]);
  /** Message names as JSON strings, for the lines of a batch. */
  #names = new Map<string, string>();

  #nameText(name: string): string {
    let text = this.#names.get(name);
    if (text === undefined) {
      text = JSON.stringify(name);
      if (this.#names.size >= 1024) this.#names.clear();
      this.#names.set(name, text);
    }
    return text;
  }

  #tellHeader(messageName: string, codec: WireCodec): MsgHdrs {
    const key = codec === "json" ? messageName : `${codec}\u0000${messageName}`;
    let h = this.#tellHeaders.get(key);
    if (h === undefined) {
      h = this.#headers.get(
        codec === "json"
          ? [[MESSAGE_HEADER, messageName]]
          : [[MESSAGE_HEADER, messageName], [CODEC_HEADER, codec]],
      );
      if (this.#tellHeaders.size >= 1024) this.#tellHeaders.clear();
      this.#tellHeaders.set(key, h);
    }
    return h;
  }

  #settle(id: number): PendingAsk | undefined {
    const entry = this.#pending.get(id);
    if (entry === undefined) return undefined;
    this.#pending.delete(id);
    if (entry.raw) this.#requests--;
    if (this.#pending.size === 0 && this.#idle.length > 0) {
      for (const wake of this.#idle.splice(0)) wake();
    }
    return entry;
  }

  #reply(msg: Msg): void {
    const id = Number(msg.subject.slice(this.#prefix.length + 1));
    const entry = this.#settle(id);
    if (entry === undefined) return; // Late: its ask timed out or was aborted.
    entry.cancel();
    if (entry.raw) {
      entry.resolve(msg);
      return;
    }
    const h = msg.headers;
    const data = msg.data;
    if (h !== undefined && h.code === 503 && data.length === 0) {
      entry.reject(new NoRespondersError(entry.target, entry.subject));
      return;
    }
    // A reply is in its request's codec; one without the header is JSON.
    const codec = headerOf(h, CODEC_HEADER) || "json";
    let value: unknown;
    try {
      if (codec !== "json" && codec !== "v8") {
        throw new TypeError(`${CODEC_HEADER} must be json or v8, received ${codec}`);
      }
      value = decodeBody(codec, data);
    } catch (error) {
      entry.reject(
        new ProtocolError(`Actor "${entry.target}" sent a reply that does not decode as ${codec}`, {
          cause: error,
        }),
      );
      return;
    }
    const status = headerOf(h, STATUS_HEADER);
    if (status === "ok") entry.resolve(value);
    else if (status === "error") {
      const wire = (value as { error?: unknown } | undefined)?.error;
      entry.reject(errorFromWire(wire, entry.target, entry.messageName));
    } else {
      entry.reject(
        new ProtocolError(
          `Actor "${entry.target}" sent a reply without a ${STATUS_HEADER} header of ok or error`,
        ),
      );
    }
  }

  /** Rejects every ask in flight (the connection dropped); returns how many. */
  failAll(): number {
    const entries = [...this.#pending.keys()].map((id) => this.#settle(id)!);
    for (const entry of entries) {
      entry.cancel();
      entry.reject(new ConnectionLostError(entry.target, entry.messageName, true));
    }
    return entries.filter((entry) => !entry.raw).length;
  }

  /** Resolves once no ask (nor plain request) is in flight. */
  idle(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Takes no more asks; rejects those left with `ConnectionClosedError`. */
  close(): void {
    this.#flushTells();
    this.#closed = true;
    const entries = [...this.#pending.keys()].map((id) => this.#settle(id)!);
    for (const entry of entries) {
      entry.cancel();
      entry.reject(new ConnectionClosedError("receive", "local"));
    }
    this.#sub.unsubscribe();
  }
}
