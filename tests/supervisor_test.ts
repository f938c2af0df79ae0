import assert from "node:assert/strict";
import {
  ActorRestartingError,
  ActorSystem,
  type BackoffOptions,
  type LifecycleEvent,
  type Supervisor,
  SupervisorGaveUpError,
  type SupervisorSpec,
} from "../mod.ts";
import type { crashy } from "./fixtures/crashy_actor.ts";
import { abortWhileStarting, HELD_INIT, within } from "./_helpers.ts";

const CRASHY = new URL("./fixtures/crashy_actor.ts", import.meta.url);
const child = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  module: CRASHY,
  ...extra,
});

/** Collects events until `until` returns true for one (bounded). */
async function collect(
  events: AsyncIterableIterator<LifecycleEvent>,
  until: (event: LifecycleEvent, seen: LifecycleEvent[]) => boolean,
): Promise<LifecycleEvent[]> {
  const seen: LifecycleEvent[] = [];
  await within(
    (async () => {
      // next() rather than for-await: leaving a for-await loop would end the subscription.
      while (true) {
        const { value, done } = await events.next();
        if (done) throw new Error(`The events ended; saw ${JSON.stringify(seen)}`);
        seen.push(value);
        if (until(value, seen)) return;
      }
    })(),
    15_000,
    "lifecycle events",
  );
  return seen;
}

/** Makes a child crash; the ask rejects with ActorCrashedError. */
async function crash(_system: ActorSystem, root: Supervisor, id: string): Promise<void> {
  await root.ref<typeof crashy>(id).ask("crash").catch(() => {});
}

async function start(spec: SupervisorSpec) {
  const system = await ActorSystem.start();
  const events = system.events();
  const root = await system.supervise(spec);
  return { system, events, root };
}

Deno.test("one-for-one restarts only the crashed child, and its ref stays valid", async () => {
  const { system, events, root } = await start({
    id: "root",
    backoff: false,
    children: [child("a"), child("b")],
  });
  try {
    const a = root.ref<typeof crashy>("a"), b = root.ref<typeof crashy>("b");
    const [a1, b1] = [await a.ask("incarnation"), await b.ask("incarnation")];
    await crash(system, root, "a");
    await collect(events, (e) => e.type === "restarted" && e.id === "a");
    assert.notEqual(await a.ask("incarnation"), a1);
    assert.equal(await b.ask("incarnation"), b1);
    assert.equal(a.stats().restarts, 1);
    assert.equal(system.stats().events.restarted, 1);
  } finally {
    await system.shutdown();
  }
});

Deno.test("one-for-all stops the others in reverse order and restarts all in order", async () => {
  const { system, events, root } = await start({
    id: "root",
    strategy: "one-for-all",
    backoff: false,
    children: [child("a"), child("b"), child("c")],
  });
  try {
    const refs = ["a", "b", "c"].map((id) => root.ref<typeof crashy>(id));
    const before = await Promise.all(refs.map((r) => r.ask("incarnation")));
    await crash(system, root, "a");
    const seen = await collect(
      events,
      (_, all) => all.filter((e) => e.type === "restarted").length === 3,
    );
    assert.deepEqual(
      seen.filter((e) => e.type === "stopped").map((e) => e.id),
      ["c", "b"],
    );
    assert.deepEqual(
      seen.filter((e) => e.type === "restarted").map((e) => e.id),
      ["a", "b", "c"],
    );
    const after = await Promise.all(refs.map((r) => r.ask("incarnation")));
    after.forEach((incarnation, i) => assert.notEqual(incarnation, before[i]));
  } finally {
    await system.shutdown();
  }
});

for (const strategy of ["one-for-all", "rest-for-one"] as const) {
  Deno.test(`${strategy}: a temporary sibling stopped for the restart is not started again (OTP)`, async () => {
    const { system, events, root } = await start({
      id: "root",
      strategy,
      backoff: false,
      children: [child("a"), child("temp", { restart: "temporary" }), child("c")],
    });
    try {
      await crash(system, root, "a");
      const seen = await collect(
        events,
        (_, all) => all.filter((e) => e.type === "restarted").length === 2,
      );
      assert.deepEqual(
        seen.filter((e) => e.type === "restarted").map((e) => e.id),
        ["a", "c"],
      );
      const temp = root.ref<typeof crashy>("temp");
      assert.equal(temp.stats().state, "stopped");
      await assert.rejects(temp.ask("incarnation"), { name: "ActorStoppedError" });
      assert.equal(typeof await root.ref<typeof crashy>("c").ask("incarnation"), "string");
    } finally {
      await system.shutdown();
    }
  });
}

