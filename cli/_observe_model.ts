// What the observer page and /metrics show: the supervision tree with each
// actor's figures, kept by `troupe run --observe` from `system.tree()`,
// `system.actors()` (both sampled twice a second) and the lifecycle events.
//
// The tree's shape comes from `system.tree()`: every running supervisor, the
// nested ones, pools and whatever main supervised later, each with its
// children in order, and a pool's retired workers gone from it. Between two
// samples the events keep it current (a `started` event puts an actor under
// its supervisor), and before the tree runs the app's spec stands in for it.
// A supervisor no longer in the tree (it stopped, or gave up) keeps its last
// picture. Actors that no supervisor started (a plain `system.spawn`) sit at
// the top.

import type {
  ActorStats,
  LifecycleEvent,
  SupervisionNode,
  SupervisorSpec,
  SystemStats,
} from "../mod.ts";
import type { NatsNodeStats } from "../actors/cluster/mod.ts";

/** Samples of messages per second kept per actor for its sparkline (30 s at 2 Hz). */
export const HISTORY = 60;
/** Crashes and events kept for the page. */
const KEEP_CRASHES = 50;
const KEEP_EVENTS = 50;
/** Actors kept in the picture; past it, the oldest that no longer run are forgotten. */
const MAX_ACTORS = 1000;
/** Longest stack sent to the page. */
const MAX_STACK = 8 * 1024;

/** One actor as the observer shows it. */
export interface ActorView {
  id: string;
  /** Its supervisor's id, or null at the top. */
  parent: string | null;
  /** starting, running, restarting, stopping, stopped (the actor's), or crashed, down. */
  state: string;
  /** Whether it is running now (in `system.actors()`). */
  up: boolean;
  host: string;
  transport: string;
  pid: number | null;
  /** Messages sent and not yet handled, waiting ones included. */
  mailbox: number;
  capacity: number;
  pendingAsks: number;
  /** Messages the current incarnation handled. */
  handled: number;
  /** Messages per second over the last second. */
  rate: number;
  /** The last rates, oldest first, one per sample. */
  history: number[];
  restarts: number;
  crashes: number;
}

/** One supervisor as the observer shows it. */
export interface SupervisorView {
  id: string;
  parent: string | null;
  strategy: string | null;
  /** Its state in `system.tree()` (starting, running, restarting, stopping, stopped, gave-up). */
  state: string;
  /** Children ids in order: actors and supervisors. */
  children: string[];
  restarts: number;
  /** Set when it gave up; `restarted` when its own supervisor started it again since. */
  gaveUp: { time: number; message: string; crashes: string[]; restarted: boolean } | null;
}

/** One crash, with its error. */
export interface CrashView {
  seq: number;
  time: number;
  id: string;
  supervisor: string | null;
  reason: string;
  name: string | null;
  message: string | null;
  stack: string | null;
  handling: string[];
}

/** One lifecycle event, in short. */
export interface EventView {
  seq: number;
  time: number;
  type: string;
  id: string;
  detail: string;
}

/** The service itself. */
export interface ServiceView {
  name: string;
  pid: number;
  app: string;
  state: string;
  started: number;
}

/** Everything the page draws, sent whole on every update. */
export interface Snapshot {
  time: number;
  service: ServiceView & { uptimeMs: number };
  stats: SystemStats;
  /** Top-level ids (supervisors and unsupervised actors), in order. */
  roots: string[];
  supervisors: Record<string, SupervisorView>;
  actors: Record<string, ActorView>;
  /** Newest last. */
  crashes: CrashView[];
  /** Newest last. */
  events: EventView[];
  /** The NATS nodes connected with the system (`NatsNode.connect({ system })`). */
  nats: NatsNodeStats[];
}

/** The observer's picture of a running system. */
export class ObserverModel {
  #roots: string[] = [];
  #supervisors = new Map<string, SupervisorView>();
  #actors = new Map<string, ActorView>();
  #crashes: CrashView[] = [];
  #events: EventView[] = [];
  #seq = 0;
  /** `restarted` events per id. */
  #restartEvents = new Map<string, number>();
  /** Supervisors declared by the app's spec (their children stay in spec order). */
  #fromSpec = new Set<string>();
  #lastSample: { time: number; handled: Map<string, number> } | undefined;
  /** Crashes per actor id (kept when an actor disappears, for /metrics). */
  readonly crashCounts = new Map<string, number>();

