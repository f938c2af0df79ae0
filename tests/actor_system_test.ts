import assert from "node:assert/strict";
import {
  ActorCrashedError,
  ActorError,
  ActorStoppedError,
  ActorSystem,
  type DeadLetter,
  MessageNotCloneableError,
  SpawnError,
  UnknownMessageError,
} from "../mod.ts";
import type { probe } from "./fixtures/probe_actor.ts";
import type { concurrent } from "./fixtures/concurrent_actor.ts";
import type { first } from "./fixtures/two_actors.ts";
import { Flags, within } from "./_helpers.ts";

const PROBE = new URL("./fixtures/probe_actor.ts", import.meta.url);

Deno.test("ActorRef.tell() and ask() round-trip typed messages through a worker", async () => {
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof probe>(PROBE);
  await ref.tell("inc", 40);
  await ref.tell("inc", 2);
  const count: number = await ref.ask("get");
  assert.equal(count, 42);
  const value = {
    map: new Map<string, unknown>([["a", new Set([1n, 2n])]]),
    date: new Date(0),
    bytes: new Uint8Array([1, 2, 3]),
    nothing: undefined,
    nested: [{ deep: [null, "x"] }],
  };
  assert.deepEqual(await ref.ask("echo", value), value);
});

Deno.test("ActorRef.ask() rejects with a TimeoutError after its timeout and forgets the ask", async () => {
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof probe>(PROBE);
  await assert.rejects(
    ref.ask("hang", undefined, { timeout: 30 }),
    (error: unknown) => error instanceof DOMException && error.name === "TimeoutError",
  );
  assert.equal(ref.stats().pendingAsks, 0);
  await system.shutdown({ timeout: 100 });
});

