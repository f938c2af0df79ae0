/**
 * `ActorSystem`: spawns actors into Deno Workers or `deno run` processes,
 * supervises them, and shuts them all down through their sentinels.
 *
 * @module
 */

import { type ActorExit, ActorRef, type ActorStats, type DeadLetter } from "../core/actor_ref.ts";
import type { AnyActorDefinition, ArgsOf } from "../core/define_actor.ts";
import { abortable, watchDeadline } from "../../internal/abort.ts";
import { EventHub, registerEvents } from "../core/event_hub.ts";
import type { Pool, PoolOptions } from "../supervision/pool.ts";
import type { WorkQueue, WorkQueueOptions } from "../sync/work_queue.ts";
import type { Semaphore } from "../sync/semaphore.ts";
import type { LifecycleEvent } from "../core/events.ts";
import { ActorExtras } from "./_actor_extras.ts";
import type { SpawnOptions } from "../hosts/spawn_options.ts";
import {
  type SupervisionNode,
  Supervisor,
  type SupervisorRuntime,
  type SupervisorSpec,
} from "../supervision/supervisor.ts";
import type { ShutdownOptions, ShutdownResult, SignalShutdownOptions } from "./shutdown_options.ts";
import type { SystemOptions, SystemStats } from "./system_options.ts";
import { CallServer } from "./_calls.ts";
import { ActorCells } from "./_cells.ts";
import { Named } from "./_named.ts";
import { checkHeartbeat, telemetryWanted, transportsByName } from "./_start_options.ts";
import { startPool, startSupervisor, type SupervisionKit } from "./_supervise.ts";
import { Watchdog } from "./_watchdog.ts";
import { forceStop, shutDown, shutdownOnSignals, type ShutdownTargets } from "./_shutdown.ts";
import { LeakWatch } from "./_leaks.ts";
import { workerThreadsVisible } from "../hosts/worker_host.ts";
import type { SystemTelemetry } from "../telemetry/mod.ts";

export type { OverflowPolicy } from "../core/outbox.ts";
export type { SpawnOptions } from "../hosts/spawn_options.ts";
export type { ShutdownOptions, ShutdownResult, SignalShutdownOptions } from "./shutdown_options.ts";
export type { SystemOptions, SystemStats, TelemetryOptions } from "./system_options.ts";

/** What `ActorSystem.start` passes its constructor, which nothing else can. */
const STARTING: unique symbol = Symbol("ActorSystem.start");

/**
 * A group of actors with one lifetime. Start it, spawn actors into Deno
 * Workers or processes, supervise them, and shut it down (or let
 * `await using` do it).
 *
 * Guarantees:
 * - An actor module is loaded only inside its worker or process; `spawn` resolves once
 *   its `init` ran, and rejects with `SpawnError` if loading or `init` failed.
 * - `shutdown` stops every actor through its sentinel, terminates those
 *   that miss the deadline, and reports which.
 * - An uncaught error in an actor never takes the parent down: the actor
 *   ends with reason `"error"` and its pending asks reject.
 *
 * Limits: a handler cannot be pre-empted. A worker stuck in a synchronous
 * loop ignores `terminate()` and keeps its thread (its exit is marked
 * `leaked`); run untrusted or runaway code in a process actor instead.
 *
 * @example Spawn, ask, shut down
 * ```ts
 * import { ActorSystem } from "@troupe/troupe";
 * import type { counter } from "../../examples/actors/counter.ts";
 * import assert from "node:assert/strict";
 *
 * await using system = await ActorSystem.start();
 * const ref = await system.spawn<typeof counter>(
 *   new URL("../../examples/actors/counter.ts", import.meta.url),
 *   { args: { start: 2 } },
 * );
 * await ref.tell("inc", 3);
 * assert.equal(await ref.ask("get"), 5);
 * const result = await system.shutdown();
 * assert.deepEqual(result.stopped, [ref.id]);
 * ```
 */