  /** Adds the supervisors and actors of a spec, in order, under `parent`. */
  addSpec(spec: SupervisorSpec, parent: string | null = null): void {
    if (!spec || typeof spec.id !== "string" || !Array.isArray(spec.children)) return;
    const supervisor = this.#supervisor(spec.id, parent);
    this.#fromSpec.add(spec.id);
    supervisor.strategy = spec.strategy ?? "one-for-one";
    for (const child of spec.children) {
      if (Array.isArray((child as SupervisorSpec).children)) {
        this.addSpec(child as SupervisorSpec, spec.id);
      } else if (typeof child?.id === "string") {
        this.#actor(child.id, spec.id).host = (child as { host?: string }).host ?? "worker";
      }
    }
  }

  /**
   * Takes the tree's shape from `system.tree()`: its supervisors and actors,
   * under whom and in what order, and the supervisors' states (and a down
   * actor's, which its supervisor knows). A child a supervisor in the tree no longer
   * has (a pool's retired worker) leaves the picture; supervisors not in the
   * tree, and actors no supervisor started, stay as they are.
   */
  shape(trees: readonly SupervisionNode[]): void {
    const seen = new Set<string>();
    const gone: string[] = [];
    const walk = (node: SupervisionNode, parent: string | null): void => {
      seen.add(node.id);
      if (node.kind === "actor") {
        const actor = this.#actors.get(node.id) ?? this.#actor(node.id, parent);
        this.#move(actor, parent);
        // A down actor's supervisor knows what it waits for (a restart, the end).
        if (!actor.up && actor.state === "down" && node.state) actor.state = node.state;
        return;
      }
      const supervisor = this.#supervisors.get(node.id) ?? this.#supervisor(node.id, parent);
      this.#move(supervisor, parent);
      if (node.state) supervisor.state = node.state;
      const children = (node.children ?? []).map((child) => child.id);
      for (const id of supervisor.children) if (!children.includes(id)) gone.push(id);
      supervisor.children = children;
      for (const child of node.children ?? []) walk(child, node.id);
    };
    for (const tree of trees) walk(tree, null);
    const roots = trees.map((tree) => tree.id);
    for (const id of this.#roots) if (!seen.has(id)) roots.push(id);
    this.#roots = roots;
    for (const id of gone) if (!seen.has(id)) this.#drop(id);
  }

  /** Puts a node under `parent` (null: at the top) when it is elsewhere. */
  #move(node: { id: string; parent: string | null }, parent: string | null): void {
    if (node.parent === parent) return;
    this.#detach(node.id, node.parent);
    node.parent = parent;
    if (parent === null && !this.#roots.includes(node.id)) this.#roots.push(node.id);
  }

  /** Forgets an actor, or a supervisor with everything under it, that left the tree. */
  #drop(id: string): void {
    const supervisor = this.#supervisors.get(id);
    if (supervisor) {
      for (const child of supervisor.children) this.#drop(child);
      this.#supervisors.delete(id);
      this.#fromSpec.delete(id);
    } else {
      this.#actors.delete(id);
      this.crashCounts.delete(id);
    }
    this.#restartEvents.delete(id);
  }