Deno.test("rest-for-one restarts the crashed child and those after it", async () => {
  const { system, events, root } = await start({
    id: "root",
    strategy: "rest-for-one",
    backoff: false,
    children: [child("a"), child("b"), child("c")],
  });
  try {
    const refs = ["a", "b", "c"].map((id) => root.ref<typeof crashy>(id));
    const before = await Promise.all(refs.map((r) => r.ask("incarnation")));
    await crash(system, root, "b");
    const seen = await collect(
      events,
      (_, all) => all.filter((e) => e.type === "restarted").length === 2,
    );
    assert.deepEqual(seen.filter((e) => e.type === "restarted").map((e) => e.id), ["b", "c"]);
    const after = await Promise.all(refs.map((r) => r.ask("incarnation")));
    assert.equal(after[0], before[0]);
    assert.notEqual(after[1], before[1]);
    assert.notEqual(after[2], before[2]);
  } finally {
    await system.shutdown();
  }
});

Deno.test("a supervisor past its restart intensity stops its children and fails upward", async () => {
  const { system, events, root } = await start({
    id: "root",
    maxRestarts: 2,
    periodMs: 60_000,
    backoff: false,
    children: [child("a"), child("b")],
  });
  try {
    for (let i = 0; i < 3; i++) await crash(system, root, "a");
    const error = await within(root.done.catch((e) => e), 15_000, "give up");
    assert.ok(error instanceof SupervisorGaveUpError);
    assert.equal(error.crashes.length, 3);
    assert.ok(error.crashes.every((c) => c.id === "a" && c.reason === "error"));
    assert.match(error.message, /crashed on purpose/);
    const seen = await collect(events, (e) => e.type === "gave-up");
    assert.ok(seen.some((e) => e.type === "stopped" && e.id === "b"));
    assert.equal(system.stats().actors, 0);
    assert.equal(system.stats().supervisors, 0);
  } finally {
    await system.shutdown();
  }
});

Deno.test("transient and temporary children are not restarted when their policy says so", async () => {
  const { system, root } = await start({
    id: "root",
    backoff: false,
    children: [child("t", { restart: "transient" }), child("tmp", { restart: "temporary" })],
  });
  try {
    const tmp = root.ref<typeof crashy>("tmp");
    const watched = system.watch(tmp);
    await tmp.ask("crash").catch(() => {});
    assert.equal((await within(watched, 10_000, "temporary exit")).reason, "error");
    const t = root.ref<typeof crashy>("t");
    assert.equal((await t.stop()).reason, "normal");
    assert.equal(system.stats().events.restarted ?? 0, 0);
    assert.equal(system.stats().actors, 0);
  } finally {
    await system.shutdown();
  }
});

Deno.test("a nested supervisor that gives up is restarted by its parent", async () => {
  const { system, events, root } = await start({
    id: "root",
    backoff: false,
    children: [
      { id: "sub", maxRestarts: 0, backoff: false, children: [child("x"), child("y")] },
      child("z"),
    ],
  });
  try {
    const x = root.ref<typeof crashy>("x"), y = root.ref<typeof crashy>("y");
    const [x1, y1] = [await x.ask("incarnation"), await y.ask("incarnation")];
    await crash(system, root, "x");
    const seen = await collect(events, (e) => e.type === "restarted" && e.id === "sub");
    assert.ok(seen.some((e) => e.type === "gave-up" && e.id === "sub"));
    const x2 = root.ref<typeof crashy>("x"), y2 = root.ref<typeof crashy>("y");
    assert.notEqual(await x2.ask("incarnation"), x1);
    assert.notEqual(await y2.ask("incarnation"), y1);
  } finally {
    await system.shutdown();
  }
});

/**
 * Crashes child "a" of a supervisor with `backoff` `times` times; returns each
 * restart's stated delay, checking it passed between the crash and the restart.
 */
