// The service's output rendering: the progress text (elapsed time, ETA) and
// lines printed while the bar is drawn, a worker actor's console lines among
// them.
import assert from "node:assert/strict";
import { eventText, Output, progressText } from "../cli/_output.ts";
import type { LifecycleEvent } from "../mod.ts";
import { ActorSystem } from "../mod.ts";
import { within } from "./_helpers.ts";
import type { consoleActor } from "./fixtures/console_actor.ts";

Deno.test("the progress text shows the time elapsed and, with a total and a rate, the ETA", () => {
  assert.equal(
    progressText({ done: 84_000, total: 200_000, unit: "lines" }, 2050, 41_000),
    "42% 84,000/200,000 lines, 41,000 lines/s, 2.05 s elapsed, ETA 2.83 s",
  );
  // No rate yet: no ETA. No total: no percent, no ETA.
  assert.equal(
    progressText({ done: 5, total: 10 }, 20, undefined),
    "50% 5/10 items, 20 ms elapsed",
  );
  assert.equal(progressText({ done: 7 }, 61_000, 0.1), "7 items, 0.1 items/s, 1m 01s elapsed");
  // Done: no ETA.
  assert.equal(
    progressText({ done: 10, total: 10 }, 4000, 2.5),
    "100% 10/10 items, 2.5 items/s, 4 s elapsed",
  );
});

Deno.test("a line said while the bar is drawn clears the bar, prints the line, and redraws the bar", () => {
  const out: string[] = [];
  const err: string[] = [];
  const output = new Output(false, true, {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
  });
  output.progress({ done: 1, total: 4 });
  assert.equal(out.length, 1);
  const bar = out[0]!;
  assert.ok(bar.startsWith("\r\x1b[2K"), JSON.stringify(bar));
  const drawn = bar.slice("\r\x1b[2K".length);
  assert.match(drawn, /^\[#{6}-{18}\] 25% 1\/4 items, [\d.]+ m?s elapsed$/);
  output.say("a log line", { type: "log" });
  assert.equal(out[1], `\r\x1b[2Ka log line\n${drawn}`);
  output.error("an error", { type: "error" });
  assert.deepEqual(out.slice(2), ["\r\x1b[2K", drawn]);
  assert.deepEqual(err, ["an error\n"]);
  output.endProgress();
  assert.equal(out.at(-1), "\n");
  output.say("after", { type: "log" });
  assert.equal(out.at(-1), "after\n");
});

const CONSOLE_ACTOR = new URL("./fixtures/console_actor.ts", import.meta.url);

Deno.test("a worker actor's console lines while the bar is drawn go above it: the bar is cleared, the line printed, the bar redrawn", async () => {
  const out: string[] = [];
  const err: string[] = [];
  const output = new Output(false, true, {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
  });
  const lines: string[] = [];
  let arrived = Promise.withResolvers<void>();
  await using system = await ActorSystem.start({
    onLog: (line, stream, id) => {
      lines.push(`${id} ${stream} ${line}`);
      output.actorLog(id, line, stream);
      arrived.resolve();
    },
  });
  const talker = await system.spawn<typeof consoleActor>(CONSOLE_ACTOR, { id: "talker" });
  output.progress({ done: 1, total: 4 });
  const drawn = out[0]!.slice("\r\x1b[2K".length);
  await talker.ask("say", ["hello from %s, %d", "a worker", 42]);
  await within(arrived.promise, 10_000, "the worker's console.log line");
  assert.deepEqual(out.slice(1), [`\r\x1b[2K[talker] hello from a worker, 42\n${drawn}`]);
  arrived = Promise.withResolvers<void>();
  await talker.ask("warn", "careful");
  await within(arrived.promise, 10_000, "the worker's console.error line");
  assert.deepEqual(out.slice(2), ["\r\x1b[2K", drawn]);
  assert.deepEqual(err, ["[talker] careful\n"]);
  // A line logged in the stop hook has arrived once the shutdown is over.
  output.endProgress();
  await system.shutdown();
  assert.deepEqual(lines, [
    "talker stdout hello from a worker, 42",
    "talker stderr careful",
    "talker stdout talker stopping",
  ]);
  assert.equal(out.at(-1), "[talker] talker stopping\n");
});

Deno.test("with --json an actor's stdout line is a JSON object and its stderr line stays text on stderr, both naming the actor", () => {
  const out: string[] = [];
  const err: string[] = [];
  const taps: string[] = [];
  const output = new Output(true, false, {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
  });
  output.tap = (line) => taps.push(line);
  output.actorLog("talker", "hello", "stdout");
  output.actorLog("talker", "careful", "stderr");
  assert.equal(out.length, 1);
  const data = JSON.parse(out[0]!);
  assert.deepEqual({ ...data, time: 0 }, {
    type: "actor-log",
    time: 0,
    actor: "talker",
    stream: "stdout",
    line: "hello",
  });
  assert.deepEqual(err, ["[talker] careful\n"]);
  assert.deepEqual(taps, ["[talker] hello", "[talker] careful"]);
});

Deno.test("a NATS event about an actor's own connection (inActor) names the actor; the node's own do not", () => {
  const line = (event: Record<string, unknown>) =>
    eventText({ id: "web-1", time: 0, ...event } as unknown as LifecycleEvent);
  const server = "127.0.0.1:4222";
  assert.match(
    line({ type: "nats-disconnected", server, failedAsks: 2 }),
    /web-1 +from 127\.0\.0\.1:4222, 2 asks failed$/,
  );
  assert.match(
    line({ type: "nats-disconnected", server, failedAsks: 0, actorId: "parser" }),
    /web-1 +parser's connection: from 127\.0\.0\.1:4222, the node serves its name meanwhile$/,
  );
  assert.match(line({ type: "nats-reconnected", server }), /web-1 +to 127\.0\.0\.1:4222$/);
  assert.match(
    line({ type: "nats-reconnected", server, actorId: "parser" }),
    /parser's connection: to 127\.0\.0\.1:4222$/,
  );
  assert.match(
    line({ type: "nats-closed", reason: "gave up reconnecting", actorId: "parser" }),
    /parser's connection: gave up reconnecting$/,
  );
  assert.match(
    line({ type: "nats-error", message: "Permissions Violation" }),
    /web-1 +Permissions Violation$/,
  );
  assert.match(
    line({ type: "nats-slow-consumer", name: "parser", pending: 1024, dropped: 7 }),
    /parser: 7 dropped, 1024 in hand$/,
  );
  assert.match(
    line({ type: "nats-served-in-actor", name: "parser", actorId: "parser-1", serving: true }),
    /parser: served in parser-1's thread$/,
  );
});
