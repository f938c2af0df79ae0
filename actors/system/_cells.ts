// A system's running actors and the counts of all it ever ran: spawning one
// (its options checked, its cell built and started within its deadline, a
// `started` event) and what its end sets off (the calls it left put right,
// the watchdog stopped when none is left, a `stopped` or `crashed` event).

import { watchDeadline } from "../../internal/abort.ts";
import { SpawnError } from "../../internal/errors.ts";
import type { TransportFactory } from "../../transports/transport.ts";
import type { ActorExit, DeadLetter } from "../core/actor_ref.ts";
import { ActorCell } from "../core/cell.ts";
import type { LifecycleEvent } from "../core/events.ts";
import type { ActorHostKind } from "../core/host.ts";
import type { SpawnOptions } from "../hosts/spawn_options.ts";
import type { Semaphore } from "../sync/semaphore.ts";
import type { CallServer } from "./_calls.ts";
import { checkSpawn } from "./_spawn_options.ts";
import type { Watchdog } from "./_watchdog.ts";
import type { SystemTelemetry } from "../telemetry/mod.ts";

/** What the actors of a system share with it. */
export interface CellsKit {
  /** The transports a spawn may name. */
  readonly transports: ReadonlyMap<string, TransportFactory>;
  /** The system's `unstableWorkerOptions` option. */
  readonly unstableWorkerOptions: boolean | undefined;
  /** The system's `onLog` option. */
  readonly onLog?: (line: string, stream: "stdout" | "stderr", id: string) => void;
  /** Milliseconds between a worker actor's heartbeats; 0 for none. */
  readonly heartbeatMs: number;
  /** The system's semaphores, shared with each worker actor when it starts. */
  readonly semaphores: ReadonlyMap<string, Semaphore>;
  /** Serves the actors' calls, and puts right what an ended one left. */
  readonly calls: CallServer;
  /** Runs while there are actors. */
  readonly watchdog: Watchdog;
  /** Whether the system is shutting down (no actor may start then). */
  closed(): boolean;
  /** A number never given before, for a default id. */
  nextNumber(): number;
  /** Publishes a lifecycle event. */
  emit(event: LifecycleEvent): void;
  /** Counts and reports a message that could not be delivered. */
  deadLetter(letter: DeadLetter): void;
  /**
   * A worker or thread actor's thread outlived its termination (see
   * `ActorExit.leaked`); `thread` looks again.
   */
  leaked(
    id: string,
    host: ActorHostKind,
    thread: () => Promise<"running" | "ended" | undefined>,
  ): void;
  /** The system's telemetry, when it is on. */
  readonly telemetry: SystemTelemetry | undefined;
}

/** The running actors of a system, by id, and the counts of those it ran. */
export class ActorCells {
  /** The running actors, in spawn order. */
  readonly running: Map<string, ActorCell> = new Map();
  /** Actors ever spawned. */
  spawned = 0;
  /** Actors that ended, by reason. */
  readonly exits: Record<string, number> = {};
  /** Worker actors terminated inside a handler. */
  leaked = 0;
  #owners = 0;
  #kit: CellsKit;

  /** @param kit What the actors share with their system. */
  constructor(kit: CellsKit) {
    this.#kit = kit;
  }

  /**
   * Spawns an actor and resolves once its `init` has run.
   *
   * @param module The actor module's URL.
   * @param options The spawn's options.
   * @param supervisor The id of its supervisor, if it has one.
   * @param starting Gets the new cell, when given, even if its start fails.
   * @returns The running actor's cell.
   * @throws {SpawnError} When the module fails to load, exports no actor, or `init` throws.
   * @throws {TypeError} When an option is invalid, the id is taken, or the system shuts down.
   */
  async spawn(
    module: string | URL,
    options: SpawnOptions,
    supervisor: string | undefined,
    starting?: Set<ActorCell>,
  ): Promise<ActorCell> {
    const kit = this.#kit;
    if (kit.closed()) {
      throw new TypeError("Cannot spawn actor: the actor system is shutting down");
    }
    const { url, id, capacity, overflow, hostKind, factory, launch } = checkSpawn(module, options, {
      transports: kit.transports,
      unstableWorkerOptions: kit.unstableWorkerOptions,
      onLog: kit.onLog,
      taken: (id) => this.running.has(id),
      nextNumber: () => kit.nextNumber(),
    });
    const traced = kit.telemetry?.cell(id, hostKind, factory.name);
    const cell = new ActorCell({
      id,
      module: url,
      exportName: options.export,
      args: options.args,
      capacity,
      overflow,
      // A process's exit is seen by its host; a thread of this one may hang silently.
      heartbeatMs: hostKind !== "process" ? kit.heartbeatMs : 0,
      hostKind,
      transportName: factory.name,
      owner: ++this.#owners,
      semaphores: Object.fromEntries(
        [...kit.semaphores].map(([name, semaphore]) => [name, semaphore.share()]),
      ),
      launch,
      onDeadLetter: (letter) => kit.deadLetter(letter),
      onExit: (exit) => this.#exited(exit, supervisor, cell.owner),
      onCall: (call, actorId) => kit.calls.serve(call, actorId),
      hooks: traced?.hooks,
      telemetry: traced?.boot,
    });
    kit.telemetry?.watch(cell);
    this.running.set(id, cell);
    starting?.add(cell);
    this.spawned++;
    kit.watchdog.start();
    const deadline = new AbortController();
    const stopWatching = watchDeadline(
      options.signal,
      options.timeout ?? 30_000,
      (reason) => deadline.abort(reason),
    );
    try {
      await cell.start(deadline.signal);
    } catch (error) {
      if (error instanceof SpawnError) throw error;
      throw new SpawnError(id, url, { cause: error });
    } finally {
      stopWatching();
    }
    const started: LifecycleEvent = { type: "started", id, host: hostKind, time: Date.now() };
    if (cell.pid !== undefined) started.pid = cell.pid;
    if (supervisor !== undefined) started.supervisor = supervisor;
    kit.emit(started);
    return cell;
  }

  #exited(exit: ActorExit, supervisor: string | undefined, owner: number): void {
    const cell = this.running.get(exit.id);
    this.running.delete(exit.id);
    if (exit.leaked && cell) this.#kit.leaked(exit.id, cell.hostKind, () => cell.thread());
    this.#kit.calls.ended(exit.id, owner, exit.reason === "timeout" || exit.reason === "killed");
    this.exits[exit.reason] = (this.exits[exit.reason] ?? 0) + 1;
    if (this.running.size === 0) this.#kit.watchdog.stop();
    const normal = exit.reason === "normal" || exit.reason === "timeout";
    const event: LifecycleEvent = normal
      ? { type: "stopped", id: exit.id, reason: exit.reason, time: Date.now() }
      : { type: "crashed", id: exit.id, reason: exit.reason, time: Date.now() };
    if (!normal && exit.error && event.type === "crashed") event.error = exit.error;
    if (exit.handling && event.type === "crashed") event.handling = exit.handling;
    if (exit.leaked && event.type === "stopped") {
      event.leaked = true;
      this.leaked++;
    }
    if (supervisor !== undefined) event.supervisor = supervisor;
    this.#kit.emit(event);
  }
}
