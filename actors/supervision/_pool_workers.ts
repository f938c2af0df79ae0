// A pool's workers and their lifecycle: those taking tasks, those starting
// and those retired and finishing. A worker starts when a dynamic pool grows
// or to replace one recycled (after `maxTasks` tasks or past `maxMemory`); it
// is retired idle after `idleTimeout`, down to `min`, and a retired worker
// gets no more tasks and stops through its sentinel once it has none. Which
// worker a task goes to is `_pool_dispatch.ts`'s.

import type { ActorRef, DeadLetter } from "../core/actor_ref.ts";
import type { AnyActorDefinition } from "../core/define_actor.ts";
import type { LifecycleEvent } from "../core/events.ts";
import { ActorStoppedError } from "../../internal/errors.ts";
import type { ChildSpec, SupervisorRuntime } from "./supervisor.ts";
import { noop } from "../../internal/abort.ts";
import { workerMemory } from "./_pool_memory.ts";
import { type PoolSettings, workerSpec } from "./_pool_settings.ts";

/** What a pool needs from its system. */
export interface PoolKit {
  runtime: SupervisorRuntime;
  refs: ActorRef<AnyActorDefinition>[];
  capacity: number;
  /** The first worker's child spec: later workers get it with their own id. */
  worker: ChildSpec;
  deadLetter(letter: DeadLetter): void;
}

/** One worker of a pool. */
export interface Worker {
  ref: ActorRef<AnyActorDefinition>;
  load: number;
  /** Tasks sent to it, for `maxTasks`. */
  sent: number;
  /** When its load last fell to 0 (dynamic pools only). */
  idleSince: number;
  /** Why it was retired: it gets no more tasks, and stops once its load is 0. */
  retiring?: "idle" | "tasks" | "memory";
}

/** A worker being started: its id, and the worker once it is up. */
export interface Starting {
  id: string;
  worker: Promise<Worker>;
}

/** What the workers need from the tasks' side of the pool. */
export interface WorkerOwner {
  /** The pool is closing: no worker is started or retired any more. */
  readonly closed: boolean;
  /** How many tasks wait in the pool for a worker with room. */
  readonly waiting: number;
  /** A worker came up: send it the tasks waiting. */
  wake(): void;
  /** Fails every task waiting in the pool. */
  failQueued(error: unknown): void;
}

/** A pool's workers: the ones taking tasks, starting and leaving, and the timers that retire them. */
export class PoolWorkers {
  readonly id: string;
  readonly kit: PoolKit;
  /** Workers taking tasks. */
  readonly list: Worker[];
  /** Retired workers finishing their last tasks. */
  readonly leaving = new Set<Worker>();
  readonly starting = new Set<Starting>();
  readonly min: number;
  readonly max: number;
  readonly dynamic: boolean;
  /** Workers recycled after `maxTasks` tasks or past `maxMemory`. */
  recycled = 0;
  /** The last memory check, which a closing pool waits for. */
  memoryCheck: Promise<void> = Promise.resolve();
  #owner: WorkerOwner;
  #idleTimeout: number;
  #maxTasks: number;
  #maxMemory: number;
  #memoryInterval: number;
  /** The last worker number given. */
  #numbered: number;
  #shrinkTimer: ReturnType<typeof setTimeout> | undefined;
  #memoryTimer: ReturnType<typeof setTimeout> | undefined;
  #ended = false;

