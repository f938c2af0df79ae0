/**
 * OpenTelemetry for an actor system, through `npm:@opentelemetry/api` and
 * Deno's built-in exporter (`OTEL_DENO=true` and the standard `OTEL_*`
 * variables): spans around asks, tells and handlers, carried across every
 * transport in the message envelope, and the system's metrics. The system
 * loads this module only when telemetry is on; the core knows it only
 * through the hooks of `actors/core/hooks.ts`.
 *
 * @module
 */

import {
  context,
  type Counter,
  type Histogram,
  metrics,
  type ObservableResult,
  SpanKind,
  trace,
  type Tracer,
} from "./_otel_api.ts";
import type { ActorExit, DeadLetter } from "../core/actor_ref.ts";
import type { LifecycleEvent } from "../core/events.ts";
import type { AskHook, CellHooks } from "../core/hooks.ts";
import type { BootMessage } from "../core/protocol.ts";
import type { TransportStats } from "../../transports/transport.ts";
import { ATTRIBUTES, SCOPE } from "./attributes.ts";
import { formatTraceparent } from "./_trace_context.ts";
import { recordError } from "./_errors.ts";

export { ATTRIBUTES } from "./attributes.ts";

/** The module a traced actor's host loads for the hooks around its handlers. */
export const SERVE_HOOKS_MODULE: string = new URL("./serve_hooks.ts", import.meta.url).href;

/** What the metrics read of a running actor (an `ActorCell`). */
export interface WatchedCell {
  readonly id: string;
  /** Messages sent to it and not yet handled. */
  readonly inflight: number;
  /** Messages waiting in the sender for room in its mailbox. */
  readonly waiting: number;
  /** Messages it has handled (credited back). */
  readonly handled: number;
  /** Resolves when it ends. */
  readonly exited: Promise<ActorExit>;
  /** Its transport's name. */
  readonly transportName: string;
  /** The counters of the parent's end of its transport, once it is connected. */
  transportStats(): TransportStats | undefined;
}

/** What the metrics read of a semaphore. */
export interface WatchedSemaphore {
  readonly permits: number;
  readonly available: number;
  readonly waiting: number;
}

/** What the metrics read of a pool. */
export interface WatchedPool {
  readonly id: string;
  stats(): { inflight: number; queued: number; size: number };
}

/** What the metrics read of a system beyond its actors. */
export interface TelemetrySources {
  /** The system's semaphores, by name. */
  semaphores(): ReadonlyMap<string, WatchedSemaphore>;
}

/** What a cell gets when tracing is on: its hooks and what its boot message carries. */
export interface TracedCell {
  hooks: CellHooks;
  boot: NonNullable<BootMessage["telemetry"]>;
}

/** The instruments, made once per process: every system reports through them. */
interface Instruments {
  tracer: Tracer;
  askDuration: Histogram;
  crashes: Counter;
  restarts: Counter;
  deadLetters: Counter;
}

let instruments: Instruments | undefined;
/** Every running system with telemetry on, for the observable instruments' callbacks. */
const systems = new Set<SystemTelemetry>();
/**
 * Messages handled by ended incarnations, by actor id, of every system: a
 * counter keeps its total after the actor (or its system) is gone.
 */
const retired = new Map<string, number>();
/** The transport counters of ended incarnations, by actor id and transport. */
const retiredTransport = new Map<string, TransportTotals>();

/** An actor's transport counters, summed over its incarnations. */
interface TransportTotals {
  id: string;
  transport: string;
  stats: TransportStats;
}

function addTransport(
  into: Map<string, TransportTotals>,
  id: string,
  transport: string,
  stats: TransportStats | undefined,
): void {
  if (!stats) return;
  const key = `${id}\u0000${transport}`;
  const totals = into.get(key);
  if (!totals) {
    into.set(key, { id, transport, stats: { ...stats } });
    return;
  }
  for (const field of Object.keys(stats) as (keyof TransportStats)[]) {
    totals.stats[field] += stats[field];
  }
}

/** Every actor's transport counters now: the ended incarnations' and the running ones'. */
function transportTotals(): Iterable<TransportTotals> {
  const totals = new Map<string, TransportTotals>();
  for (const [key, t] of retiredTransport) totals.set(key, { ...t, stats: { ...t.stats } });
  for (const system of systems) {
    for (const cell of system.cells) {
      addTransport(totals, cell.id, cell.transportName, cell.transportStats());
    }
  }
  return totals.values();
}

/**
 * Observable counters over the parent's end of every actor's transport: each
 * callback reads the transports' own counters (no cost on the send path).
 */
