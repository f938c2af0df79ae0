/**
 * Waiting with a bound: the abort, deadline and bounded-wait helpers every
 * layer uses, written once. Timeouts reject with the platform's own reason
 * (a `DOMException` named `"TimeoutError"`, as `AbortSignal.timeout` gives),
 * aborts with `signal.reason`.
 *
 * @module
 */

/** Does nothing: a listener or a `catch` for what is already handled elsewhere. */
export function noop(): void {}

/** The reason a timed-out wait rejects with: the one `AbortSignal.timeout()` uses. */
export function timeoutError(): DOMException {
  return new DOMException("Signal timed out.", "TimeoutError");
}

/** Calls `fire` once after `ms` milliseconds; the function it returns cancels that. */
export type Schedule = (ms: number, fire: () => void) => () => void;

function setTimer(ms: number, fire: () => void): () => void {
  const timer = setTimeout(fire, ms);
  return () => clearTimeout(timer);
}

/**
 * Calls `onEnd` once, with the reason, when `signal` aborts (its reason) or
 * after `timeout` milliseconds (a {@linkcode timeoutError}), whichever comes
 * first; at once (synchronously) when `signal` is already aborted. Returns a
 * function that cancels both; call it when the wait ends another way.
 *
 * @param signal Aborts the wait, when given.
 * @param timeout Milliseconds until the wait times out, when given.
 * @param onEnd Called at most once, with why the wait ended.
 * @param timeoutReason Makes the reason of a timeout; default {@linkcode timeoutError}
 * (a wait that says what it waited for gives a `TimeoutError` with a message of its own).
 * @param schedule Starts the timer; default `setTimeout`, which keeps the event loop alive.
 * @returns A function that stops watching.
 */
export function watchDeadline(
  signal: AbortSignal | undefined,
  timeout: number | undefined,
  onEnd: (reason: unknown) => void,
  timeoutReason: () => unknown = timeoutError,
  schedule: Schedule = setTimer,
): () => void {
  if (signal === undefined && timeout === undefined) return noop;
  let done = false;
  let cancelTimer: (() => void) | undefined;
  const cancel = () => {
    done = true;
    cancelTimer?.();
    signal?.removeEventListener("abort", onAbort);
  };
  const end = (reason: unknown) => {
    if (done) return;
    cancel();
    onEnd(reason);
  };
  const onAbort = () => end(signal!.reason);
  if (signal?.aborted) {
    end(signal.reason);
    return cancel;
  }
  if (timeout !== undefined) cancelTimer = schedule(timeout, () => end(timeoutReason()));
  signal?.addEventListener("abort", onAbort, { once: true });
  return cancel;
}

let boundSchedule: Schedule = setTimer;

/**
 * Makes the bound of every later {@linkcode settleWithin} use `schedule`
 * instead of `setTimeout`. A process actor's bootstrap sets a timer that
 * reads no timers global (`after` of `internal/ticker.ts`): its bounds sit on
 * its way out (a transport's close waiting for its last frames to leave),
 * where the first `setTimeout` of the process would load Deno's Node timers
 * first, about 5 ms of its exit. Such a timer does not keep the event loop
 * alive; in a process actor a pending read or write does while it matters.
 *
 * @param schedule The timer the bounds use from now on.
 * @returns The timer they used until now.
 */
export function boundWith(schedule: Schedule): Schedule {
  const before = boundSchedule;
  boundSchedule = schedule;
  return before;
}

/**
 * Resolves once `promise` settles (fulfilled or rejected: a rejection is
 * swallowed) or `ms` milliseconds have passed, whichever comes first. The
 * bound runs on `setTimeout`, or on the timer {@linkcode boundWith} set.
 *
 * @param promise What to wait for.
 * @param ms The bound, in milliseconds.
 * @param signal Ends the wait early, as the bound passing does.
 * @returns `true` when `promise` settled in time, `false` when the bound passed (or the signal aborted) first.
 */
export function settleWithin(
  promise: Promise<unknown>,
  ms: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const { promise: result, resolve } = Promise.withResolvers<boolean>();
  const stop = watchDeadline(signal, ms, () => resolve(false), timeoutError, boundSchedule);
  promise.then(() => true, () => true).then((settled) => {
    stop();
    resolve(settled);
  });
  return result;
}

/**
 * Resolves with what `promise` gives, or with `undefined` once `ms`
 * milliseconds have passed first; rejects as `promise` does, in time.
 *
 * @param promise What to wait for.
 * @param ms The bound, in milliseconds.
 * @returns The value, or `undefined` when the bound passed first.
 */
export async function valueWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) =>
    timer = setTimeout(() => resolve(undefined), ms)
  );
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves with what `promise` gives, or rejects with `signal.reason` when
 * `signal` aborts first (at once if it is already aborted). `promise` goes
 * on; a rejection it gives after the abort is handled.
 *
 * @param promise What to wait for.
 * @param signal Aborts the wait, when given.
 * @returns What `promise` resolves with.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const cancel = watchDeadline(signal, undefined, (reason) => {
      promise.catch(noop);
      reject(reason);
    });
    promise.then(
      (value) => {
        cancel();
        resolve(value);
      },
      (error) => {
        cancel();
        reject(error);
      },
    );
  });
}

/**
 * The caps of `count` stops made one after another out of one deadline `cap`
 * ms away (a supervisor's children in reverse order). Call it just before
 * each stop, with that stop's index: it may take what is left of the
 * deadline, less a reserve of `cap / (2 * count)` for each stop after it. So
 * the whole fits in `cap`, and one stop that hangs still leaves each one
 * after it a fair share to run its stop hook.
 *
 * @param cap Milliseconds for all of them (`Infinity`: no deadline).
 * @param count How many stops.
 * @returns The cap of stop `index`, read when it starts.
 */
export function sequentialCaps(cap: number, count: number): (index: number) => number {
  if (cap === Infinity) return () => Infinity;
  const deadline = performance.now() + cap;
  const reserve = count > 0 ? cap / (2 * count) : 0;
  return (index) => Math.max(0, deadline - performance.now() - reserve * (count - 1 - index));
}
