/**
 * Helpers shared by the raw baselines. Nothing here imports Troupe.
 *
 * @module
 */

/** The small message of every baseline: 47 bytes as JSON while `i` is below 9,000,000. */
export interface SmallMessage {
  id: number;
  op: string;
  n: number;
}

/** `op` of a one-way message: the receiver counts it and acks every {@linkcode ACK_EVERY}. */
export const OP_TELL = "counter.add";
/** `op` of a round-trip message: the receiver sends it straight back. */
export const OP_ECHO = "counter.get";
/** Receivers ack every this many one-way messages. */
export const ACK_EVERY = 1000;

/** Returns the `i`-th small message, e.g. `{"id":1000000,"op":"counter.add","n":100000000}`. */
export function smallMessage(i: number, op: string = OP_TELL): SmallMessage {
  return { id: 1_000_000 + i, op, n: 100_000_000 + i };
}

/** Returns the `p`-th percentile (nearest rank) of a list sorted in ascending order. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError("Cannot take a percentile: no samples");
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Returns p50 and p99 of round-trip samples (any unit) under the given figure ids. */
export function latencyFigures(prefix: string, samples: number[]): Record<string, number> {
  samples.sort((a, b) => a - b);
  return { [`${prefix}.p50`]: percentile(samples, 50), [`${prefix}.p99`]: percentile(samples, 99) };
}

/**
 * A queue of incoming messages that one consumer awaits in order. An abort of the signal, or a
 * call to `fail`, rejects the pending and every later `next()`.
 */
export class Inbox<T> {
  #items: T[] = [];
  #head = 0;
  #resolve: ((value: T) => void) | undefined;
  #reject: ((reason: unknown) => void) | undefined;
  #failed = false;
  #error: unknown;

  constructor(signal: AbortSignal) {
    if (signal.aborted) this.fail(signal.reason);
    else signal.addEventListener("abort", () => this.fail(signal.reason), { once: true });
  }

  /** Delivers a message to the pending `next()` or queues it. */
  push(item: T): void {
    if (this.#failed) return;
    const resolve = this.#resolve;
    if (resolve !== undefined) {
      this.#resolve = this.#reject = undefined;
      resolve(item);
      return;
    }
    this.#items.push(item);
  }

  /** Rejects the pending and every later `next()` with `error` (the first failure wins). */
  fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#error = error;
    const reject = this.#reject;
    this.#resolve = this.#reject = undefined;
    reject?.(error);
  }

  /** Resolves with the next message. */
  next(): Promise<T> {
    if (this.#head < this.#items.length) {
      const item = this.#items[this.#head++];
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      return Promise.resolve(item);
    }
    if (this.#failed) return Promise.reject(this.#error);
    return new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }
}

/** Resolves with `promise`, or rejects when `signal` aborts or `ms` pass first. */
export async function bounded<T>(
  promise: Promise<T>,
  what: string,
  ms: number,
  signal: AbortSignal,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Cannot ${what}: no answer within ${ms} ms`)),
          ms,
        );
        onAbort = () => reject(signal.reason);
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal.removeEventListener("abort", onAbort);
  }
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Returns a worker's `self` typed for the few members the worker scripts use. */
export interface WorkerScope {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent) => void) | null;
  close(): void;
}

/** Wires a worker's messages and errors into an inbox. */
export function workerInbox<T>(worker: Worker, signal: AbortSignal): Inbox<T> {
  const inbox = new Inbox<T>(signal);
  worker.onmessage = (event: MessageEvent) => inbox.push(event.data as T);
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    inbox.fail(new Error(`Worker failed: ${event.message}`));
  };
  worker.onmessageerror = () => inbox.fail(new Error("Worker sent a message that cannot be read"));
  return inbox;
}

/** Starts a module worker from a file next to the caller. */
export function startWorker(url: URL): Worker {
  return new Worker(url, { type: "module" });
}

/** Options of {@linkcode spawnDeno}. */
export interface SpawnDenoOptions {
  readonly args?: readonly string[];
  readonly permissions?: readonly string[];
  readonly stdin?: "piped" | "null";
  readonly stdout?: "piped" | "null";
}

/** Spawns `deno run` on a script with the current Deno binary; stderr is inherited. */
export function spawnDeno(script: URL, options: SpawnDenoOptions = {}): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-lock",
      "--no-prompt",
      ...(options.permissions ?? []),
      script.href,
      ...(options.args ?? []),
    ],
    stdin: options.stdin ?? "piped",
    stdout: options.stdout ?? "piped",
    stderr: "inherit",
  }).spawn();
}

/**
 * Waits up to `graceMs` for a child to exit, then kills it with SIGKILL and waits for it.
 * Never throws.
 */
export async function reap(child: Deno.ChildProcess, graceMs = 2_000): Promise<void> {
  if (!await settleWithin(child.status, graceMs)) {
    kill(child);
    await child.status.catch(() => {});
  }
}

/** Sends SIGKILL to a child unless it has already exited. Never throws. */
export function kill(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch {
    // It exited already.
  }
}

/** Resolves whether `command --version` runs; `false` when the command is not on PATH. */
export async function hasCommand(command: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(command, {
      args: ["--version"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

/** Reads a byte stream to its end into one buffer; `stop()` cancels the read early. */
function collect(stream: ReadableStream<Uint8Array>): {
  bytes: Promise<Uint8Array>;
  stop(): Promise<void>;
} {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  const bytes = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
      }
    } catch {
      // Cancelled: keep what arrived.
    }
    const out = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
    let offset = 0;
    for (const chunk of chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  })();
  return { bytes, stop: () => reader.cancel().catch(() => {}) };
}

/**
 * Runs a command to completion and resolves with its stdout as text. On abort it sends SIGTERM
 * (so the command can clean up its own children), then SIGKILL a second later. Once the command
 * has exited, its output pipes get a short grace to drain, so a stray grandchild that holds them
 * open cannot stall the bench. `env` adds variables to the inherited environment.
 *
 * @throws {Error} when it exits unsuccessfully, or with the abort reason when aborted
 */
export async function runCommand(
  command: string,
  args: readonly string[],
  signal: AbortSignal,
  env?: Record<string, string>,
): Promise<string> {
  signal.throwIfAborted();
  const child = new Deno.Command(command, {
    args: [...args],
    ...(env === undefined ? {} : { env }),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = collect(child.stdout);
  const stderr = collect(child.stderr);
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // It exited already.
    }
    killTimer = setTimeout(() => kill(child), 1_000);
  };
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const status = await child.status;
    if (!await settleWithin(Promise.all([stdout.bytes, stderr.bytes]), 1_000)) {
      await Promise.all([stdout.stop(), stderr.stop()]);
    }
    signal.throwIfAborted();
    const decoder = new TextDecoder();
    if (!status.success) {
      const tail = decoder.decode(await stderr.bytes).trim().split("\n").slice(-5).join("\n");
      throw new Error(`Cannot run ${command}: it exited with code ${status.code}\n${tail}`);
    }
    return decoder.decode(await stdout.bytes);
  } finally {
    signal.removeEventListener("abort", onAbort);
    clearTimeout(killTimer);
    await reap(child, 0);
    await Promise.all([stdout.stop(), stderr.stop()]);
  }
}

/** Waits for `promise` to settle for at most `ms`; resolves whether it settled. Never throws. */
export async function settleWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise.then(() => true, () => true),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
