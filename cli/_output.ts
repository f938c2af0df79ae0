// What `troupe run` prints: lifecycle events, its own messages, progress and
// the summary, as text lines (with a live progress bar on a terminal) or as
// one JSON object per line.

import type { ClusterEvent, LifecycleEvent } from "../mod.ts";
import type { ProgressUpdate } from "./app.ts";
import { writeErr, writeOut } from "./_args.ts";
import { formatCount, formatDuration, formatRate } from "./_table.ts";

const BAR_WIDTH = 24;
const REDRAW_MS = 80;

/** Turns an error into plain data for JSON. */
export function errorData(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    const data: Record<string, unknown> = { name: error.name, message: error.message };
    if (error.cause !== undefined) data.cause = errorData(error.cause);
    return data;
  }
  return { name: "Error", message: String(error) };
}

/** `Name: message`, with the causes behind it. */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const text = `${error.name}: ${error.message}`;
  return error.cause instanceof Error && !error.message.includes(error.cause.message)
    ? `${text} (cause: ${errorText(error.cause)})`
    : text;
}

function clock(time: number): string {
  const date = new Date(time);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${
    pad(date.getMilliseconds(), 3)
  }`;
}

/** The detail of a NATS node's event (its `id` is the node's connection name). */
function clusterText(event: ClusterEvent): string {
  // An event about the own connection of an actor that serves a name in its thread (`inActor`).
  const own =
    "actorId" in event && event.actorId !== undefined && event.type !== "nats-served-in-actor"
      ? `${event.actorId}'s connection: `
      : "";
  switch (event.type) {
    case "nats-disconnected":
      return own
        ? `${own}from ${event.server}, the node serves its name meanwhile`
        : `from ${event.server}, ${event.failedAsks} asks failed`;
    case "nats-reconnected":
      return `${own}to ${event.server}`;
    case "nats-slow-consumer":
      return `${event.name}: ${event.dropped} dropped, ${event.pending} in hand`;
    case "nats-bad-request":
      return `${event.name}: ${event.reason}`;
    case "nats-dead-letter":
      return `${event.name} ${event.messageName}: ${event.reason}`;
    case "nats-error":
      return `${own}${event.message}`;
    case "nats-served-in-actor":
      return `${event.name}: ${
        event.serving
          ? `served in ${event.actorId}'s thread`
          : `served by the node (${event.reason})`
      }`;
    case "nats-closed":
      return `${own}${event.reason}`;
  }
}

/** The text line of a lifecycle event. */
export function eventText(event: LifecycleEvent): string {
  const under = "supervisor" in event && event.supervisor ? `, under ${event.supervisor}` : "";
  let detail: string;
  switch (event.type) {
    case "started":
      detail = `${event.host}${event.pid !== undefined ? ` pid ${event.pid}` : ""}${under}`;
      break;
    case "crashed":
      detail = `${event.reason}${event.error ? `: ${errorText(event.error)}` : ""}${
        event.handling?.length ? `, handling ${event.handling.join(", ")}` : ""
      }${under}`;
      break;
    case "stopped":
      detail = `${event.reason}${under}${
        event.leaked ? " (terminated inside a handler: its thread may still run)" : ""
      }`;
      break;
    case "restarted":
      detail = event.requested
        ? `by ${event.supervisor}, on request`
        : `by ${event.supervisor}, attempt ${event.attempt}, after ${event.delayMs} ms`;
      break;
    case "gave-up":
      detail = `after ${event.crashes.length} crash${event.crashes.length === 1 ? "" : "es"} (${
        event.crashes.map((crash) => `${crash.id}: ${crash.reason}`).join(", ")
      }) in its restart window`;
      break;
    case "permits-recovered":
      detail = `${event.permits} permit${
        event.permits === 1 ? "" : "s"
      } of semaphore "${event.semaphore}"`;
      break;
    case "pool-grew":
    case "pool-shrank":
      detail = `worker ${event.worker}, size ${event.size}`;
      break;
    case "pool-recycled":
      detail = `worker ${event.worker} after ${event.tasks} tasks${
        event.memory !== undefined ? ` and ${event.memory} bytes` : ""
      } (${event.reason}), replaced by ${event.replacement}`;
      break;
    default:
      detail = clusterText(event);
  }
  return `${clock(event.time)}  ${event.type.padEnd(9)}  ${event.id.padEnd(12)}  ${detail}`;
}

/** A lifecycle event as plain JSON data (errors become `{ name, message }`). */
export function eventData(event: LifecycleEvent): Record<string, unknown> {
  const data: Record<string, unknown> = { ...event };
  if ("error" in event && event.error !== undefined) data.error = errorData(event.error);
  if (event.type === "gave-up") {
    data.crashes = event.crashes.map((crash) => ({
      ...crash,
      ...(crash.error ? { error: errorData(crash.error) } : {}),
    }));
  }
  return data;
}

/**
 * The text of a progress update: percent, counts, rate, the time elapsed and,
 * with a total and a rate, the time left at that rate:
 * `42% 84,000/200,000 lines, 41,000 lines/s, 2.05 s elapsed, ETA 2.83 s`.
 */
export function progressText(
  update: ProgressUpdate,
  elapsedMs: number,
  rate: number | undefined,
): string {
  const unit = update.unit ?? "items";
  const done = formatCount(update.done);
  const of = update.total !== undefined ? `/${formatCount(update.total)}` : "";
  const percent = update.total ? `${Math.floor((update.done / update.total) * 100)}% ` : "";
  const speed = rate === undefined ? "" : `, ${formatRate(rate)} ${unit}/s`;
  const elapsed = `, ${formatDuration(elapsedMs)} elapsed`;
  const left = update.total !== undefined && rate !== undefined && rate > 0
    ? Math.max(0, update.total - update.done) / rate * 1000
    : undefined;
  const eta = left === undefined || update.done >= (update.total ?? Infinity)
    ? ""
    : `, ETA ${formatDuration(left)}`;
  return `${percent}${done}${of} ${unit}${speed}${elapsed}${eta}`;
}

/** The service's output: text or JSON lines, with a progress bar on a terminal. */
export class Output {
  readonly json: boolean;
  #tty: boolean;
  #bar = "";
  #lastDraw = -Infinity;
  #progress: ProgressUpdate | undefined;
  #progressStart = 0;
  #lastStep = -1;
  #lastPlain = 0;

  #sink: { out(text: string): void; err(text: string): void };

  /**
   * @param json JSON lines instead of text.
   * @param tty Draw a progress bar (stdout is a terminal).
   * @param sink Where stdout and stderr text go (tests capture it).
   */
  constructor(
    json: boolean,
    tty: boolean = Deno.stdout.isTerminal(),
    sink: { out(text: string): void; err(text: string): void } = { out: writeOut, err: writeErr },
  ) {
    this.#sink = sink;
    this.json = json;
    this.#tty = tty && !json;
  }

  /** Receives the text of every line said, every error and every event (for `troupe logs`). */
  tap: ((line: string) => void) | undefined;

  /** A line of text (or, with `--json`, the given object). */
  say(text: string, data: Record<string, unknown>): void {
    this.tap?.(text);
    if (this.json) {
      this.#write(`${JSON.stringify({ type: data.type, time: Date.now(), ...data })}\n`);
    } else this.#write(`${text}\n`);
  }

  /** An error: text on stderr, or with `--json` an object on stdout (so stdout stays all JSON). */
  error(text: string, data: Record<string, unknown>): void {
    this.tap?.(text);
    if (this.json) {
      this.#write(`${JSON.stringify({ type: data.type, time: Date.now(), ...data })}\n`);
      return;
    }
    if (this.#bar !== "") this.#sink.out("\r\x1b[2K");
    this.#sink.err(`${text}\n`);
    if (this.#bar !== "") this.#sink.out(this.#bar);
  }

  /**
   * A line an actor logged (a worker actor's console, a process actor's
   * output), as `[id] line` above the bar: on stdout or stderr as the actor
   * wrote it. With `--json`, a stdout line is an `actor-log` object (stdout
   * stays all JSON) and a stderr line stays text on stderr.
   */
  actorLog(id: string, line: string, stream: "stdout" | "stderr"): void {
    const text = `[${id}] ${line}`;
    if (!this.json) {
      if (stream === "stderr") this.error(text, {});
      else this.say(text, {});
      return;
    }
    this.tap?.(text);
    if (stream === "stderr") this.#sink.err(`${text}\n`);
    else {
      const data = { type: "actor-log", time: Date.now(), actor: id, stream, line };
      this.#write(`${JSON.stringify(data)}\n`);
    }
  }

  event(event: LifecycleEvent): void {
    this.tap?.(eventText(event));
    if (this.json) this.#write(`${JSON.stringify(eventData(event))}\n`);
    else this.#write(`${eventText(event)}\n`);
  }

  /** Records progress: redraws the bar on a terminal, prints a line per 10% otherwise. */
  progress(update: ProgressUpdate): void {
    const now = performance.now();
    if (this.#progress === undefined) this.#progressStart = now;
    this.#progress = update;
    const total = update.total;
    const finished = total !== undefined && update.done >= total;
    if (this.#tty) {
      if (finished || now - this.#lastDraw >= REDRAW_MS) this.#draw(now);
      return;
    }
    // Plain lines: one per tenth of the total, or one a second without a total.
    let due: boolean;
    if (total !== undefined && total > 0) {
      const step = Math.min(10, Math.floor((update.done / total) * 10));
      due = step > this.#lastStep;
      if (due) this.#lastStep = step;
    } else {
      due = now - this.#lastPlain >= 1000;
    }
    if (!due) return;
    this.#lastPlain = now;
    const rate = this.#rate(now);
    if (this.json) {
      const data = { type: "progress", time: Date.now(), ...update, ...(rate ? { rate } : {}) };
      this.#write(`${JSON.stringify(data)}\n`);
    } else {
      this.#write(`progress: ${this.#progressText(update, rate)}\n`);
    }
  }

  /** Items per second since the first update, or `undefined` too early to tell. */
  #rate(now: number): number | undefined {
    const seconds = (now - this.#progressStart) / 1000;
    return seconds >= 0.05 && this.#progress
      ? Math.round(this.#progress.done / seconds)
      : undefined;
  }

  #progressText(update: ProgressUpdate, rate: number | undefined): string {
    return progressText(update, performance.now() - this.#progressStart, rate);
  }

  #draw(now: number): void {
    const update = this.#progress;
    if (!update) return;
    this.#lastDraw = now;
    const text = this.#progressText(update, this.#rate(now));
    let bar = "";
    if (update.total) {
      const filled = Math.round(Math.min(1, update.done / update.total) * BAR_WIDTH);
      bar = `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] `;
    }
    let columns = 80;
    try {
      columns = Deno.consoleSize().columns || 80;
    } catch {
      // Not a console after all.
    }
    this.#bar = `${bar}${text}`.slice(0, Math.max(10, columns - 1));
    this.#sink.out(`\r\x1b[2K${this.#bar}`);
  }

  /** Ends the progress bar: on a terminal its last state stays on screen as a line. */
  endProgress(): void {
    if (this.#tty && this.#bar !== "") {
      this.#draw(performance.now());
      this.#sink.out("\n");
    }
    this.#bar = "";
    this.#progress = undefined;
  }

  #write(text: string): void {
    if (this.#bar !== "") {
      // Lines go above the bar: clear it, write, draw it again.
      this.#sink.out(`\r\x1b[2K${text}${this.#bar}`);
    } else {
      this.#sink.out(text);
    }
  }
}
