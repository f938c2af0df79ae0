import assert from "node:assert/strict";
import {
  abortable,
  boundWith,
  sequentialCaps,
  settleWithin,
  timeoutError,
  valueWithin,
  watchDeadline,
} from "../internal/abort.ts";
import { after } from "../internal/ticker.ts";

Deno.test("watchDeadline() ends a wait with the timeout's reason, once", async () => {
  const reasons: unknown[] = [];
  const ended = Promise.withResolvers<void>();
  watchDeadline(undefined, 5, (reason) => {
    reasons.push(reason);
    ended.resolve();
  });
  await ended.promise;
  assert.equal(reasons.length, 1);
  assert.ok(reasons[0] instanceof DOMException);
  assert.equal((reasons[0] as DOMException).name, "TimeoutError");
});

Deno.test("watchDeadline() ends a wait with the signal's reason, at once when already aborted", () => {
  const reasons: unknown[] = [];
  const controller = new AbortController();
  const cancel = watchDeadline(controller.signal, 60_000, (reason) => reasons.push(reason));
  controller.abort("first");
  controller.abort("second");
  cancel();
  assert.deepEqual(reasons, ["first"]);
  const early: unknown[] = [];
  watchDeadline(AbortSignal.abort("already"), undefined, (reason) => early.push(reason));
  assert.deepEqual(early, ["already"]);
});

Deno.test("watchDeadline()'s cancel stops both the timer and the listener", () => {
  const controller = new AbortController();
  const reasons: unknown[] = [];
  const cancel = watchDeadline(controller.signal, 1, (reason) => reasons.push(reason));
  cancel();
  controller.abort("late");
  assert.deepEqual(reasons, []);
  // The sanitizer fails this test if the timer were left running.
});

Deno.test("watchDeadline() uses the caller's timeout reason", async () => {
  const reason = await new Promise((resolve) =>
    watchDeadline(undefined, 1, resolve, () => new DOMException("waited for x", "TimeoutError"))
  );
  assert.equal((reason as DOMException).message, "waited for x");
});

Deno.test("settleWithin() tells whether the promise settled in time and never rejects", async () => {
  assert.equal(await settleWithin(Promise.resolve(1), 1000), true);
  assert.equal(await settleWithin(Promise.reject(new Error("x")), 1000), true);
  assert.equal(await settleWithin(new Promise(() => {}), 1), false);
});

Deno.test("boundWith() gives settleWithin() the timer its bounds use, and hands back the one before", async () => {
  // The recording timer is `after()`, which does not keep the event loop alive, as in a process actor.
  using _loop = holdLoop();
  const asked: number[] = [];
  const previous = boundWith((ms, fire) => {
    asked.push(ms);
    return after(ms, fire);
  });
  try {
    assert.equal(await settleWithin(new Promise(() => {}), 3), false);
    assert.equal(await settleWithin(Promise.resolve(), 60_000), true);
    assert.deepEqual(asked, [3, 60_000]);
  } finally {
    boundWith(previous);
  }
  // Back on the timer before: this bound does not reach the recording one.
  assert.equal(await settleWithin(new Promise(() => {}), 1), false);
  assert.deepEqual(asked, [3, 60_000]);
});

Deno.test("abortable() gives the value, or the abort reason first", async () => {
  assert.equal(await abortable(Promise.resolve(7), undefined), 7);
  assert.equal(await abortable(Promise.resolve(7), new AbortController().signal), 7);
  const controller = new AbortController();
  const late = Promise.withResolvers<number>();
  const waiting = abortable(late.promise, controller.signal);
  controller.abort("stop");
  await assert.rejects(waiting, (reason) => reason === "stop");
  late.reject(new Error("after the abort: handled, not unhandled"));
  await assert.rejects(
    abortable(new Promise(() => {}), AbortSignal.abort("now")),
    (r) => r === "now",
  );
});

Deno.test("timeoutError() is the platform's TimeoutError", () => {
  const error = timeoutError();
  assert.equal(error.name, "TimeoutError");
  assert.equal(error.message, "Signal timed out.");
});

Deno.test("valueWithin() gives the value in time, undefined after the bound, and the rejection", async () => {
  assert.equal(await valueWithin(Promise.resolve(5), 1000), 5);
  assert.equal(await valueWithin(new Promise(() => {}), 1), undefined);
  await assert.rejects(valueWithin(Promise.reject(new Error("no")), 1000), /no/);
});

/** `after()` keeps nothing alive: a test holds the event loop open meanwhile, as a pending read would. */
function holdLoop(): Disposable {
  const timer = setInterval(() => {}, 1000);
  return { [Symbol.dispose]: () => clearInterval(timer) };
}

Deno.test("after() fires once; a cancelled after() never fires", async () => {
  using _loop = holdLoop();
  const fired: string[] = [];
  const cancel = after(1, () => fired.push("cancelled"));
  cancel();
  const done = Promise.withResolvers<void>();
  after(5, () => {
    fired.push("kept");
    done.resolve();
  });
  await done.promise;
  // A third, later timer: by the time it fires, the cancelled one's time is long past.
  await new Promise<void>((resolve) => after(20, resolve));
  assert.deepEqual(fired, ["kept"]);
});

Deno.test("watchDeadline() takes the timer it is given, and cancels it", async () => {
  using _loop = holdLoop();
  const scheduled: number[] = [];
  let cancelled = 0;
  const schedule = (ms: number, fire: () => void) => {
    scheduled.push(ms);
    return after(ms, fire) && (() => void cancelled++);
  };
  const stop = watchDeadline(undefined, 1000, () => {}, timeoutError, schedule);
  stop();
  assert.deepEqual([scheduled, cancelled], [[1000], 1]);
  const reason = await new Promise((resolve) =>
    watchDeadline(undefined, 2, resolve, timeoutError, after)
  );
  assert.equal((reason as DOMException).name, "TimeoutError");
});

Deno.test("settleWithin() with a signal: false at once when already aborted, false on a later abort, true when the promise settles first", async () => {
  using _loop = holdLoop();
  const never = new Promise<void>(() => {});
  assert.equal(await settleWithin(never, 60_000, AbortSignal.abort()), false);
  const controller = new AbortController();
  const waiting = settleWithin(never, 60_000, controller.signal);
  controller.abort();
  assert.equal(await waiting, false);
  // Settled first: the signal's later abort changes nothing, and the timer is gone (sanitizers).
  const late = new AbortController();
  assert.equal(await settleWithin(Promise.reject(new Error("no")), 60_000, late.signal), true);
  late.abort();
});

Deno.test("sequentialCaps() keeps a reserve for each stop after the current one, within one deadline", () => {
  const capOf = sequentialCaps(1000, 4);
  // Three stops after the first: 3 x 125 ms held back for them.
  assert.ok(Math.abs(capOf(0) - 625) < 50, String(capOf(0)));
  assert.ok(Math.abs(capOf(2) - 875) < 50, String(capOf(2)));
  assert.ok(capOf(3) <= 1000 && capOf(3) > 950, String(capOf(3)));
  assert.equal(sequentialCaps(Infinity, 3)(0), Infinity);
  assert.equal(sequentialCaps(0, 3)(0), 0);
});