export class ActorSystem implements AsyncDisposable {
  #onDeadLetter: ((letter: DeadLetter) => void) | undefined;
  #counter = 0;
  #deadLetters = 0;
  #shutdown: Promise<ShutdownResult> | undefined;
  #events = new EventHub();
  #extras = new ActorExtras();
  #named = new Named();
  #supervisors: SupervisorRuntime[] = [];
  #watchdog: Watchdog;
  #calls: CallServer;
  #cells: ActorCells;
  #leaks: LeakWatch;
  #telemetry: SystemTelemetry | undefined;
  /** What a supervision tree needs of the system. */
  #supervision: SupervisionKit = {
    supervisors: this.#supervisors,
    closed: () => this.#shutdown !== undefined,
    spawn: (module, options, supervisor, starting) =>
      this.#cells.spawn(module, options, supervisor, starting),
    emit: (event) => this.#emit(event),
    deadLetter: (letter) => this.#deadLetter(letter),
  };
  /** What a shutdown stops and ends. */
  #ending: ShutdownTargets = {
    supervisors: this.#supervisors,
    cells: () => this.#cells.running.values(),
    close: () => {
      this.#watchdog.stop();
      this.#calls.close();
      this.#events.close();
      this.#telemetry?.close();
    },
  };

  private constructor(
    token: typeof STARTING,
    options: SystemOptions,
    telemetry: typeof import("../telemetry/mod.ts") | undefined,
  ) {
    // Plain JavaScript can reach the private constructor (`deno run` does not type-check).
    if (token !== STARTING) {
      throw new TypeError(
        "Cannot construct an ActorSystem with new: use `await ActorSystem.start(options)`",
      );
    }
    const heartbeatMs = checkHeartbeat(options.heartbeatMs);
    this.#onDeadLetter = options.onDeadLetter;
    registerEvents(this, this.#events);
    this.#telemetry = telemetry && new telemetry.SystemTelemetry(
      {
        semaphores: () => this.#named.semaphores,
      },
      typeof options.telemetry === "object" && options.telemetry !== null ? options.telemetry : {},
    );
    this.#leaks = new LeakWatch(options.exitOnLeak ?? true);
    const transports = transportsByName(options.transports);
    this.#watchdog = new Watchdog(heartbeatMs, () => this.#cells.running.values());
    this.#calls = new CallServer({
      queues: this.#named.queues,
      semaphores: this.#named.semaphores,
      ownerOf: (actorId) => this.#cells.running.get(actorId)?.owner,
      emit: (event) => this.#emit(event),
    });
    this.#cells = new ActorCells({
      transports,
      unstableWorkerOptions: options.unstableWorkerOptions,
      onLog: options.onLog,
      heartbeatMs,
      semaphores: this.#named.semaphores,
      calls: this.#calls,
      watchdog: this.#watchdog,
      closed: () => this.#shutdown !== undefined,
      nextNumber: () => ++this.#counter,
      emit: (event) => this.#emit(event),
      deadLetter: (letter) => this.#deadLetter(letter),
      leaked: (id, host, thread) =>
        this.#leaks.leaked(id, host, workerThreadsVisible() ? thread : undefined),
      telemetry: this.#telemetry,
    });
  }

  #emit(event: LifecycleEvent): void {
    this.#extras.event(event);
    this.#events.emit(event);
    this.#telemetry?.event(event);
  }

  /**
   * Starts an actor system.
   *
   * @example
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start({ heartbeatMs: 500 });
   * assert.equal(system.stats().actors, 0);
   * ```
   *
   * @param options Extra transports, a dead-letter callback, the heartbeat.
   * @returns The running system.
   */
  static async start(options: SystemOptions = {}): Promise<ActorSystem> {
    // Loaded only when on: a system without telemetry never loads the OpenTelemetry API.
    const telemetry = telemetryWanted(options.telemetry)
      ? await import("../telemetry/mod.ts")
      : undefined;
    return new ActorSystem(STARTING, options, telemetry);
  }

  /**
   * Spawns an actor from a module URL into a new Deno Worker (or, with
   * `host: "process"`, a `deno run` child). Name the
   * actor's definition type to get a typed ref:
   * `spawn<typeof counter>(url)` with `import type { counter } from "./counter.ts"`.
   *
   * @example
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import type { counter } from "../../examples/actors/counter.ts";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const ref = await system.spawn<typeof counter>(
   *   new URL("../../examples/actors/counter.ts", import.meta.url),
   *   { id: "c1", capacity: 64, overflow: "backpressure" },
   * );
   * assert.equal(ref.id, "c1");
   * ```
   *
   * @param module The actor module's URL.
   * @param options Id, args, transport, mailbox settings, timeout, signal.
   * @returns A typed ref, once the actor's `init` has run.
   * @throws {SpawnError} When the module fails to load, exports no actor, or `init` throws.
   * @throws {TypeError} When an option is invalid or the id is taken.
   */
  async spawn<D extends AnyActorDefinition>(
    module: string | URL,
    options: SpawnOptions<ArgsOf<D>> = {},
  ): Promise<ActorRef<D>> {
    const cell = await this.#cells.spawn(module, options, undefined);
    return new ActorRef<D>(cell as never);
  }

  /**
   * Starts a supervision tree: its children in order, restarted according to
   * its strategy and intensity (see {@linkcode SupervisorSpec}).
   *
   * Aborting `options.signal` while the children start stops those started
   * so far (the one starting is terminated) and rejects with the signal's
   * reason; an already-aborted signal rejects at once. Once the supervisor
   * runs, the signal no longer matters.
   *
   * @example
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import type { counter } from "../../examples/actors/counter.ts";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const url = new URL("../../examples/actors/counter.ts", import.meta.url);
   * const root = await system.supervise({
   *   id: "root",
   *   strategy: "one-for-one",
   *   maxRestarts: 3,
   *   periodMs: 5000,
   *   children: [{ id: "a", module: url }, { id: "b", module: url, restart: "transient" }],
   * });
   * assert.equal(await root.ref<typeof counter>("b").ask("get"), 0);
   * ```
   *
   * @example Abandon the start
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const url = new URL("../../examples/actors/counter.ts", import.meta.url);
   * const reason = new Error("no time left");
   * await assert.rejects(
   *   system.supervise({ id: "root", children: [{ id: "a", module: url }] }, {
   *     signal: AbortSignal.abort(reason),
   *   }),
   *   reason,
   * );
   * assert.equal(system.stats().actors, 0);
   * ```
   *
   * @param spec The tree, as data.
   * @param options A signal that abandons the start.
   * @returns The running supervisor, once every child has started.
   * @throws {TypeError} When the spec is malformed.
   * @throws {SpawnError} When a child fails to start (those started are stopped).
   */
  async supervise(
    spec: SupervisorSpec,
    options: { signal?: AbortSignal } = {},
  ): Promise<Supervisor> {
    return new Supervisor(
      await startSupervisor(this.#supervision, spec, options.signal) as never,
    );
  }

  /**
   * Starts a pool of `size` identical actors behind one typed handle (see
   * {@linkcode Pool}): work is spread to the least-loaded worker, dead
   * workers are replaced, `drain()` waits for every submitted task and
   * `close()` sends one stop sentinel per worker.
   *
   * Aborting `options.signal` while the workers start stops those started so
   * far and rejects with the signal's reason; an already-aborted signal
   * rejects at once.
   *
   * @example
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import type { counter } from "../../examples/actors/counter.ts";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const pool = await system.pool<typeof counter>(
   *   new URL("../../examples/actors/counter.ts", import.meta.url),
   *   { size: 2 },
   * );
   * for (let i = 0; i < 10; i++) await pool.tell("inc", 1);
   * await pool.drain();
   * assert.equal(pool.stats().completed, 10);
   * await pool.close();
   * ```
   *
   * @param module The worker actor module's URL.
   * @param options Size, host, transport, args, strategy, retry, mailbox settings, signal.
   * @returns The pool, once every worker has started.
   * @throws {RangeError} When the size is not a positive integer.
   * @throws {SpawnError} When a worker fails to start.
   */
  async pool<D extends AnyActorDefinition>(
    module: string | URL,
    options: PoolOptions<ArgsOf<D>> = {},
  ): Promise<Pool<D>> {
    const pool = await startPool<D>(this.#supervision, module, options, () => ++this.#counter);
    this.#telemetry?.pool(pool);
    return pool;
  }

  /**
   * Creates (or returns) the system's work queue of that name: a bounded
   * MPMC queue with `taskDone`/`join` and close-as-sentinel, which actors reach
   * with `ctx.queue(name)` (see {@linkcode WorkQueue}).
   *
   * @example
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const jobs = system.queue<number>("jobs", { capacity: 16 });
   * await jobs.put(1);
   * assert.equal(system.queue("jobs"), jobs);
   * assert.equal(await jobs.get(), 1);
   * ```
   *
   * @param name The queue's name.
   * @param options Its capacity, when it is created by this call.
   * @returns The queue.
   */
  queue<T>(name: string, options: WorkQueueOptions = {}): WorkQueue<T> {
    return this.#named.queue<T>(name, options);
  }

  /**
   * Creates (or returns) the system's counting semaphore of that name. Actors
   * reach it with `ctx.semaphore(name)`: worker actors through shared memory,
   * process actors through the system. Permits an actor still holds when it
   * ends (crash, kill or normal stop) are given back, with a
   * `permits-recovered` event. Create semaphores before spawning the actors
   * that use them, so worker actors get the shared-memory fast path.
   *
   * @example
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const db = system.semaphore("db", 2);
   * {
   *   await using permit = await db.acquire({ timeout: 1000 });
   *   assert.equal(db.available, 1);
   * }
   * assert.equal(db.available, 2);
   * ```
   *
   * @param name The semaphore's name.
   * @param permits How many holders at once, when it is created by this call.
   * @returns The parent's handle on it.
   * @throws {TypeError} When it exists with a different number of permits.
   */
  semaphore(name: string, permits: number): Semaphore {
    return this.#named.semaphore(name, permits);
  }

  /**
   * The lifecycle events from now on, as an async iterable: actors started,
   * crashed (with the cause), restarted, stopped; supervisors that gave up;
   * permits recovered. Ends when the signal aborts or the system shuts down.
   *
   * @example
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const events = system.events();
   * await system.spawn(new URL("../../examples/actors/counter.ts", import.meta.url), { id: "c" });
   * const { value } = await events.next();
   * assert.equal(value?.type, "started");
   * await events.return?.();
   * ```
   *
   * @param options A signal that ends the iteration.
   * @returns The events, in the order they happened.
   */
  events(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<LifecycleEvent> {
    return this.#events.subscribe(options.signal);
  }

  /**
   * Resolves when the actor behind `ref` ends for good (for a supervised
   * actor: when its supervisor no longer restarts it), with how it ended.
   *
   * @example
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const ref = await system.spawn(new URL("../../examples/actors/counter.ts", import.meta.url));
   * const watched = system.watch(ref);
   * await ref.stop();
   * assert.equal((await watched).reason, "normal");
   * ```
   *
   * @param ref The actor to watch.
   * @param options A signal that stops watching (the promise rejects with its reason).
   * @returns How the actor ended.
   */
  watch(
    ref: ActorRef<AnyActorDefinition>,
    options: { signal?: AbortSignal } = {},
  ): Promise<ActorExit> {
    return abortable(ref.exited, options.signal);
  }

  #deadLetter(letter: DeadLetter): void {
    this.#deadLetters += letter.count;
    this.#telemetry?.deadLetter(letter);
    this.#onDeadLetter?.(letter);
  }

  /**
   * Counters of the whole system.
   *
   * @example
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * assert.equal(system.stats().deadLetters, 0);
   * ```
   *
   * @returns The counters now.
   */
  stats(): SystemStats {
    return {
      actors: this.#cells.running.size,
      spawned: this.#cells.spawned,
      exits: { ...this.#cells.exits },
      deadLetters: this.#deadLetters,
      events: { ...this.#events.counts },
      eventsDropped: this.#events.dropped,
      supervisors: this.#supervisors.length,
      leaked: this.#cells.leaked,
    };
  }

  /**
   * A snapshot of every running actor's counters (supervised ones included),
   * in spawn order: what `troupe status` shows.
   *
   * @example
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * await system.spawn(new URL("../../examples/actors/counter.ts", import.meta.url), { id: "c" });
   * assert.deepEqual(system.actors().map((a) => a.id), ["c"]);
   * ```
   *
   * @returns One stats record per running actor.
   */
  actors(): ActorStats[] {
    return this.#extras.snapshot(this.#cells.running, this.#supervisors);
  }

  /**
   * The supervision trees of the system, one per top-level supervisor (a
   * pool is one too): what `troupe status --tree` prints.
   *
   * @example
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const module = new URL("../../examples/actors/counter.ts", import.meta.url);
   * await system.supervise({
   *   id: "root",
   *   children: [{ id: "a", module }, { id: "inner", children: [{ id: "b", module }] }],
   * });
   * assert.deepEqual(system.tree(), [{
   *   id: "root",
   *   kind: "supervisor",
   *   state: "running",
   *   children: [
   *     { id: "a", kind: "actor", state: "running" },
   *     {
   *       id: "inner",
   *       kind: "supervisor",
   *       state: "running",
   *       children: [{ id: "b", kind: "actor", state: "running" }],
   *     },
   *   ],
   * }]);
   * ```
   *
   * @returns One tree per top-level supervisor, in the order they started.
   */
  tree(): SupervisionNode[] {
    return this.#supervisors.map((runtime) => runtime.tree());
  }

  /**
   * Restarts a supervised actor, or a nested supervisor's subtree, through
   * its supervisor (see `Supervisor.restart`): what `troupe restart` does.
   *
   * @example
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * const url = new URL("../../examples/actors/counter.ts", import.meta.url);
   * await system.supervise({ id: "root", children: [{ id: "c", module: url }] });
   * await system.restart("c");
   * assert.equal(system.actors()[0]!.restarts, 1);
   * ```
   *
   * @param id The actor's or nested supervisor's id.
   * @returns Once it runs again.
   * @throws {TypeError} When no supervisor has a child of that id.
   */
  async restart(id: string): Promise<void> {
    for (const runtime of this.#supervisors) {
      if (await runtime.restart(id)) return;
    }
    throw new TypeError(`No supervisor has a child "${id}"`);
  }

  /**
   * Stops every actor through its sentinel, in parallel; actors that miss
   * the deadline are terminated and named in the result. Calling it again
   * returns the same result.
   *
   * @example
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * const system = await ActorSystem.start();
   * const result = await system.shutdown({ timeout: 1000 });
   * assert.equal(result.clean, true);
   * ```
   *
   * @param options The per-actor deadline.
   * @returns What happened to each actor.
   */
  shutdown(options: ShutdownOptions = {}): Promise<ShutdownResult> {
    // A thread that leaked and still runs then ends the process (exitOnLeak).
    this.#shutdown ??= shutDown(this.#ending, options.timeout ?? 5000).then(async (result) => {
      await this.#leaks.down();
      return result;
    });
    if (options.signal !== undefined) {
      const cancel = watchDeadline(options.signal, undefined, () => forceStop(this.#ending));
      void this.#shutdown.then(cancel);
    }
    return this.#shutdown;
  }

  /**
   * Turns SIGINT and SIGTERM into a graceful shutdown: the first signal stops
   * every actor through its sentinel within `timeout`; a second signal forces
   * it (every actor is terminated at once). A signal within 500 ms of the
   * first is its echo (one Ctrl-C under `deno task` arrives twice) and is
   * ignored. Then the process exits: 0 when
   * the shutdown was clean, 1 when an actor had to be terminated or had
   * crashed, 128 + the signal's number (130 for SIGINT, 143 for SIGTERM) when
   * forced. Dispose the result to remove the signal handlers.
   *
   * @example
   * ```ts
   * import { ActorSystem } from "@troupe/troupe";
   * import assert from "node:assert/strict";
   *
   * await using system = await ActorSystem.start();
   * using handlers = system.shutdownOnSignals({ timeout: 2000 });
   * assert.equal(typeof handlers[Symbol.dispose], "function");
   * ```
   *
   * @param options The per-actor deadline, the signals, whether to exit, and a callback.
   * @returns A handle whose disposal removes the signal handlers.
   */
  shutdownOnSignals(options: SignalShutdownOptions = {}): Disposable {
    return shutdownOnSignals(
      options,
      (timeout) => this.shutdown({ timeout }),
      () => forceStop(this.#ending),
    );
  }

  /** Shuts the system down (see {@linkcode ActorSystem.shutdown}). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}
