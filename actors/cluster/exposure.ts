/**
 * `Exposure`: one name a node serves on NATS, and what it has handled.
 *
 * @module
 */

import type { Msg, MsgHdrs, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { AskOptions } from "../core/actor_ref.ts";
import { ActorStoppedError, MailboxFullError } from "../../internal/errors.ts";
import { PayloadInspector } from "../../internal/payload.ts";
import { noop, settleWithin } from "../../internal/abort.ts";
import type { ClusterEventReport } from "../core/cluster_events.ts";
import type { ExposeSettings } from "./_options.ts";
import { DurableMailbox, type DurableStats } from "./_durable.ts";
import { SENT } from "../core/outbox.ts";
import {
  type ActorConnectionStats,
  type AskInHand,
  type AskJournal,
  COUNTERS,
  type InActorEnd,
  type InActorKit,
  PENDING_SLOT,
} from "./_in_actor_shared.ts";
import {
  BadRequest,
  BATCH_KIND,
  CODEC_HEADER,
  decodeBody,
  decodeTellBatch,
  encodeBody,
  encodeV8,
  encodeValue,
  errorToWire,
  HeaderCache,
  headerOf,
  ID_HEADER,
  KIND_HEADER,
  MESSAGE_HEADER,
  requestCodec,
  STATUS_HEADER,
  TIMEOUT_HEADER,
  type WireCodec,
} from "./_wire.ts";

/**
 * What can be exposed: anything with an actor's `tell` and `ask`, such as an
 * `ActorRef` (a supervised child's ref stays valid across its restarts) or a
 * `Pool`.
 */
export interface Exposable {
  /** The actor's or pool's id. */
  readonly id: string;
  /** Sends a message (`ActorRef.tell`, `Pool.tell`). */
  tell(name: never, ...payload: never[]): Promise<void>;
  /** Sends a message and waits for the reply (`ActorRef.ask`, `Pool.ask`). */
  ask(name: never, ...args: never[]): Promise<unknown>;
}

const EMPTY = new Uint8Array(0);

// The slots of an exposure's counters (`Exposure.#n`). A name served in the
// actor's thread keeps them in memory it shares with the node's exposure,
// which adds them to its own: each slot has one writer, and a 64-bit float
// is read whole.
const RECEIVED = 0;
const REPLIED = 1;
const FAILED = 2;
const TOLD = 3;
const DEAD = 4;
const BAD = 5;
const PENDING = PENDING_SLOT;
const MS = 7;
const DROPPED = 8;
/** The shortest time between two `nats-slow-consumer` events of one name, in ms. */
const SLOW_EVENT_MS = 1000;
/** What a reply goes to: a request's reply subject. */
type Replyable = { readonly reply?: string };

interface Untyped {
  tell(name: string, payload: unknown): Promise<void>;
  ask(name: string, payload: unknown, options?: AskOptions): Promise<unknown>;
}

/** Counters of one exposed name, in this process. */
export interface ExposureStats {
  /** The exposed name. */
  name: string;
  /** The subject it is served on. */
  subject: string;
  /** The queue group it joined. */
  queue: string;
  /** The id of the actor or pool behind it. */
  target: string;
  /** Requests that arrived. */
  received: number;
  /** Asks answered with the handler's value. */
  replied: number;
  /** Asks answered with an error (the handler threw, unknown name, full mailbox...). */
  failed: number;
  /** Tells delivered into the mailbox. */
  told: number;
  /** Tells that could not be delivered. */
  deadLetters: number;
  /** Requests refused for breaking the wire format. */
  badRequests: number;
  /** Requests being handled now. */
  pending: number;
  /**
   * Requests refused because `maxPending` were in hand already: the actor is
   * slower than its callers (each is counted in `failed` or `deadLetters`
   * too, and reported in `nats-slow-consumer` events).
   */
  dropped: number;
  /** Milliseconds spent handling requests, summed (from arrival to reply). */
  processingMs: number;
  /** The last error answered or dead-lettered, as `Name: message`. */
  lastError: string | undefined;
  /** The durable mailbox's counters, when the name is exposed durably. */
  durable?: DurableStats;
  /**
   * Which thread serves the name's subscription now: `"node"` (the node's,
   * handing each request to the actor) or `"actor"` (the actor's own, with
   * `ExposeOptions.inActor`). The counters add up both.
   */
  servedIn: "node" | "actor";
  /**
   * With `ExposeOptions.inActor`: the actor's own NATS connection, whether it
   * is up and serving now, and how often it dropped and came back.
   */
  actorConnection?: ActorConnectionStats;
}

/** What an exposure needs from its node (internal). */
export interface ExposureKit {
  nc: NatsConnection;
  namespace: string;
  /** Receives the durable mailbox's opening, which `expose` awaits. */
  opening?(opened: Promise<void>): void;
  connected(): boolean;
  emit(event: ClusterEventReport): void;
  forget(exposure: Exposure): void;
  /** Memory of `COUNTERS` float64 slots to count in (the actor's end of a name served there). */
  counters?: SharedArrayBuffer;
  /** Told each error answered or dead-lettered, as `Name: message`. */
  lastError?(text: string): void;
  /**
   * Keep where each ask in hand is answered: the exposure hands this a
   * function that stops all answering from here and returns them (the
   * actor's thread is ending, and its node answers them instead), and one
   * that then unsubscribes and passes every request the server still sends
   * here back to the subject (for the node's thread, which serves it again).
   */
  abandoning?(abandon: () => AskInHand[], relay: () => Promise<void>): void;
  /** Where the asks in hand are kept for the node, should this thread end without a word. */
  journal?: AskJournal;
  /** How the actor's thread may serve the name itself (`ExposeOptions.inActor`). */
  inActor?: InActorKit;
}

/**
 * One name a node serves: requests on its subject go to the actor or pool
 * behind it. Made by `NatsNode.expose`.
 *
 * Guarantees:
 * - A request that breaks the wire format (no message name, a body that is
 *   not JSON, or not V8's format under `Troupe-Codec: v8`, one over
 *   `maxPayload`, a codec the name does not take) is answered with an error
 *   and never reaches the actor.
 * - Each request is answered in the codec it came in (`Troupe-Codec`), a
 *   refused one too; one whose codec the name does not take (unknown, or
 *   `v8` to a JSON-only name) is answered in JSON.
 * - The actor's own mailbox rules hold: a full mailbox under `"fail"`
 *   answers `MailboxFullError`; under `"backpressure"` a request waits for
 *   room, at most `maxPending` of them at once.
 * - `close()` stops taking requests, lets those being handled finish (within
 *   its timeout), answers the asks left `ActorStoppedError` and leaves the
 *   actor running.
 *
 * @example Expose a counter and see it counted
 * ```ts
 * import { ActorSystem } from "@troupe/troupe";
 * import { NatsNode } from "@troupe/troupe/nats";
 * import type { counter } from "../../examples/actors/counter.ts";
 * import assert from "node:assert/strict";
 *
 * const url = Deno.env.get("TROUPE_NATS_URL");
 * if (url) {
 *   await using system = await ActorSystem.start();
 *   await using node = await NatsNode.connect({ servers: url, namespace: "docs" });
 *   const ref = await system.spawn(new URL("../../examples/actors/counter.ts", import.meta.url));
 *   await using exposure = await node.expose("counter", ref);
 *   await node.lookup<typeof counter>("counter").ask("get", undefined, { timeout: 2000 });
 *   assert.equal(exposure.stats().replied, 1);
 * }
 * ```
 */
export class Exposure implements AsyncDisposable {
  /** The exposed name. */
  readonly name: string;
  /** The subject it is served on. */
  readonly subject: string;
  /** The queue group it joined. */
  readonly queue: string;
  #target: Exposable;
  #settings: ExposeSettings;
  #kit: ExposureKit;
  #sub: Subscription;
  #closing: Promise<void> | undefined;
  #abort = new AbortController();
  #inspector = new PayloadInspector();
  #headers = new HeaderCache();
  #inflight = new Set<Promise<unknown>>();
  /** Requests being handled now: one per ask or tell, each tell of a batch counted. */
  /** The counters (see `RECEIVED`...): this thread's, or memory the node shares with an actor. */
  #n: Float64Array;
  /**
   * Asks in hand, by their settling, with where each is answered
   * (`kit.abandoning`) and its slot in `kit.journal` (-1: none).
   */
  #asks: Map<Promise<unknown>, AskInHand & { slot: number }> | undefined;
  /** `#abandon()` was called: nothing more is answered from here. */
  #abandoned = false;
  /**
   * Requests that came after `#abandon()`, kept until `#relay()` begins
   * (then they are passed on as they come).
   */
  #late: Msg[] | undefined;
  /** The node's subscription is on (off while the actor's thread serves the name). */
  #subscribed = true;
  #inActor: InActorEnd | undefined;
  #lastError: string | undefined;
  /** When `#lastError` was set (epoch ms). */
  #lastErrorAt = 0;
  #durable: DurableMailbox | undefined;

  /**
   * Made by `NatsNode.expose`; not constructed directly.
   *
   * @param name The exposed name (internal).
   * @param subject Its subject (internal).
   * @param target What serves it (internal).
   * @param settings The checked options (internal).
   * @param kit The node's end (internal).
   */
  constructor(name: string, subject: string, target: never, settings: never, kit: never) {
    this.name = name;
    this.subject = subject;
    this.#target = target as Exposable;
    this.#settings = settings as ExposeSettings;
    this.queue = this.#settings.queue ?? subject;
    this.#kit = kit as ExposureKit;
    this.#n = this.#kit.counters
      ? new Float64Array(this.#kit.counters)
      : new Float64Array(COUNTERS);
    if (this.#kit.abandoning) {
      this.#asks = new Map();
      this.#kit.abandoning(() => this.#abandon(), () => this.#relay());
    }
    this.#sub = this.#subscribe();
    if (this.#settings.inActor && this.#kit.inActor !== undefined) {
      this.#inActor = this.#kit.inActor.start({
        name,
        subject,
        queue: this.queue,
        settings: this.#settings,
        target: this.#target,
        emit: (event) => this.#kit.emit(event),
        // The actor's thread took the subscription: the node's lets go of it.
        took: async () => {
          if (this.#closing || !this.#subscribed) return;
          this.#subscribed = false;
          // Drained, not dropped: a request the server sent here before it
          // took the unsubscribe is still handled, on the node's path.
          await this.#sub.drain().catch(noop);
        },
        // The actor's thread no longer serves it: the node's serves it again, once registered.
        gave: async () => {
          if (this.#closing || this.#subscribed) return;
          this.#subscribed = true;
          this.#sub = this.#subscribe();
          if (this.#kit.connected()) await this.#kit.nc.flush().catch(noop);
        },
        answer: (asks, error) => {
          for (const ask of asks) {
            this.#replyError(ask, ask.id, error, ask.codec);
          }
        },
      });
    }
    const durable = this.#settings.durable;
    if (durable !== undefined) {
      this.#kit.opening?.(
        DurableMailbox.open(name, this.#kit.namespace, target, durable, {
          nc: this.#kit.nc,
          emit: this.#kit.emit,
          v8: this.#settings.v8,
          badRequest: (reason) => {
            this.#n[BAD]++;
            this.#kit.emit({ type: "nats-bad-request", name, reason, time: Date.now() });
          },
          lastError: (error) => this.#noteError(error),
        }).then(async (mailbox) => {
          if (this.#closing) await mailbox.close(0);
          else this.#durable = mailbox;
        }),
      );
    }
  }

  /** Keeps `error` as the last error answered or dead-lettered, as `Name: message`. */
  #noteError(error: unknown): void {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.#lastError = text;
    this.#lastErrorAt = Date.now();
    this.#kit.lastError?.(text);
  }

  /** The later of this thread's last error and the actor's thread's (`inActor`). */
  #latestError(): string | undefined {
    const there = this.#inActor?.lastError.read();
    return there !== undefined && there.at >= this.#lastErrorAt ? there.text : this.#lastError;
  }

  /** Stops answering from here; returns where each ask in hand would have been answered. */
  #abandon(): AskInHand[] {
    this.#abandoned = true;
    this.#late = [];
    this.#reportDrops();
    return [...this.#asks?.values() ?? []].map(({ reply, id, codec }) => ({ reply, id, codec }));
  }

  /**
   * Unsubscribes, then passes each request that came after `#abandon()`, and
   * each the server sends here until it took the unsubscribe, back to the
   * subject as it came (none was handled here): the server routes them to
   * the others in the queue group. Resolves once they left.
   */
  async #relay(): Promise<void> {
    let drained: Promise<void>;
    try {
      // The UNSUB is written before the requests passed on: none comes back here.
      drained = this.#sub.drain();
    } catch (error) {
      drained = Promise.reject(error);
    }
    const late = this.#late ?? [];
    this.#late = undefined;
    for (const msg of late) this.#pass(msg);
    await drained.catch(noop);
    await this.#kit.nc.flush().catch(noop);
  }

  /** Publishes a request that came too late back to where it was sent. */
  #pass(msg: Msg): void {
    let headers: MsgHdrs | undefined;
    try {
      headers = msg.headers;
    } catch {
      // Headers that do not parse go without: the next server refuses it as malformed.
    }
    try {
      this.#kit.nc.publish(msg.subject, msg.data, { reply: msg.reply || undefined, headers });
    } catch {
      // The connection is closing or gone: the caller's ask fails on its side.
    }
  }

  #subscribe(): Subscription {
    return this.#kit.nc.subscribe(this.subject, {
      queue: this.queue,
      callback: (error, msg) => {
        if (error !== null) {
          this.#kit.emit({ type: "nats-error", message: error.message, time: Date.now() });
          return;
        }
        if (this.#abandoned) {
          if (this.#late !== undefined) this.#late.push(msg);
          else this.#pass(msg);
          return;
        }
        this.#receive(msg);
      },
    });
  }

  /** The durable mailbox's subject (`troupe-durable.<namespace>.<name>`), when exposed durably. */
  get durableSubject(): string | undefined {
    return this.#durable?.subject;
  }

  /**
   * Reads the durable mailbox's depth (messages stored, not yet acked, across
   * every serving process) from the broker; `undefined` when the name is not
   * durable or the broker did not answer.
   *
   * @example
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import { NatsNode } from "@troupe/troupe/nats";
   * import assert from "node:assert/strict";
   *
   * const url = Deno.env.get("TROUPE_NATS_URL");
   * if (url) {
   *   await using system = await ActorSystem.start();
   *   await using node = await NatsNode.connect({ servers: url, namespace: "docs" });
   *   const ref = await system.spawn(new URL("../../examples/actors/counter.ts", import.meta.url));
   *   await using exposure = await node.expose("tally", ref, { durable: true });
   *   assert.equal(await exposure.depth(), 0);
   * }
   * ```
   *
   * @returns The depth, as the broker reports it now.
   */
  async depth(): Promise<number | undefined> {
    return await this.#durable?.refreshDepth();
  }

  #reply(
    msg: Replyable,
    id: string | undefined,
    ok: boolean,
    body: Uint8Array,
    codec: WireCodec = "json",
  ): void {
    if (!msg.reply || this.#abandoned) return;
    const pairs: [string, string][] = [[STATUS_HEADER, ok ? "ok" : "error"]];
    if (id !== undefined) pairs.push([ID_HEADER, id]);
    if (codec !== "json") pairs.push([CODEC_HEADER, codec]);
    const h = this.#headers.get(pairs);
    try {
      this.#kit.nc.publish(msg.reply, body, { headers: h });
    } catch {
      // The connection is closing or gone: the caller's ask fails on its side.
    }
  }

  #replyError(
    msg: Replyable,
    id: string | undefined,
    error: unknown,
    codec: WireCodec = "json",
  ): void {
    this.#noteError(error);
    let body: Uint8Array;
    try {
      const wire = { error: errorToWire(error) };
      body = codec === "v8" ? encodeV8(wire) : encodeValue(wire);
    } catch {
      codec = "json";
      body = encodeValue({ error: { type: "Error", message: "the error could not be encoded" } });
    }
    this.#reply(msg, id, false, body, codec);
  }

  /**
   * Answers a request that broke the wire format; it never reaches the
   * actor. In the request's codec when it is one this name takes, else JSON.
   */
  #bad(msg: Replyable, id: string | undefined, error: Error, codec: WireCodec = "json"): void {
    this.#n[BAD]++;
    this.#kit.emit({
      type: "nats-bad-request",
      name: this.name,
      reason: error.message,
      time: Date.now(),
    });
    this.#replyError(msg, id, error, codec);
  }

  /** `#bad` with a `BadRequest` saying `reason`, in the request's codec. */
  #refuse(msg: Replyable, id: string | undefined, codec: WireCodec, reason: string): void {
    this.#bad(msg, id, new BadRequest(reason), codec);
  }

  #receive(msg: Msg): void {
    let h: MsgHdrs | undefined;
    try {
      h = msg.headers;
    } catch {
      this.#n[RECEIVED]++;
      this.#bad(msg, undefined, new BadRequest("the headers do not parse"));
      return;
    }
    const id = headerOf(h, ID_HEADER) || undefined;
    // Read once: the client decodes an empty reply subject again on every read.
    const reply = msg.reply;
    // Read once too: each read of `data` makes a new view of the bytes.
    const data = msg.data;
    const givenKind = headerOf(h, KIND_HEADER);
    // A batch counts each of its tells as a request, and checks each against the limit.
    if (givenKind === BATCH_KIND) return this.#receiveBatch(msg, h, data);
    this.#n[RECEIVED]++;
    // First: every refusal after it is answered in the request's codec.
    let codec: WireCodec;
    try {
      codec = requestCodec(headerOf(h, CODEC_HEADER), this.#settings.v8);
    } catch (error) {
      this.#bad(msg, id, error as Error);
      return;
    }
    if (data.length > this.#settings.maxPayload) {
      return this.#refuse(
        msg,
        id,
        codec,
        `the body is ${data.length} bytes, the limit is ${this.#settings.maxPayload} bytes`,
      );
    }
    const messageName = headerOf(h, MESSAGE_HEADER);
    if (messageName === "") {
      return this.#refuse(msg, id, codec, `the ${MESSAGE_HEADER} header is missing`);
    }
    const kind = givenKind || (reply ? "ask" : "tell");
    if (kind !== "ask" && kind !== "tell") {
      return this.#refuse(
        msg,
        id,
        codec,
        `${KIND_HEADER} must be ask, tell or tells, received ${kind}`,
      );
    }
    if (kind === "ask" && !reply) {
      return this.#refuse(msg, id, codec, "an ask needs a reply subject");
    }
    let timeout = this.#settings.askTimeout;
    const given = headerOf(h, TIMEOUT_HEADER);
    if (given) {
      const ms = Number(given);
      if (!Number.isFinite(ms) || ms <= 0) {
        return this.#refuse(msg, id, codec, `${TIMEOUT_HEADER} must be a positive number of ms`);
      }
      timeout = Math.min(timeout, ms);
    }
    let payload: unknown;
    try {
      payload = decodeBody(codec, data);
    } catch (error) {
      const what = codec === "json" ? "JSON" : "V8-serialized data";
      const why = error instanceof Error ? error.message : error;
      return this.#refuse(msg, id, codec, `the body is not ${what}: ${why}`);
    }
    if (this.#n[PENDING] - this.#turnTells >= this.#settings.maxPending) {
      const full = new MailboxFullError(this.name, this.#settings.maxPending);
      this.#drop();
      if (kind === "ask") {
        this.#n[FAILED]++;
        this.#replyError(msg, id, full, codec);
      } else this.#deadLetter(messageName, full, msg, id, codec);
      return;
    }
    const target = this.#target as unknown as Untyped;
    const started = performance.now();
    let work: Promise<unknown>;
    try {
      work = kind === "ask"
        ? target.ask(messageName, payload, { timeout, signal: this.#abort.signal })
        : target.tell(messageName, payload);
    } catch (error) {
      work = Promise.reject(error);
    }
    // One `then` with both callbacks, each giving the slot back: a
    // `finally` would cost every request one more promise.
    const done = () => {
      this.#n[MS] += performance.now() - started;
      this.#n[PENDING]--;
      this.#inflight.delete(settled);
      if (this.#asks !== undefined) this.#letGo(settled);
    };
    const settled: Promise<void> = work.then(
      (value) => {
        done();
        if (kind === "tell") {
          this.#n[TOLD]++;
          if (reply) this.#reply(msg, id, true, EMPTY, codec);
          return;
        }
        let body: Uint8Array;
        try {
          body = encodeBody(codec, this.#inspector, value, "reply");
        } catch (error) {
          this.#n[FAILED]++;
          this.#replyError(msg, id, error, codec);
          return;
        }
        this.#n[REPLIED]++;
        this.#reply(msg, id, true, body, codec);
      },
      (error) => {
        done();
        if (kind === "ask") {
          this.#n[FAILED]++;
          this.#replyError(msg, id, error, codec);
        } else this.#deadLetter(messageName, error, msg, id, codec);
      },
    );
    this.#n[PENDING]++;
    this.#inflight.add(settled);
    if (this.#asks !== undefined && kind === "ask") {
      const held = { reply: reply!, id, codec, slot: -1 };
      held.slot = this.#kit.journal?.add(held) ?? -1;
      this.#asks.set(settled, held);
    }
  }

  /** An ask in hand was answered (the actor's thread's end of a name). */
  #letGo(settled: Promise<unknown>): void {
    const held = this.#asks!.get(settled);
    if (held === undefined) return;
    this.#asks!.delete(settled);
    this.#kit.journal?.remove(held.slot);
  }

  /**
   * A batch of tells (`Troupe-Kind: tells`): each line goes to the target in
   * order, as the tell it stands for; a line that breaks the format is a bad
   * request of its own, one past `maxPending` a dead letter. One settling
   * for the whole batch, not one per tell.
   */
  /** Batched tells taken in this turn, still pending (see #receiveBatch). */
  #turnTells = 0;
  #turnOver = (): void => {
    this.#turnTells = 0;
  };

  #receiveBatch(msg: Msg, h: MsgHdrs | undefined, data: Uint8Array): void {
    const entries = msg.reply
      ? "a batch of tells takes no reply subject"
      : decodeTellBatch(headerOf(h, CODEC_HEADER), data, this.#settings.maxPayload);
    if (typeof entries === "string") {
      this.#n[RECEIVED]++;
      this.#bad(msg, undefined, new BadRequest(entries));
      return;
    }
    this.#n[RECEIVED] += entries.length;
    const target = this.#target as unknown as Untyped;
    const started = performance.now();
    const names: string[] = [];
    const works: Promise<unknown>[] = [];
    for (const entry of entries) {
      if (!entry.ok) {
        this.#bad(msg, undefined, new BadRequest(entry.reason));
        continue;
      }
      // The tells of the batches of one socket read arrive with no turn between them for
      // a slot to be given back: the slots judged are those held since before this turn.
      if (this.#n[PENDING] - this.#turnTells >= this.#settings.maxPending) {
        const full = new MailboxFullError(this.name, this.#settings.maxPending);
        this.#drop();
        this.#deadLetter(entry.name, full, msg, undefined, "json");
        continue;
      }
      let work: Promise<unknown>;
      try {
        work = target.tell(entry.name, entry.payload);
      } catch (error) {
        work = Promise.reject(error);
      }
      // Taken into the actor's outbox at once (a ref's tell with room): done, no slot held.
      if (work === SENT) {
        this.#n[TOLD]++;
        continue;
      }
      this.#n[PENDING]++;
      if (this.#turnTells++ === 0) queueMicrotask(this.#turnOver);
      names.push(entry.name);
      works.push(work);
    }
    if (works.length === 0) return;
    // The others are waited for together.
    const settled: Promise<void> = Promise.allSettled(works).then((results) => {
      this.#n[MS] += (performance.now() - started) * results.length;
      this.#n[PENDING] -= results.length;
      this.#inflight.delete(settled);
      for (let k = 0; k < results.length; k++) {
        const result = results[k]!;
        if (result.status === "fulfilled") this.#n[TOLD]++;
        else this.#deadLetter(names[k]!, result.reason, msg, undefined, "json");
      }
    });
    this.#inflight.add(settled);
  }

  /** Drops not yet in a `nats-slow-consumer` event. */
  #unreported = 0;
  /** When the last `nats-slow-consumer` event went (`performance.now()`). */
  #reportedAt = -Infinity;
  #reportTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Counts a request refused for `maxPending`, and reports it: at once after
   * a quiet second, else with the others of that second once it is over.
   */
  #drop(): void {
    this.#n[DROPPED]++;
    this.#unreported++;
    if (this.#reportTimer !== undefined) return;
    const since = performance.now() - this.#reportedAt;
    if (since >= SLOW_EVENT_MS) return this.#reportDrops();
    const timer = setTimeout(this.#reportDrops, SLOW_EVENT_MS - since);
    // It never keeps a process alive; `close()` reports what it holds.
    Deno.unrefTimer(timer);
    this.#reportTimer = timer;
  }

  #reportDrops = (): void => {
    clearTimeout(this.#reportTimer);
    this.#reportTimer = undefined;
    if (this.#unreported === 0) return;
    this.#reportedAt = performance.now();
    this.#kit.emit({
      type: "nats-slow-consumer",
      name: this.name,
      pending: this.#n[PENDING]!,
      dropped: this.#unreported,
      time: Date.now(),
    });
    this.#unreported = 0;
  };

  #deadLetter(
    messageName: string,
    error: unknown,
    msg: Replyable,
    id: string | undefined,
    codec: WireCodec,
  ): void {
    this.#n[DEAD]++;
    this.#kit.emit({
      type: "nats-dead-letter",
      name: this.name,
      messageName,
      reason: error instanceof Error ? error.message : String(error),
      time: Date.now(),
    });
    this.#replyError(msg, id, error, codec);
  }

  /**
   * A snapshot of this exposure's counters.
   *
   * @example
   * ```ts
   * import { NatsNode } from "@troupe/troupe/nats";
   * import { ActorSystem } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const url = Deno.env.get("TROUPE_NATS_URL");
   * if (url) {
   *   await using system = await ActorSystem.start();
   *   await using node = await NatsNode.connect({ servers: url });
   *   const ref = await system.spawn(new URL("../../examples/actors/counter.ts", import.meta.url));
   *   const exposure = await node.expose("counter", ref);
   *   assert.equal(exposure.stats().received, 0);
   * }
   * ```
   *
   * @returns The counters now.
   */
  stats(): ExposureStats {
    return this.#stats();
  }

  /** Counter `slot`: this thread's, and the actor's thread's when it serves the name too. */
  #count(slot: number): number {
    return this.#n[slot]! + (this.#inActor?.counters[slot] ?? 0);
  }

  #stats(): ExposureStats {
    return {
      name: this.name,
      subject: this.subject,
      queue: this.queue,
      target: this.#target.id,
      received: this.#count(RECEIVED),
      replied: this.#count(REPLIED),
      failed: this.#count(FAILED),
      told: this.#count(TOLD),
      deadLetters: this.#count(DEAD),
      badRequests: this.#count(BAD),
      pending: this.#count(PENDING),
      dropped: this.#count(DROPPED),
      processingMs: this.#count(MS),
      lastError: this.#latestError(),
      servedIn: this.#inActor?.serving ? "actor" : "node",
      ...(this.#inActor !== undefined ? { actorConnection: { ...this.#inActor.connection } } : {}),
      ...(this.#durable !== undefined ? { durable: this.#durable.stats() } : {}),
    };
  }

  /**
   * Stops serving the name: unsubscribes (other processes in the queue group
   * take its traffic), waits up to `timeout` for requests being handled, then
   * aborts the asks left: their callers get `ActorStoppedError` (the name
   * stopped being served here; the ask may or may not have been handled),
   * whose `cause` says the exposure closed. The actor behind it keeps running.
   *
   * @example
   * ```ts
   * import { NatsNode } from "@troupe/troupe/nats";
   * import { ActorSystem } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const url = Deno.env.get("TROUPE_NATS_URL");
   * if (url) {
   *   await using system = await ActorSystem.start();
   *   await using node = await NatsNode.connect({ servers: url });
   *   const ref = await system.spawn(new URL("../../examples/actors/counter.ts", import.meta.url));
   *   const exposure = await node.expose("counter", ref);
   *   await exposure.close();
   *   assert.equal(ref.stats().state, "running");
   * }
   * ```
   *
   * @param options Milliseconds to wait for requests being handled (default 5000), and a signal
   * that ends that wait early.
   * @returns Once the name is no longer served here.
   */
  close(options: { timeout?: number; signal?: AbortSignal } = {}): Promise<void> {
    this.#closing ??= (async () => {
      this.#kit.forget(this);
      const { timeout = 5000, signal } = options;
      // The actor's thread stops serving the name, in the same time.
      const inActor = this.#inActor?.close(timeout, signal);
      // Draining needs the server; while disconnected the subscription is dropped.
      const sub = this.#sub;
      const drained = !this.#subscribed ||
        this.#kit.connected() && await settleWithin(sub.drain(), timeout, signal);
      if (!drained) {
        try {
          sub.unsubscribe();
        } catch {
          // The connection closed first: the subscription went with it.
        }
      }
      const all = Promise.all([...this.#inflight]);
      const durable = this.#durable?.close(timeout, signal);
      if (!await settleWithin(all, timeout, signal)) {
        // Not the handler's failure: the name stopped being served here.
        this.#abort.abort(
          new ActorStoppedError(this.name, {
            cause: new DOMException(
              `The exposure of "${this.name}" closed while the ask was being handled; it may or may not have been handled`,
              "AbortError",
            ),
          }),
        );
        await all.catch(noop);
      }
      await durable;
      await inActor;
      this.#reportDrops();
    })();
    return this.#closing;
  }

  /** Closes the exposure (see {@linkcode Exposure.close}). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
