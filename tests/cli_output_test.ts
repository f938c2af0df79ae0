// The service's output rendering: the progress text (elapsed time, ETA) and
// lines printed while the bar is drawn.
import assert from "node:assert/strict";
import { Output, progressText } from "../cli/_output.ts";

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
