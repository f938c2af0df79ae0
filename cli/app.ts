/**
 * What an app module exports for `troupe run`: its supervision tree, and
 * optionally a `main` that does the app's work.
 *
 * @module
 */

import type { ActorSystem, Supervisor, SupervisorSpec, SystemOptions } from "../mod.ts";

/**
 * The supervision tree an app exports as `app`: the same data
 * `ActorSystem.supervise` takes, or a function of the system that returns
 * it (to create semaphores and queues before the actors that use them start).
 *
 * @example A tree as data
 * ```ts
 * import type { AppTree } from "@troupe/troupe/cli";
 * import assert from "node:assert/strict";
 *
 * export const app: AppTree = {
 *   id: "root",
 *   children: [{ id: "counter", module: new URL("./counter.ts", import.meta.url) }],
 * };
 * assert.equal(typeof app, "object");
 * ```
 */
export type AppTree =
  | SupervisorSpec
  | ((system: ActorSystem) => SupervisorSpec | Promise<SupervisorSpec>);

/**
 * How far an app's work has come, for the progress bar `troupe run` draws.
 *
 * @example
 * ```ts
 * import type { ProgressUpdate } from "@troupe/troupe/cli";
 * import assert from "node:assert/strict";
 *
 * const update: ProgressUpdate = { done: 250, total: 1000, unit: "lines" };
 * assert.equal(update.done / update.total!, 0.25);
 * ```
 */
export interface ProgressUpdate {
  /** Items done so far. */
  done: number;
  /** Items in all, when known (the bar then shows a percentage). */
  total?: number;
  /** What an item is, plural: `"lines"`. Default `"items"`. */
  unit?: string;
}

/**
 * What `main` gets besides the system and the root supervisor.
 *
 * @example Stop producing when the service is asked to stop
 * ```ts
 * import type { AppContext } from "@troupe/troupe/cli";
 * import assert from "node:assert/strict";
 *
 * function produce(context: AppContext): number {
 *   let made = 0;
 *   while (!context.signal.aborted && made < 10) {
 *     made++;
 *     context.progress({ done: made, total: 10 });
 *   }
 *   return made;
 * }
 * const context: AppContext = {
 *   signal: new AbortController().signal,
 *   progress: () => {},
 *   log: () => {},
 * };
 * assert.equal(produce(context), 10);
 * ```
 */
export interface AppContext {
  /**
   * Aborted when the service is asked to stop (SIGINT, SIGTERM, `troupe
   * stop`) or a supervisor gave up. The actors then drain and stop; `main`
   * should stop sending them work and return.
   */
  readonly signal: AbortSignal;
  /** Reports progress: a bar on a terminal, a line every 10% otherwise, a JSON object with `--json`. */
  progress(update: ProgressUpdate): void;
  /** Prints a line among the lifecycle events (a JSON `log` object with `--json`). */
  log(message: string): void;
  /**
   * The app's own arguments: those after the app module that are not
   * `troupe run`'s options (`troupe run app.ts --duration 30` gives
   * `["--duration", "30"]`). Empty when there are none.
   */
  readonly args?: readonly string[];
}

/**
 * What `main` may return: the figures `troupe run` prints in its summary.
 *
 * @example
 * ```ts
 * import type { AppResult } from "@troupe/troupe/cli";
 * import assert from "node:assert/strict";
 *
 * const result: AppResult = { items: 60_000, unit: "lines", details: { malformed: 12 } };
 * assert.equal(result.unit, "lines");
 * ```
 */
export interface AppResult {
  /** Work items the app handled; the summary shows them with the throughput. */
  items?: number;
  /** What an item is, plural. Default `"items"`. */
  unit?: string;
  /** More figures, printed as `name: value` lines (fields of the JSON summary with `--json`). */
  details?: Record<string, string | number | boolean>;
}

/**
 * An app's work, exported as `main`. `troupe run` calls it once the tree
 * has started; when it resolves, the service shuts down cleanly, prints a
 * summary and exits 0. When it throws, the service shuts down and exits 1.
 *
 * @example Ask an actor of the tree, then finish
 * ```ts
 * import type { AppMain } from "@troupe/troupe/cli";
 * import type { counter } from "../examples/actors/counter.ts";
 * import assert from "node:assert/strict";
 *
 * export const main: AppMain = async (_system, root) => {
 *   const ref = root.ref<typeof counter>("counter");
 *   await ref.tell("inc", 5);
 *   return { items: await ref.ask("get") };
 * };
 * assert.equal(typeof main, "function");
 * ```
 */
export type AppMain = (
  system: ActorSystem,
  root: Supervisor,
  context: AppContext,
) => void | AppResult | Promise<void | AppResult>;

/**
 * The exports `troupe run` reads from an app module. Only `app` is required.
 *
 * @example The shape of an app module
 * ```ts
 * import type { AppModule } from "@troupe/troupe/cli";
 * import assert from "node:assert/strict";
 *
 * const module: AppModule = {
 *   app: { id: "root", children: [] },
 *   options: { heartbeatMs: 500 },
 *   main: () => ({ items: 0 }),
 * };
 * assert.equal(module.options?.heartbeatMs, 500);
 * ```
 */
export interface AppModule {
  /** The supervision tree to start. */
  app: AppTree;
  /** The app's work; without it the service runs until it is stopped. */
  main?: AppMain;
  /** Options of `ActorSystem.start` (extra transports, heartbeat, dead-letter callback). */
  options?: SystemOptions;
}