async function restartDelays(backoff: BackoffOptions, times: number): Promise<number[]> {
  const { system, events, root } = await start({
    id: "root",
    maxRestarts: times + 5,
    periodMs: 60_000,
    backoff,
    children: [child("a")],
  });
  try {
    const delays: number[] = [];
    for (let i = 0; i < times; i++) {
      await crash(system, root, "a");
      const seen = await collect(events, (e) => e.type === "restarted");
      const crashed = seen.find((e) => e.type === "crashed")!;
      const restarted = seen.find((e) => e.type === "restarted")!;
      assert.equal(restarted.type, "restarted");
      if (restarted.type === "restarted") delays.push(restarted.delayMs);
      assert.ok(restarted.time - crashed.time >= delays[i]!, "restarted before its delay");
    }
    return delays;
  } finally {
    await system.shutdown();
  }
}

Deno.test("backoff doubles the delay before each restart, measured", async () => {
  assert.deepEqual(await restartDelays({ initialMs: 40, maxMs: 1000, jitter: false }, 2), [40, 80]);
});

Deno.test("jittered backoff stays between initialMs and maxMs", async () => {
  const delays = await restartDelays({ initialMs: 20, maxMs: 50, jitter: true }, 5);
  assert.equal(delays.length, 5);
  for (const delay of delays) assert.ok(delay >= 20 && delay <= 50, `delay ${delay} ms`);
});

Deno.test("a supervised ref's stop() with a signal kills the incarnation when aborted", async () => {
  const { system, root } = await start({
    id: "root",
    children: [child("stuck", { shutdown: 60_000 })],
  });
  try {
    const ref = root.ref<typeof crashy>("stuck");
    const pending = ref.ask("hang").catch((error) => error);
    const controller = new AbortController();
    const stopping = ref.stop({ signal: controller.signal });
    controller.abort(new Error("enough"));
    const exit = await within(stopping, 10_000, "the aborted stop");
    assert.equal(exit.reason, "killed");
    assert.ok((await pending) instanceof Error);
  } finally {
    await system.shutdown();
  }
});

Deno.test("messages sent while a child restarts wait for it, or fail if it says so", async () => {
  const { system, events, root } = await start({
    id: "root",
    backoff: { initialMs: 100, jitter: false },
    children: [child("waits"), child("fails", { whileRestarting: "fail" })],
  });
  try {
    const waits = root.ref<typeof crashy>("waits");
    const fails = root.ref<typeof crashy>("fails");
    const first = await waits.ask("incarnation");
    await waits.ask("crash").catch(() => {});
    await collect(events, (e) => e.type === "crashed" && e.id === "waits");
    assert.equal(waits.stats().state, "restarting");
    const during = waits.ask("incarnation");
    assert.notEqual(await within(during, 10_000, "ask during restart"), first);
    await fails.ask("crash").catch(() => {});
    await collect(events, (e) => e.type === "crashed" && e.id === "fails");
    await assert.rejects(fails.ask("get"), ActorRestartingError);
  } finally {
    await system.shutdown();
  }
});

Deno.test("a crashed process child is restarted like a worker child", async () => {
  const { system, events, root } = await start({
    id: "root",
    backoff: false,
    children: [child("p", { host: "process", onLog: () => {} })],
  });
  try {
    const p = root.ref<typeof crashy>("p");
    const pid = await p.ask("pid");
    Deno.kill(pid, "SIGKILL");
    const seen = await collect(events, (e) => e.type === "restarted");
    const crashed = seen.find((e) => e.type === "crashed");
    assert.ok(crashed?.type === "crashed" && /SIGKILL/.test(crashed.error?.message ?? ""));
    assert.notEqual(await p.ask("pid"), pid);
  } finally {
    await system.shutdown();
  }
});

Deno.test("a supervisor stops its children in reverse start order", async () => {
  const { system, events, root } = await start({
    id: "root",
    children: [child("a"), child("b"), child("c")],
  });
  await root.stop();
  const seen = await collect(
    events,
    (_, all) => all.filter((e) => e.type === "stopped").length === 3,
  );
  assert.deepEqual(seen.filter((e) => e.type === "stopped").map((e) => e.id), ["c", "b", "a"]);
  await root.done;
  await system.shutdown();
});

Deno.test("supervise() rejects malformed specs with clear errors", async () => {
  await using system = await ActorSystem.start();
  await assert.rejects(
    system.supervise({ id: "r", strategy: "all-for-none" as "one-for-all", children: [] }),
    /strategy must be one-for-one, one-for-all or rest-for-one/,
  );
  await assert.rejects(
    system.supervise({ id: "r", children: [child("a"), child("a")] }),
    /the id "a" is used twice/,
  );
  await assert.rejects(
    system.supervise({ id: "r", maxRestarts: -1, children: [] }),
    /maxRestarts must be an integer of at least 0/,
  );
});