  /** Takes one lifecycle event into the picture. */
  onEvent(event: LifecycleEvent): void {
    const seq = ++this.#seq;
    let detail = "";
    switch (event.type) {
      case "started": {
        const actor = this.#actor(event.id, event.supervisor ?? null);
        // A sample may have seen it running before this event came: put it under its supervisor.
        if (event.supervisor !== undefined && actor.parent !== event.supervisor) {
          this.#detach(actor.id, actor.parent);
          if (!this.#supervisors.has(event.supervisor)) this.#supervisor(event.supervisor, null);
          actor.parent = event.supervisor;
          this.#attach(actor.id, actor.parent);
        }
        actor.state = "running";
        actor.up = true;
        actor.host = event.host;
        actor.pid = event.pid ?? null;
        detail = `${event.host}${event.pid !== undefined ? ` pid ${event.pid}` : ""}`;
        break;
      }
      case "crashed": {
        const actor = this.#actor(event.id, event.supervisor ?? null);
        actor.state = "crashed";
        actor.up = false;
        actor.crashes++;
        this.crashCounts.set(event.id, (this.crashCounts.get(event.id) ?? 0) + 1);
        const error = errorParts(event.error);
        this.#crashes.push({
          seq,
          time: event.time,
          id: event.id,
          supervisor: event.supervisor ?? null,
          reason: event.reason,
          ...error,
          handling: event.handling ?? [],
        });
        if (this.#crashes.length > KEEP_CRASHES) this.#crashes.shift();
        detail = `${event.reason}${error.message !== null ? `: ${error.message}` : ""}`;
        break;
      }
      case "stopped": {
        const actor = this.#actors.get(event.id);
        if (actor) {
          actor.state = "stopped";
          actor.up = false;
        }
        detail = event.reason;
        break;
      }
      case "restarted": {
        const node = this.#supervisors.get(event.id) ?? this.#actor(event.id, event.supervisor);
        // The same restarts as `system.actors()` counts: take the larger, never the sum.
        const count = (this.#restartEvents.get(event.id) ?? 0) + 1;
        this.#restartEvents.set(event.id, count);
        node.restarts = Math.max(node.restarts, count);
        if ("gaveUp" in node && node.gaveUp) node.gaveUp.restarted = true;
        detail = `by ${event.supervisor}, attempt ${event.attempt}, after ${event.delayMs} ms`;
        break;
      }
      case "gave-up": {
        const supervisor = this.#supervisor(event.id, null);
        supervisor.gaveUp = {
          time: event.time,
          message: errorParts(event.error).message ?? "gave up",
          crashes: event.crashes.map((crash) => `${crash.id}: ${crash.reason}`),
          restarted: false,
        };
        for (const id of this.#descendants(event.id)) {
          const actor = this.#actors.get(id);
          if (actor && actor.state !== "crashed") {
            actor.state = "down";
            actor.up = false;
          }
        }
        detail = `after ${event.crashes.length} crash${event.crashes.length === 1 ? "" : "es"}`;
        break;
      }
      case "permits-recovered":
        detail = `${event.permits} of semaphore "${event.semaphore}"`;
        break;
    }
    this.#events.push({ seq, time: event.time, type: event.type, id: event.id, detail });
    if (this.#events.length > KEEP_EVENTS) this.#events.shift();
  }

  /**
   * Takes a sample of `system.actors()`: the figures, and the rates since the
   * last sample, which go into each actor's history.
   */
  sample(actors: readonly ActorStats[], now = performance.now()): void {
    const handled = new Map<string, number>();
    const before = this.#lastSample;
    for (const stats of actors) {
      const previous = before?.handled.get(stats.id);
      let rate = 0;
      if (before && previous !== undefined) {
        // A restarted actor counts from zero again.
        const delta = stats.handled >= previous ? stats.handled - previous : stats.handled;
        rate = (delta * 1000) / Math.max(1, now - before.time);
      }
      handled.set(stats.id, stats.handled);
      (this.#actors.get(stats.id) ?? this.#actor(stats.id, null)).rate = Math.round(rate * 10) / 10;
    }
    this.refresh(actors);
    for (const actor of this.#actors.values()) {
      actor.history.push(actor.rate);
      if (actor.history.length > HISTORY) actor.history.shift();
    }
    this.#lastSample = { time: now, handled };
  }

  /** Takes the figures of `system.actors()` now, leaving the rates to the next sample. */
  refresh(actors: readonly ActorStats[]): void {
    const seen = new Set<string>();
    for (const stats of actors) {
      seen.add(stats.id);
      const actor = this.#actors.get(stats.id) ?? this.#actor(stats.id, null);
      actor.up = true;
      actor.state = stats.state;
      actor.host = stats.host;
      actor.transport = stats.transport;
      actor.pid = stats.pid ?? null;
      actor.mailbox = stats.inflight + stats.waiting;
      actor.capacity = stats.capacity;
      actor.pendingAsks = stats.pendingAsks;
      actor.restarts = Math.max(actor.restarts, stats.restarts);
      actor.handled = stats.handled;
    }
    for (const actor of this.#actors.values()) {
      if (seen.has(actor.id)) continue;
      actor.up = false;
      actor.rate = 0;
      actor.mailbox = 0;
      actor.pendingAsks = 0;
      if (actor.state === "running" || actor.state === "starting") actor.state = "down";
    }
    if (this.#actors.size > MAX_ACTORS) this.#forget(this.#actors.size - MAX_ACTORS);
  }

  /** Forgets the `n` oldest actors that no longer run (a service that spawns without end). */
  #forget(n: number): void {
    for (const actor of [...this.#actors.values()]) {
      if (n <= 0) return;
      if (actor.up) continue;
      this.#actors.delete(actor.id);
      this.crashCounts.delete(actor.id);
      this.#restartEvents.delete(actor.id);
      this.#detach(actor.id, actor.parent);
      n--;
    }
  }

  /** The whole picture, as plain data. */
  snapshot(service: ServiceView, stats: SystemStats, nats: NatsNodeStats[] = []): Snapshot {
    const now = Date.now();
    return {
      time: now,
      service: { ...service, uptimeMs: now - service.started },
      stats,
      roots: [...this.#roots],
      supervisors: Object.fromEntries(
        [...this.#supervisors].map(([id, s]) => [id, structuredClone(s)]),
      ),
      actors: Object.fromEntries(
        [...this.#actors].map(([id, a]) => [id, { ...a, history: [...a.history] }]),
      ),
      crashes: [...this.#crashes],
      events: [...this.#events],
      nats,
    };
  }

  /** Every actor known, running or not, in tree order. */
  actorViews(): ActorView[] {
    return [...this.#actors.values()];
  }

  /** Every supervisor known. */
  supervisorViews(): SupervisorView[] {
    return [...this.#supervisors.values()];
  }

  #descendants(id: string): string[] {
    const out: string[] = [];
    for (const child of this.#supervisors.get(id)?.children ?? []) {
      out.push(child, ...this.#descendants(child));
    }
    return out;
  }

  #supervisor(id: string, parent: string | null): SupervisorView {
    let supervisor = this.#supervisors.get(id);
    if (!supervisor) {
      supervisor = {
        id,
        parent,
        strategy: null,
        state: "starting",
        children: [],
        restarts: 0,
        gaveUp: null,
      };
      this.#supervisors.set(id, supervisor);
      this.#attach(id, parent);
    }
    return supervisor;
  }

  #actor(id: string, parent: string | null): ActorView {
    let actor = this.#actors.get(id);
    if (!actor) {
      if (parent !== null && !this.#supervisors.has(parent)) this.#supervisor(parent, null);
      actor = {
        id,
        parent,
        state: "starting",
        up: false,
        host: "worker",
        transport: "",
        pid: null,
        mailbox: 0,
        capacity: 0,
        pendingAsks: 0,
        handled: 0,
        rate: 0,
        history: [],
        restarts: 0,
        crashes: 0,
      };
      this.#actors.set(id, actor);
      this.#attach(id, parent);
    }
    return actor;
  }

  #attach(id: string, parent: string | null): void {
    const list = parent === null ? this.#roots : this.#supervisors.get(parent)!.children;
    if (list.includes(id)) return;
    list.push(id);
    // A supervisor from no spec (a pool) lists its children by id: parser-1, parser-2, ...
    if (parent !== null && !this.#fromSpec.has(parent)) {
      list.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
    }
  }

  #detach(id: string, parent: string | null): void {
    const list = parent === null ? this.#roots : this.#supervisors.get(parent)?.children;
    const at = list?.indexOf(id) ?? -1;
    if (at >= 0) list!.splice(at, 1);
  }
}

/** An error's name, message and stack, as strings (or null), whatever was thrown. */
function errorParts(
  error: unknown,
): { name: string | null; message: string | null; stack: string | null } {
  if (error === undefined || error === null) return { name: null, message: null, stack: null };
  if (typeof error !== "object") return { name: null, message: String(error), stack: null };
  const e = error as { name?: unknown; message?: unknown; stack?: unknown };
  const stack = typeof e.stack === "string" ? e.stack.slice(0, MAX_STACK) : null;
  return {
    name: typeof e.name === "string" ? e.name : null,
    message: typeof e.message === "string" ? e.message : String(error),
    stack,
  };
}
