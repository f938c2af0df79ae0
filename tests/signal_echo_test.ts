import assert from "node:assert/strict";
import { SIGNAL_ECHO_MS, signalClassifier } from "../internal/signal_echo.ts";

Deno.test("the first signal starts, its echo is ignored, a later one is asked again", () => {
  let clock = 1000;
  const classify = signalClassifier(SIGNAL_ECHO_MS, () => clock);
  assert.equal(classify(), "first");
  clock += 1; // deno task's forwarded copy of the terminal's SIGINT
  assert.equal(classify(), "echo");
  clock += SIGNAL_ECHO_MS - 2;
  assert.equal(classify(), "echo");
  clock += 1;
  assert.equal(classify(), "again");
  assert.equal(classify(), "again");
});