Deno.test("system.shutdown({ timeout }) caps a supervised child's own shutdown timeout", async () => {
  const system = await ActorSystem.start();
  const root = await system.supervise({
    id: "root",
    children: [child("slow", { shutdown: 60_000 }), child("quick")],
  });
  // Block "slow" in a handler that never returns, then shut down with a short deadline.
  void root.ref<typeof crashy>("slow").ask("hang").catch(() => {});
  // "quick" stops well within 3 s even on a loaded machine; "slow" would take 60 s.
  const result = await within(system.shutdown({ timeout: 3000 }), 20_000, "capped shutdown");
  assert.deepEqual(result.stopped.sort(), ["quick"]);
  assert.deepEqual(result.terminated, ["slow"]);
});

Deno.test("supervise() aborted while its children start stops those started and rejects with the reason", async () => {
  await using system = await ActorSystem.start();
  // "a" starts; "b", inside a nested supervisor, is held in its init until the abort.
  await abortWhileStarting(system, (args, signal) =>
    system.supervise({
      id: "root",
      children: [
        { id: "a", module: HELD_INIT, args },
        { id: "inner", children: [{ id: "b", module: HELD_INIT, args }] },
        { id: "c", module: HELD_INIT, args },
      ],
    }, { signal }));
});

Deno.test("supervise() with an aborted signal rejects at once and starts nothing", async () => {
  await using system = await ActorSystem.start();
  const reason = new Error("aborted before");
  await assert.rejects(
    system.supervise({ id: "root", children: [child("a")] }, { signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
  assert.equal(system.stats().spawned, 0);
  assert.equal(system.stats().supervisors, 0);
});

Deno.test("a supervisor started with a signal restarts its children after the signal aborts", async () => {
  const controller = new AbortController();
  await using system = await ActorSystem.start();
  const events = system.events();
  const root = await system.supervise(
    { id: "root", backoff: false, children: [child("a")] },
    { signal: controller.signal },
  );
  controller.abort(new Error("too late to matter"));
  await crash(system, root, "a");
  await collect(events, (e) => e.type === "restarted" && e.id === "a");
  assert.equal(await root.ref<typeof crashy>("a").ask("get"), 0);
  await events.return?.();
});

Deno.test("supervisor.stop({ signal }) kills the children still stopping when aborted", async () => {
  const { system, events, root } = await start({
    id: "root",
    children: [
      child("first"),
      { id: "inner", children: [child("stuck", { shutdown: 60_000 })] },
      child("quick"),
    ],
  });
  try {
    const stuck = root.ref<typeof crashy>("stuck");
    const pending = stuck.ask("hang").catch((error) => error);
    const watched = system.watch(stuck);
    const controller = new AbortController();
    const stopping = root.stop({ signal: controller.signal });
    // "quick" stops through its sentinel; "stuck" hangs in its handler until the abort.
    await collect(events, (e) => e.type === "stopped" && e.id === "quick");
    controller.abort(new Error("enough"));
    await within(stopping, 10_000, "the aborted supervisor stop");
    assert.equal((await watched).reason, "killed");
    assert.ok((await pending) instanceof Error);
    assert.equal(root.ref("first").stats().state, "stopped");
    assert.equal(system.stats().events.restarted ?? 0, 0);
    assert.equal(system.stats().actors, 0);
    await root.done;
  } finally {
    await events.return?.();
    await system.shutdown();
  }
});

Deno.test("a group restart does not start again a sibling stopped for good through its ref", async () => {
  const { system, events, root } = await start({
    id: "root",
    strategy: "one-for-all",
    backoff: false,
    children: [child("a"), child("b"), child("c")],
  });
  try {
    const c = root.ref<typeof crashy>("c");
    assert.equal((await c.stop()).reason, "normal");
    await crash(system, root, "a");
    const seen = await collect(
      events,
      (_, all) => all.filter((e) => e.type === "restarted").length === 2,
    );
    assert.deepEqual(seen.filter((e) => e.type === "restarted").map((e) => e.id), ["a", "b"]);
    assert.equal(await root.ref<typeof crashy>("b").ask("get"), 0);
    assert.equal(c.stats().state, "stopped");
    assert.equal(system.stats().actors, 2);
  } finally {
    await events.return?.();
    await system.shutdown();
  }
});