Deno.test("ActorRef.ask() rejects with the abort reason when aborted", async () => {
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof probe>(PROBE);
  const controller = new AbortController();
  const asked = ref.ask("hang", undefined, { signal: controller.signal });
  const reason = new Error("caller gave up");
  controller.abort(reason);
  await assert.rejects(asked, (error) => error === reason);
  assert.equal(ref.stats().pendingAsks, 0);
  await assert.rejects(
    ref.ask("get", undefined, { signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
  assert.equal(ref.stats().pendingAsks, 0);
  await system.shutdown({ timeout: 100 });
});

Deno.test("ActorSystem.shutdown() terminates an actor that misses the deadline and names it", async () => {
  const flags = new Flags();
  const system = await ActorSystem.start();
  const good = await system.spawn<typeof probe>(PROBE, {
    id: "good",
    args: { flags: flags.buffer },
  });
  const hung = await system.spawn<typeof probe>(PROBE, { id: "hung" });
  await good.tell("inc", 1);
  const pending = hung.ask("hang");
  pending.catch(() => {}); // it rejects when hung is terminated, before the shutdown returns
  // Long enough for "good" to drain and stop on a loaded machine; "hung" never will.
  const result = await system.shutdown({ timeout: 3000 });
  assert.deepEqual(result.stopped, ["good"]);
  assert.deepEqual(result.terminated, ["hung"]);
  assert.equal(result.clean, false);
  assert.ok(flags.stopHookRan);
  await assert.rejects(pending, ActorStoppedError);
  assert.equal(system.stats().actors, 0);
  assert.strictEqual(await system.shutdown(), result);
});

Deno.test("await using stops the system and its actors at the end of the scope", async () => {
  const flags = new Flags();
  {
    await using system = await ActorSystem.start();
    const ref = await system.spawn<typeof probe>(PROBE, { args: { flags: flags.buffer } });
    await ref.tell("inc", 3);
  }
  assert.ok(flags.stopHookRan);
  assert.equal(flags.countAtStop, 3);
});

Deno.test("a handler that throws rejects the ask with ActorError and the actor keeps running", async () => {
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof probe>(PROBE);
  const error = await ref.ask("fail", "bad input").catch((e) => e);
  assert.ok(error instanceof ActorError);
  assert.equal(error.remote.name, "TypeError");
  assert.equal(error.remote.message, "bad input");
  assert.match(error.remote.stack ?? "", /probe_actor\.ts/);
  assert.equal(error.messageName, "fail");
  const later = await ref.ask("failLater", "async bad").catch((e) => e);
  assert.ok(later instanceof ActorError);
  assert.equal(later.remote.name, "RangeError");
  assert.equal(later.remote.cause?.message, "root cause");
  assert.equal((later.cause as Error).name, "RangeError");
  await ref.tell("inc", 1);
  assert.equal(await ref.ask("get"), 1);
});

Deno.test("a tell whose handler throws is reported as a dead letter", async () => {
  const letters: DeadLetter[] = [];
  await using system = await ActorSystem.start({ onDeadLetter: (l) => letters.push(l) });
  const ref = await system.spawn<typeof probe>(PROBE);
  await ref.tell("fail", "oops");
  assert.equal(await ref.ask("get"), 0);
  assert.equal(letters.length, 1);
  assert.equal(letters[0]!.messageName, "fail");
  assert.match(letters[0]!.reason, /oops/);
});

for (const transport of ["queue", "ring", "pipe"] as const) {
  Deno.test(`[${transport}] tells sent in one tick keep their order, runs to one handler included`, async () => {
    const letters: DeadLetter[] = [];
    await using system = await ActorSystem.start({ onDeadLetter: (l) => letters.push(l) });
    const ref = await system.spawn<typeof probe>(PROBE, { transport });
    // One batch: runs of tells to one handler travel folded, and are handled
    // one by one, in order, among the messages around them.
    const sent = [
      ref.tell("record", 1),
      ref.tell("record", 2),
      ref.tell("fail", "first"),
      ref.tell("fail", "second"),
      ref.tell("record", 3),
      ref.tell("inc", 5),
      ref.tell("inc", 6),
      ref.tell("record", 4),
      ref.tell("record", 5),
      ref.tell("record", 6),
    ];
    const seen = ref.ask("seen");
    await Promise.all(sent);
    assert.deepEqual(await seen, [1, 2, 3, 4, 5, 6]);
    assert.equal(await ref.ask("get"), 11);
    assert.deepEqual(letters.map((l) => [l.messageName, l.reason.includes("first")]), [
      ["fail", true],
      ["fail", false],
    ]);
    assert.match(letters[1]!.reason, /second/);
    assert.equal(ref.stats().handled, 12);
  });
}

Deno.test("an unknown message name is an UnknownMessageError at the sender", async () => {
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof probe>(PROBE);
  // deno-lint-ignore no-explicit-any
  const untyped = ref as any;
  assert.throws(() => untyped.tell("nope", 1), UnknownMessageError);
  const error = await untyped.ask("nope").catch((e: unknown) => e);
  assert.ok(error instanceof UnknownMessageError);
  assert.ok(error.known.includes("inc"));
  assert.equal(ref.stats().pendingAsks, 0);
});

Deno.test("a payload that cannot be cloned is refused at the sender, naming the field", async () => {
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof probe>(PROBE);
  assert.throws(
    () => ref.tell("echo", { user: { save: () => {} } }),
    (error: unknown) =>
      error instanceof MessageNotCloneableError && error.path === "payload.user.save",
  );
  const conn = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const error = await ref.ask("echo", [1, conn]).catch((e) => e);
    assert.ok(error instanceof MessageNotCloneableError);
    assert.equal(error.path, "payload[1]");
    assert.match(error.message, /Listener/);
  } finally {
    conn.close();
  }
  assert.throws(() => ref.tell("echo", Symbol("s")), MessageNotCloneableError);
  assert.equal(ref.stats().pendingAsks, 0);
  assert.equal(await ref.ask("get"), 0);
});

Deno.test("a reply that cannot be cloned rejects the ask and the actor keeps running", async () => {
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof probe>(PROBE);
  const error = await ref.ask("badReply").catch((e) => e);
  assert.ok(error instanceof ActorError);
  assert.equal(error.remote.name, "MessageNotCloneableError");
  assert.match(error.message, /reply\.callback/);
  const classy = await ref.ask("connection").catch((e) => e);
  assert.ok(classy instanceof ActorError);
  assert.match(classy.message, /Connection/);
  assert.equal(await ref.ask("get"), 0);
});

Deno.test("messages to a stopped actor fail with ActorStoppedError and count as dead letters", async () => {
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof probe>(PROBE);
  await ref.stop();
  assert.throws(() => ref.tell("inc", 1), ActorStoppedError);
  await assert.rejects(ref.ask("get"), ActorStoppedError);
  assert.equal(system.stats().deadLetters, 1);
});

Deno.test("spawn() rejects with SpawnError when the module cannot load or init throws", async () => {
  await using system = await ActorSystem.start();
  const missing = await system.spawn(new URL("./fixtures/missing.ts", import.meta.url))
    .catch((e) => e);
  assert.ok(missing instanceof SpawnError);
  assert.match(String((missing.cause as Error).message), /missing\.ts/);
  const throwing = await system.spawn(new URL("./fixtures/throws_on_load.ts", import.meta.url))
    .catch((e) => e);
  assert.ok(throwing instanceof SpawnError);
  assert.match(throwing.message, /refuses to load/);
  const empty = await system.spawn(new URL("./fixtures/no_actor.ts", import.meta.url))
    .catch((e) => e);
  assert.ok(empty instanceof SpawnError);
  assert.match(empty.message, /exports no actor/);
  const init = await system.spawn<typeof probe>(PROBE, { args: { failInit: true } })
    .catch((e) => e);
  assert.ok(init instanceof SpawnError);
  assert.equal((init.cause as Error).name, "RangeError");
  assert.match(init.message, /init refused/);
  assert.equal(system.stats().actors, 0);
});

Deno.test("spawn() picks one of several exported actors with the export option", async () => {
  await using system = await ActorSystem.start();
  const url = new URL("./fixtures/two_actors.ts", import.meta.url);
  await assert.rejects(system.spawn(url), /several actors/);
  const ref = await system.spawn<typeof first>(url, { export: "second" });
  assert.equal(await ref.ask("name"), "second");
});

Deno.test("spawn() validates its options with clear errors", async () => {
  await using system = await ActorSystem.start();
  await assert.rejects(
    system.spawn(PROBE, { capacity: 0 }),
    /capacity must be a positive integer, received 0/,
  );
  await assert.rejects(
    system.spawn(PROBE, { overflow: "explode" as unknown as "fail" }),
    /overflow must be one of/,
  );
  await assert.rejects(
    system.spawn(PROBE, { transport: "carrier-pigeon" }),
    /unknown transport "carrier-pigeon"/,
  );
  await system.spawn(PROBE, { id: "taken" });
  await assert.rejects(system.spawn(PROBE, { id: "taken" }), /id "taken" is taken/);
});

for (
  const [handler, pattern] of [["crashSoon", /uncaught in a timer/], [
    "rejectSoon",
    /unhandled rejection/,
  ]] as const
) {
  Deno.test(`an uncaught error in an actor (${handler}) crashes only that actor`, async () => {
    await using system = await ActorSystem.start();
    const ref = await system.spawn<typeof probe>(PROBE);
    const error = await within(ref.ask(handler).catch((e) => e), 15_000, "crash report");
    assert.ok(error instanceof ActorCrashedError);
    assert.equal(error.reason, "error");
    assert.match(String((error.cause as Error).message), pattern);
    const exit = await ref.exited;
    assert.equal(exit.reason, "error");
    assert.equal(system.stats().exits.error, 1);
  });
}

for (const handler of ["closeSelf", "exitProcess"] as const) {
  Deno.test(`an actor that ends its own worker (${handler}) is reported as exited`, async () => {
    await using system = await ActorSystem.start();
    const ref = await system.spawn<typeof probe>(PROBE);
    const error = await within(ref.ask(handler, 3).catch((e) => e), 15_000, "exit report");
    assert.ok(error instanceof ActorCrashedError);
    assert.equal(error.reason, "exited");
    assert.equal((await ref.exited).reason, "exited");
  });
}

Deno.test("an actor whose thread stops answering is declared dead by the heartbeat watchdog", async () => {
  const flags = new Flags();
  await using system = await ActorSystem.start({ heartbeatMs: 40 });
  const ref = await system.spawn<typeof probe>(PROBE, { args: { flags: flags.buffer } });
  await ref.tell("freezeLater");
  const exit = await within(ref.exited, 15_000, "heartbeat watchdog");
  assert.equal(exit.reason, "lost-heartbeat");
  flags.open(); // let the frozen thread go so terminate() can end it
});

for (const transport of ["queue", "pipe", "ring", "socket"]) {
  Deno.test(`[${transport}] a parent stalled past the heartbeat limit does not declare its healthy actors dead`, async () => {
    await using system = await ActorSystem.start({ heartbeatMs: 20 });
    const ref = await system.spawn<typeof probe>(PROBE, { transport });
    assert.equal(await ref.ask("echo", 1), 1);
    // This thread is busy for ten heartbeat limits; the actor's heartbeats queue up meanwhile.
    const until = performance.now() + 600;
    while (performance.now() < until) { /* the stall under test */ }
    assert.equal(await within(ref.ask("echo", 2), 15_000, "an ask after the stall"), 2);
    assert.equal(system.stats().actors, 1);
  });
}

Deno.test("an actor that opts in to concurrency handles two messages at once", async () => {
  const flags = new Flags();
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof concurrent>(
    new URL("./fixtures/concurrent_actor.ts", import.meta.url),
    { args: flags.buffer },
  );
  const both = [ref.ask("enter"), ref.ask("enter")];
  await flags.until(3, 2);
  flags.open();
  assert.deepEqual(await within(Promise.all(both), 15_000, "both handlers"), [2, 2]);
});

Deno.test("shutdown completes past a worker stuck in a synchronous loop, and names it leaked", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./fixtures/spin_service.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  assert.equal(output.code, 1, new TextDecoder().decode(output.stderr));
  assert.deepEqual(JSON.parse(text), {
    stopped: ["fine"],
    terminated: ["stuck"],
    leaked: ["stuck"],
    statsLeaked: 1,
  });
});

Deno.test("ActorRef.stop() with a signal terminates the actor at once when aborted", async () => {
  await using system = await ActorSystem.start();
  const ref = await system.spawn<typeof probe>(PROBE, { id: "stuck" });
  const pending = ref.ask("hang").catch((error) => error);
  const controller = new AbortController();
  const stopping = ref.stop({ timeout: 60_000, signal: controller.signal });
  controller.abort(new Error("enough"));
  const exit = await within(stopping, 10_000, "the aborted stop");
  assert.equal(exit.reason, "killed");
  assert.equal(exit.error?.message, "enough");
  assert.ok((await pending) instanceof Error);
});

Deno.test("ActorSystem.shutdown() with a signal terminates what is still stopping when aborted", async () => {
  const system = await ActorSystem.start();
  const hung = await system.spawn<typeof probe>(PROBE, { id: "hung" });
  const pending = hung.ask("hang").catch((error) => error);
  const controller = new AbortController();
  const shutting = system.shutdown({ timeout: 60_000, signal: controller.signal });
  controller.abort();
  const result = await within(shutting, 10_000, "the aborted shutdown");
  assert.deepEqual(result.failed, ["hung"]);
  assert.equal(result.exits[0]!.reason, "killed");
  assert.equal(result.clean, false);
  assert.ok((await pending) instanceof Error);
});

for (const host of ["worker", "thread"]) {
  Deno.test(`a script whose ${host} actor spins still ends, and stderr says which actor and why`, async () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./fixtures/spin_script.ts", import.meta.url).pathname, host],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Without the fix it never ends: the watchdog kills it and the test fails.
    const watchdog = setTimeout(() => child.kill("SIGKILL"), 15_000);
    const output = await child.output();
    clearTimeout(watchdog);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.signal, null, `killed by the watchdog; stderr: ${stderr}`);
    // Deno almost never stops the spinning thread, and then Troupe ends the process with 1. On a
    // loaded machine the thread has once ended late, after its leak was reported (a fresh-clone
    // CI run): then the process ends on its own with 0, and must not claim otherwise.
    const exiting = /troupe: exiting: the thread of "stuck" cannot be stopped/.test(stderr);
    assert.equal(output.code, exiting ? 1 : 0, stderr);
    assert.match(stderr, /If the thread still runs once the system has shut down/);
    assert.match(new TextDecoder().decode(output.stdout), /end of script/);
    assert.match(
      stderr,
      new RegExp(`troupe: ${host} actor "stuck" still runs after it was terminated`),
    );
    assert.match(stderr, /host: "process"/);
  });
}

Deno.test("with exitOnLeak: false the spinning actor is named on stderr and the process stays", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./fixtures/spin_script.ts", import.meta.url).pathname, "stay"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (!text.includes("Deno.exit()")) {
      const { value, done } = await within(reader.read(), 15_000, "the leak on stderr");
      if (done) break;
      text += value;
    }
    assert.match(text, /worker actor "stuck" still runs after it was terminated/);
    assert.match(text, /End the process with Deno\.exit\(\)/);
  } finally {
    child.kill("SIGKILL");
    await reader.cancel();
    await child.status;
  }
});

Deno.test("new ActorSystem() from plain JavaScript says to use ActorSystem.start()", () => {
  // TypeScript refuses the private constructor; `deno run` does not type-check.
  const Constructor = ActorSystem as unknown as new () => unknown;
  assert.throws(() => new Constructor(), {
    name: "TypeError",
    message: "Cannot construct an ActorSystem with new: use `await ActorSystem.start(options)`",
  });
});
