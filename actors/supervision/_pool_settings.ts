// A pool's own options, checked once before anything starts, and split from
// the spawn options its workers get.

import type { ChildSpec } from "./spec.ts";

/** How a pool picks the worker for a task. */
export type PoolStrategy = "least-loaded" | "round-robin";

/** The pool's own options, checked; everything else goes to its workers. */
export interface PoolSettings {
  strategy?: PoolStrategy;
  retry?: boolean;
  /** Set for a dynamic pool (or one given `min`/`max`). */
  min?: number;
  max?: number;
  idleTimeout: number;
  tasksPerWorker?: number;
  maxTasks: number;
  maxMemory: number;
  memoryInterval: number;
}

/** The options a pool reads itself, as `PoolOptions` declares them. */
export interface PoolOwnOptions {
  id?: string;
  size?: number;
  strategy?: PoolStrategy;
  retry?: boolean;
  signal?: AbortSignal;
  min?: number;
  max?: number;
  idleTimeout?: number;
  tasksPerWorker?: number;
  maxTasks?: number;
  maxMemory?: number;
  memoryInterval?: number;
}

const WHERE = "Cannot start pool";

function positiveInteger(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
    throw new RangeError(`${WHERE}: ${name} must be a positive integer, received ${value}`);
  }
}

function positiveNumber(name: string, value: number | undefined): void {
  if (value !== undefined && !(typeof value === "number" && value > 0 && value < Infinity)) {
    throw new RangeError(`${WHERE}: ${name} must be a positive number, received ${value}`);
  }
}

/**
 * Checks a pool's own options and splits them from its workers' spawn options.
 *
 * @throws {TypeError} When `size` is given with `min` or `max`, or the strategy is unknown.
 * @throws {RangeError} When a count or a duration is out of range.
 */
export function splitPoolOptions<T extends PoolOwnOptions>(
  options: T,
): { settings: PoolSettings; child: Omit<T, keyof PoolOwnOptions> } {
  const {
    id: _id,
    size,
    strategy,
    retry,
    signal: _signal,
    min,
    max,
    idleTimeout,
    tasksPerWorker,
    maxTasks,
    maxMemory,
    memoryInterval,
    ...child
  } = options;
  if (size !== undefined && (min !== undefined || max !== undefined)) {
    throw new TypeError(`${WHERE}: size cannot be combined with min or max`);
  }
  if (strategy !== undefined && strategy !== "least-loaded" && strategy !== "round-robin") {
    throw new TypeError(
      `${WHERE}: strategy must be least-loaded or round-robin, received "${strategy}"`,
    );
  }
  positiveInteger("min", min);
  positiveInteger("max", max);
  positiveInteger("tasksPerWorker", tasksPerWorker);
  positiveInteger("maxTasks", maxTasks);
  positiveNumber("idleTimeout", idleTimeout);
  positiveNumber("maxMemory", maxMemory);
  positiveNumber("memoryInterval", memoryInterval);
  const settings: PoolSettings = {
    idleTimeout: idleTimeout ?? 10_000,
    maxTasks: maxTasks ?? 0,
    maxMemory: maxMemory ?? 0,
    memoryInterval: memoryInterval ?? 1000,
  };
  if (strategy !== undefined) settings.strategy = strategy;
  if (retry !== undefined) settings.retry = retry;
  if (tasksPerWorker !== undefined) settings.tasksPerWorker = tasksPerWorker;
  if (min !== undefined || max !== undefined) {
    const low = min ?? 1;
    const high = max ?? Math.max(low, navigator.hardwareConcurrency || 1);
    if (high < low) {
      throw new RangeError(`${WHERE}: max must be at least min (${low}), received ${high}`);
    }
    settings.min = low;
    settings.max = high;
  }
  return { settings, child: child as Omit<T, keyof PoolOwnOptions> };
}

/** A worker's child spec, from the template the system made for the first one. */
export function workerSpec(template: ChildSpec, id: string): ChildSpec {
  return { ...template, id };
}