function observeTransports(meter: ReturnType<typeof metrics.getMeter>): void {
  const counter = (
    name: string,
    description: string,
    unit: string,
    sent: keyof TransportStats,
    received: keyof TransportStats,
  ) =>
    meter.createObservableCounter(name, { description, unit }).addCallback((result) => {
      for (const { id, transport, stats } of transportTotals()) {
        const where = { [ATTRIBUTES.actorId]: id, [ATTRIBUTES.transport]: transport };
        result.observe(stats[sent], { ...where, [ATTRIBUTES.direction]: "sent" });
        result.observe(stats[received], { ...where, [ATTRIBUTES.direction]: "received" });
      }
    });
  counter(
    "troupe.transport.messages",
    "Messages through the parent's end of the actor's transport, by direction",
    "{message}",
    "messagesSent",
    "messagesReceived",
  );
  counter(
    "troupe.transport.batches",
    "Batches (one postMessage, write or notify each) through the parent's end, by direction",
    "{batch}",
    "batchesSent",
    "batchesReceived",
  );
  counter(
    "troupe.transport.bytes",
    "Encoded bytes through the parent's end, by direction (0 on transports that do not encode)",
    "By",
    "bytesSent",
    "bytesReceived",
  );
}

function theInstruments(): Instruments {
  if (instruments) return instruments;
  const meter = metrics.getMeter(SCOPE);
  const made: Instruments = {
    tracer: trace.getTracer(SCOPE),
    askDuration: meter.createHistogram("troupe.ask.duration", {
      description: "Time from an ask to its answer, on the caller's side",
      unit: "s",
    }),
    crashes: meter.createCounter("troupe.actor.crashes", {
      description: "Actors that ended abnormally, by reason",
    }),
    restarts: meter.createCounter("troupe.actor.restarts", {
      description: "Restarts by supervisors, by the reason of the crash before",
    }),
    deadLetters: meter.createCounter("troupe.dead_letters", {
      description: "Messages that could not be delivered, by reason",
    }),
  };
  const handled = meter.createObservableCounter("troupe.messages.handled", {
    description: "Messages the actor has handled (every incarnation of an id)",
  });
  handled.addCallback((result) => {
    const totals = new Map(retired);
    for (const system of systems) {
      for (const cell of system.cells) {
        totals.set(cell.id, (totals.get(cell.id) ?? 0) + cell.handled);
      }
    }
    for (const [id, n] of totals) result.observe(n, { [ATTRIBUTES.actorId]: id });
  });
  const depth = meter.createObservableGauge("troupe.mailbox.depth", {
    description: "Messages sent to the actor and not yet handled",
  });
  depth.addCallback((result) => observeCells(result, (cell) => cell.inflight));
  const waiting = meter.createObservableGauge("troupe.mailbox.waiting", {
    description: "Messages held in the sender until the actor's mailbox has room",
  });
  waiting.addCallback((result) => observeCells(result, (cell) => cell.waiting));
  const available = meter.createObservableGauge("troupe.semaphore.available", {
    description: "Permits of a system semaphore free now",
  });
  available.addCallback((result) => observeSemaphores(result, (s) => s.available));
  const permits = meter.createObservableGauge("troupe.semaphore.permits", {
    description: "Permits of a system semaphore in all",
  });
  permits.addCallback((result) => observeSemaphores(result, (s) => s.permits));
  const waiters = meter.createObservableGauge("troupe.semaphore.waiters", {
    description: "Acquirers waiting for a permit of a system semaphore (in the parent)",
  });
  waiters.addCallback((result) => observeSemaphores(result, (s) => s.waiting));
  const pools = meter.createObservableGauge("troupe.pool.inflight", {
    description: "Tasks submitted to a pool and not yet settled",
  });
  pools.addCallback((result) => observePools(result, (stats) => stats.inflight));
  const queued = meter.createObservableGauge("troupe.pool.queued", {
    description: "Tasks waiting in a pool for a worker with room (part of troupe.pool.inflight)",
  });
  queued.addCallback((result) => observePools(result, (stats) => stats.queued));
  observeTransports(meter);
  instruments = made;
  return made;
}

function observePools(
  result: ObservableResult,
  read: (stats: ReturnType<WatchedPool["stats"]>) => number,
): void {
  for (const system of systems) {
    for (const pool of system.pools) {
      result.observe(read(pool.stats()), { [ATTRIBUTES.pool]: pool.id });
    }
  }
}

function observeCells(result: ObservableResult, read: (cell: WatchedCell) => number): void {
  for (const system of systems) {
    for (const cell of system.cells) result.observe(read(cell), { [ATTRIBUTES.actorId]: cell.id });
  }
}

function observeSemaphores(
  result: ObservableResult,
  read: (semaphore: WatchedSemaphore) => number,
): void {
  for (const system of systems) {
    for (const [name, semaphore] of system.sources.semaphores()) {
      result.observe(read(semaphore), { [ATTRIBUTES.semaphore]: name });
    }
  }
}

/** A dead letter's reason without the part that names one message's error. */
function reasonClass(reason: string): string {
  const match = /^(handler threw|cannot send)/.exec(reason);
  return match ? match[1]! : reason;
}