  constructor(id: string, kit: PoolKit, settings: Partial<PoolSettings>, owner: WorkerOwner) {
    this.id = id;
    this.kit = kit;
    this.#owner = owner;
    const now = Date.now();
    this.list = kit.refs.map((ref) => ({ ref, load: 0, sent: 0, idleSince: now }));
    this.#numbered = this.list.length;
    this.min = settings.min ?? this.list.length;
    this.max = settings.max ?? this.list.length;
    this.dynamic = this.max > this.min;
    this.#idleTimeout = settings.idleTimeout ?? 10_000;
    this.#maxTasks = settings.maxTasks ?? 0;
    this.#maxMemory = settings.maxMemory ?? 0;
    this.#memoryInterval = settings.memoryInterval ?? 1000;
    const end = () => this.#end();
    void kit.runtime.done.then(end, end);
    if (this.#maxMemory > 0) this.#armMemory();
  }

  /** Counts a task sent to `worker`; past `maxTasks` it is recycled. */
  sent(worker: Worker): void {
    if (this.#maxTasks !== 0 && ++worker.sent >= this.#maxTasks) this.#recycle(worker, "tasks");
  }

  /** `worker`'s load fell to 0: a retired one stops, an idle one may be retired later. */
  idle(worker: Worker): void {
    if (worker.retiring) this.#remove(worker);
    else if (this.dynamic) {
      worker.idleSince = Date.now();
      this.#armShrink();
    }
  }

  /** Stops the timers that retire workers (the pool is closing). */
  stopTimers(): void {
    clearTimeout(this.#shrinkTimer);
    clearTimeout(this.#memoryTimer);
    this.#shrinkTimer = this.#memoryTimer = undefined;
  }

  #emit(event: LifecycleEvent): void {
    this.kit.runtime.kit.emit(event);
  }

  /** Starts a worker: the pool grows, or replaces one it retired. */
  #start(): Starting {
    const id = `${this.id}-${++this.#numbered}`;
    const starting: Starting = {
      id,
      worker: this.kit.runtime.addChild(workerSpec(this.kit.worker, id)).then((slot) => {
        this.starting.delete(starting);
        const worker: Worker = { ref: slot.ref, load: 0, sent: 0, idleSince: Date.now() };
        this.list.push(worker);
        this.#owner.wake();
        if (this.dynamic) this.#armShrink();
        return worker;
      }),
    };
    this.starting.add(starting);
    starting.worker.catch((error) => {
      this.starting.delete(starting);
      // With no worker left to run them, the tasks waiting would wait forever.
      if (this.list.length === 0 && this.starting.size === 0) this.#owner.failQueued(error);
    });
    return starting;
  }

  /** A dynamic pool starts a worker for each task waiting beyond those starting, up to `max`. */
  grow(): void {
    if (!this.dynamic || this.#owner.closed || this.#ended) return;
    while (
      this.#owner.waiting > this.starting.size &&
      this.list.length + this.starting.size < this.max
    ) {
      const starting = this.#start();
      void starting.worker.then(() => {
        this.#emit({
          type: "pool-grew",
          id: this.id,
          worker: starting.id,
          size: this.list.length,
          time: Date.now(),
        });
      }, noop);
    }
  }

  /** Takes `worker` out of the pool: it gets no more tasks, and stops once it has none. */
  #retire(worker: Worker, why: "idle" | "tasks" | "memory"): boolean {
    if (worker.retiring || this.#owner.closed || this.#ended) return false;
    worker.retiring = why;
    const index = this.list.indexOf(worker);
    if (index >= 0) this.list.splice(index, 1);
    this.leaving.add(worker);
    if (worker.load === 0) this.#remove(worker);
    return true;
  }

  /** Stops a retired worker through its sentinel, now that it has no task. */
  #remove(worker: Worker): void {
    this.leaving.delete(worker);
    const slot = this.kit.runtime.find(worker.ref.id);
    if (slot) void this.kit.runtime.removeChild(slot).catch(noop);
  }

  /** Retires `worker` after `maxTasks` tasks or past `maxMemory`, and starts one in its place. */
  #recycle(worker: Worker, reason: "tasks" | "memory", memory?: number): void {
    if (!this.#retire(worker, reason)) return;
    this.recycled++;
    const replacement = this.#start();
    replacement.worker.catch(noop);
    this.#emit({
      type: "pool-recycled",
      id: this.id,
      worker: worker.ref.id,
      replacement: replacement.id,
      reason,
      tasks: worker.sent,
      ...(memory !== undefined ? { memory } : {}),
      time: Date.now(),
    });
  }

  #armShrink(): void {
    if (this.#shrinkTimer !== undefined || this.#owner.closed || this.#ended) return;
    if (this.list.length <= this.min) return;
    let due = Infinity;
    for (const worker of this.list) {
      if (worker.load === 0) due = Math.min(due, worker.idleSince + this.#idleTimeout);
    }
    if (due === Infinity) return;
    const timer = setTimeout(() => {
      this.#shrinkTimer = undefined;
      this.#shrink();
    }, Math.max(0, due - Date.now()));
    Deno.unrefTimer(timer);
    this.#shrinkTimer = timer;
  }

  /** Retires the workers idle for `idleTimeout`, newest first, down to `min`. */
  #shrink(): void {
    const now = Date.now();
    for (let i = this.list.length - 1; i >= 0 && this.list.length > this.min; i--) {
      const worker = this.list[i]!;
      if (worker.load > 0 || now - worker.idleSince < this.#idleTimeout) continue;
      if (!this.#retire(worker, "idle")) return;
      this.#emit({
        type: "pool-shrank",
        id: this.id,
        worker: worker.ref.id,
        size: this.list.length,
        time: now,
      });
    }
    this.#armShrink();
  }

  #armMemory(): void {
    if (this.#owner.closed || this.#ended) return;
    const timer = setTimeout(() => {
      this.#memoryTimer = undefined;
      this.memoryCheck = this.#checkMemory().then(() => this.#armMemory(), noop);
    }, this.#memoryInterval);
    Deno.unrefTimer(timer);
    this.#memoryTimer = timer;
  }

  /** Recycles the workers past `maxMemory`. */
  async #checkMemory(): Promise<void> {
    const workers = this.list.slice();
    const used = await Promise.all(workers.map((worker) => workerMemory(worker.ref.stats())));
    workers.forEach((worker, i) => {
      const bytes = used[i];
      if (bytes !== undefined && bytes > this.#maxMemory) this.#recycle(worker, "memory", bytes);
    });
  }

  /** The supervisor ended (the pool closed, or the system shut down): stop the timers. */
  #end(): void {
    this.#ended = true;
    this.stopTimers();
    this.#owner.failQueued(new ActorStoppedError(this.id));
  }
}
