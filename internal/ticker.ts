// A repeating timer for the actor's side of the runtime that does not use
// setTimeout/setInterval: in Deno 2.9 the first timer of an isolate loads
// Deno's Node timers (node:timers and the Node internals behind it), about
// 10 ms and a few MiB that a fresh worker or process would pay before its
// first reply. `Atomics.waitAsync` with a timeout is a timer V8 runs itself.
//
// Like an unref'd timer, a waiting ticker does not keep the event loop alive;
// an actor always has its channel's receive pending while it runs.

/**
 * Calls `tick` every `ms` milliseconds until the returned function is called.
 * `tick` must not throw.
 */
export function every(ms: number, tick: () => void): () => void {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const loop = async () => {
    while (Atomics.load(cell, 0) === 0) {
      const wait = Atomics.waitAsync(cell, 0, 0, ms);
      if (wait.async) await wait.value;
      if (Atomics.load(cell, 0) !== 0) return;
      tick();
    }
  };
  void loop();
  return () => {
    Atomics.store(cell, 0, 1);
    Atomics.notify(cell, 0);
  };
}

/**
 * Calls `fire` once, after `ms` milliseconds, unless the returned function is
 * called first; like {@linkcode every}, a timer that reads no timers global
 * and does not keep the event loop alive (use it where something else, a
 * pending read say, already does). `fire` must not throw.
 */
export function after(ms: number, fire: () => void): () => void {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const wait = Atomics.waitAsync(cell, 0, 0, ms);
  if (!wait.async) {
    // Only for a timeout of 0 or less: fire on the next turn, as a timer would.
    queueMicrotask(() => Atomics.load(cell, 0) === 0 && fire());
  } else {
    void wait.value.then(() => {
      if (Atomics.load(cell, 0) === 0) fire();
    });
  }
  return () => {
    Atomics.store(cell, 0, 1);
    Atomics.notify(cell, 0);
  };
}