/**
 * One system's telemetry: the hooks of its cells (spans around asks and
 * tells, ask latency), and what it reports of its actors (lifecycle events,
 * dead letters, mailboxes, semaphores).
 */
export class SystemTelemetry {
  /** The running actors. */
  readonly cells: Set<WatchedCell> = new Set();
  /** The system's pools. */
  readonly pools: Set<WatchedPool> = new Set();
  readonly sources: TelemetrySources;
  #instruments: Instruments;
  /** Starts of each actor id so far. */
  #incarnations = new Map<string, number>();
  /** The reason of each actor's last crash, for the restart that follows. */
  #lastCrash = new Map<string, string>();

  /** Which tells get spans (`TelemetryOptions.tells`). */
  #tells: "in-trace" | "all";

  /**
   * @param sources What the metrics read of the system beyond its actors.
   * @param settings The system's `telemetry` settings.
   */
  constructor(sources: TelemetrySources, settings: { tells?: "in-trace" | "all" } = {}) {
    this.sources = sources;
    this.#tells = settings.tells ?? "in-trace";
    this.#instruments = theInstruments();
    systems.add(this);
  }

  /**
   * The hooks and boot telemetry of an actor about to start.
   *
   * @param id The actor's id.
   * @param host Where it runs.
   * @param transport Its transport's name.
   * @returns Its hooks, and what its boot message carries.
   */
  cell(id: string, host: string, transport: string): TracedCell {
    const incarnation = (this.#incarnations.get(id) ?? 0) + 1;
    this.#incarnations.set(id, incarnation);
    const attributes = {
      [ATTRIBUTES.actorId]: id,
      [ATTRIBUTES.host]: host,
      [ATTRIBUTES.transport]: transport,
      [ATTRIBUTES.incarnation]: incarnation,
    };
    const { tracer, askDuration } = this.#instruments;
    const everyTell = this.#tells === "all";
    const hooks: CellHooks = {
      ask(name: string): AskHook {
        const span = tracer.startSpan(`ask ${name}`, {
          kind: SpanKind.CLIENT,
          attributes: { ...attributes, [ATTRIBUTES.messageName]: name },
        }, context.active());
        const started = performance.now();
        return {
          traceparent: formatTraceparent(span.spanContext()),
          end(error?: unknown): void {
            askDuration.record((performance.now() - started) / 1000, {
              [ATTRIBUTES.actorId]: id,
              [ATTRIBUTES.messageName]: name,
              [ATTRIBUTES.outcome]: error === undefined ? "ok" : "error",
            });
            if (error !== undefined) recordError(span, error);
            span.end();
          },
        };
      },
      tell(name: string): string | undefined {
        // By default only a tell sent inside a trace is traced: a span on each side
        // of every tell costs most of a tell's time (see the README's "Telemetry").
        const active = context.active();
        if (!everyTell && trace.getSpan(active)?.isRecording() !== true) return undefined;
        const span = tracer.startSpan(`tell ${name}`, {
          kind: SpanKind.PRODUCER,
          attributes: { ...attributes, [ATTRIBUTES.messageName]: name },
        }, active);
        const traceparent = formatTraceparent(span.spanContext());
        span.end();
        return traceparent;
      },
    };
    return { hooks, boot: { module: SERVE_HOOKS_MODULE, attributes } };
  }

  /** Reports a running actor's mailbox and handled count until it ends. */
  watch(cell: WatchedCell): void {
    this.cells.add(cell);
    void cell.exited.then((exit) => {
      this.cells.delete(cell);
      retired.set(cell.id, (retired.get(cell.id) ?? 0) + exit.handled);
      addTransport(retiredTransport, cell.id, cell.transportName, cell.transportStats());
    });
  }

  /** Reports a pool's tasks in flight until the system shuts down. */
  pool(pool: WatchedPool): void {
    this.pools.add(pool);
  }

  /** The system has shut down: it reports no more (its actors' handled totals stay). */
  close(): void {
    systems.delete(this);
  }

  /** Counts a lifecycle event: crashes and restarts. */
  event(event: LifecycleEvent): void {
    if (event.type === "crashed") {
      this.#lastCrash.set(event.id, event.reason);
      this.#instruments.crashes.add(1, {
        [ATTRIBUTES.actorId]: event.id,
        [ATTRIBUTES.reason]: event.reason,
      });
    } else if (event.type === "restarted") {
      this.#instruments.restarts.add(1, {
        [ATTRIBUTES.actorId]: event.id,
        [ATTRIBUTES.supervisor]: event.supervisor,
        [ATTRIBUTES.reason]: this.#lastCrash.get(event.id) ?? "unknown",
      });
    }
  }

  /** Counts a dead letter. */
  deadLetter(letter: DeadLetter): void {
    this.#instruments.deadLetters.add(letter.count, {
      [ATTRIBUTES.actorId]: letter.actorId,
      [ATTRIBUTES.reason]: reasonClass(letter.reason),
    });
  }
}
