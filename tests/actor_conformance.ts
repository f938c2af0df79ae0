/**
 * The actor-level conformance suite: the same cases on every transport and
 * host, through the public API. `tests/actor_conformance_test.ts` lists the
 * targets; a new transport or host is one more entry there.
 *
 * Guarantees checked: typed round trip of every value kind, FIFO for 100,000
 * tells, payloads from 1 byte to 4 MiB, each overflow policy under a stuck
 * consumer, stop draining, ask timeout and abort, handler errors, refused
 * payloads at the sender, and an actor dying with asks in flight.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  ActorCrashedError,
  ActorError,
  type ActorHostKind,
  type ActorRef,
  ActorStoppedError,
  ActorSystem,
  type DeadLetter,
  FrameTooLargeError,
  type LifecycleEvent,
  MailboxFullError,
  MessageNotCloneableError,
  type SpawnOptions,
} from "../mod.ts";
import type { TransportFactory } from "../transports/mod.ts";
import type { conformance } from "./fixtures/conformance_actor.ts";
import { Flags, within } from "./_helpers.ts";

/** One transport on one host. */
export interface ConformanceTarget {
  /** The transport's name, as `spawn` takes it. */
  transport: string;
  /** Where the actor runs. */
  host: ActorHostKind;
  /** Builds the transport with a small frame limit, for the oversized-payload case. */
  small?: (maxFrameBytes: number) => TransportFactory;
}

const ACTOR = new URL("./fixtures/conformance_actor.ts", import.meta.url);

type Ref = ActorRef<typeof conformance>;

/** Opens, releases and reads the actor in a way that works on its host. */
class Harness {
  readonly system: ActorSystem;
  readonly target: ConformanceTarget;
  readonly letters: DeadLetter[] = [];
  #flags = new Flags();
  #logs: string[] = [];
  #pid: number | undefined;

  private constructor(system: ActorSystem, target: ConformanceTarget) {
    this.system = system;
    this.target = target;
  }

  static async start(target: ConformanceTarget): Promise<Harness> {
    let harness: Harness | undefined = undefined;
    const system = await ActorSystem.start({ onDeadLetter: (l) => harness!.letters.push(l) });
    harness = new Harness(system, target);
    return harness;
  }

  async spawn(options: Omit<SpawnOptions, "args"> = {}): Promise<Ref> {
    // A worker or a thread shares memory with this one; a process does not.
    const worker = this.target.host !== "process";
    const ref = await this.system.spawn<typeof conformance>(ACTOR, {
      host: this.target.host,
      transport: this.target.transport,
      ...(worker ? { args: { flags: this.#flags.buffer } } : {}),
      onLog: (line) => this.#logs.push(line),
      ...options,
    });
    if (!worker) this.#pid = await ref.ask("pid");
    return ref;
  }

  /** Lets the actor's `block` handler return. */
  open(): void {
    if (this.target.host !== "process") this.#flags.open();
    else Deno.kill(this.#pid!, "SIGUSR1");
  }

  /** What the stop hook saw: the count and the recorded values. */
  stopReport(): { count: number; seen: number[] } {
    if (this.target.host !== "process") {
      assert.ok(this.#flags.stopHookRan, "the stop hook did not run");
      return { count: this.#flags.countAtStop, seen: this.#flags.recorded };
    }
    const line = this.#logs.find((l) => l.startsWith("STOP "));
    assert.ok(line, "the stop hook did not run");
    return JSON.parse(line.slice(5));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.system.shutdown({ timeout: 1000 });
  }
}

const VALUES: Record<string, unknown> = {
  object: { a: 1, b: "two", c: [true, null] },
  nested: { deep: [{ deeper: [1, [2, [3]]] }] },
  map: new Map<unknown, unknown>([["k", 1], [2, { v: "x" }]]),
  set: new Set([1, "a", 3n]),
  date: new Date(1_700_000_000_000),
  bytes: new Uint8Array([0, 1, 254, 255]),
  floats: new Float64Array([0.5, -0, Infinity]),
  buffer: new Uint8Array([9, 8, 7]).buffer,
  bigint: -(2n ** 70n),
  undefined: undefined,
  error: new RangeError("outer", { cause: new Error("inner") }),
  unicode: "héllo, wörld ✓ 🎭",
};

/**
 * Registers the suite for one target.
 *
 * @param target The transport and host to run on.
 */
export function actorConformance(target: ConformanceTarget): void {
  const name = `${target.transport} on ${target.host}`;
  const test = (title: string, fn: (h: Harness) => Promise<void>) =>
    Deno.test(`[${name}] ${title}`, async () => {
      await using harness = await Harness.start(target);
      await fn(harness);
    });

  test("every value kind round-trips through ask", async (h) => {
    const ref = await h.spawn();
    for (const [kind, value] of Object.entries(VALUES)) {
      const back = await ref.ask("echo", value);
      if (value instanceof Error) {
        assert.ok(back instanceof Error, kind);
        assert.equal(back.message, value.message);
        assert.equal((back.cause as Error).message, "inner");
      } else assert.deepEqual(back, value, kind);
    }
  });

  test("100,000 tells arrive in order, none lost", async (h) => {
    const ref = await h.spawn();
    for (let i = 0; i < 100_000; i++) await ref.tell("seq", i);
    assert.deepEqual(await ref.ask("seqReport"), { received: 100_000, outOfOrder: 0 });
  });

  test("payloads of 1 B, 1 KiB, 1 MiB and 4 MiB arrive whole", async (h) => {
    const ref = await h.spawn();
    for (const size of [1, 1024, 1 << 20, 4 << 20]) {
      const bytes = new Uint8Array(size).map((_, i) => i * 7);
      assert.equal(await ref.ask("size", bytes), size);
      const back = await ref.ask("echo", bytes) as Uint8Array;
      assert.equal(back.byteLength, size);
      assert.equal(back[size - 1], bytes[size - 1]);
    }
  });

  test('overflow "fail" throws MailboxFullError once the mailbox is full', async (h) => {
    const ref = await h.spawn({ capacity: 4, overflow: "fail" });
    await ref.tell("block");
    for (let i = 0; i < 3; i++) await ref.tell("record", i);
    assert.throws(() => ref.tell("record", 3), MailboxFullError);
    await assert.rejects(ref.ask("get"), MailboxFullError);
    h.open();
    assert.equal((await ref.stop()).reason, "normal");
    assert.deepEqual(h.stopReport().seen, [0, 1, 2]);
  });

  test('overflow "drop-newest" drops new messages as dead letters', async (h) => {
    const ref = await h.spawn({ capacity: 4, overflow: "drop-newest" });
    await ref.tell("block");
    for (let i = 0; i < 10; i++) await ref.tell("record", i);
    h.open();
    await ref.stop();
    assert.deepEqual(h.stopReport().seen, [0, 1, 2]);
    assert.equal(h.letters.filter((l) => l.reason === "mailbox full").length, 7);
  });

  test('overflow "drop-oldest" keeps the newest waiting messages', async (h) => {
    const ref = await h.spawn({ capacity: 4, overflow: "drop-oldest" });
    await ref.tell("block");
    for (let i = 0; i < 12; i++) await ref.tell("record", i);
    h.open();
    await ref.stop();
    assert.deepEqual(h.stopReport().seen, [0, 1, 2, 8, 9, 10, 11]);
    const dropped = h.letters.filter((l) => l.reason === "mailbox full");
    assert.equal(dropped.length, 5, JSON.stringify(h.letters));
  });

  test('overflow "backpressure" holds tells until there is room', async (h) => {
    const ref = await h.spawn({ capacity: 4 });
    await ref.tell("block");
    for (let i = 0; i < 3; i++) await ref.tell("record", i);
    let resolved = 0;
    const waiting = [3, 4, 5, 6].map((i) => ref.tell("record", i).then(() => void resolved++));
    assert.equal(ref.stats().waiting, 4);
    assert.throws(() => ref.tell("record", 99), MailboxFullError);
    await Promise.resolve();
    assert.equal(resolved, 0);
    h.open();
    await within(Promise.all(waiting), 10_000, "waiting tells");
    await ref.stop();
    assert.deepEqual(h.stopReport().seen, [0, 1, 2, 3, 4, 5, 6]);
  });

  test("a tell waiting for room gives up on its signal or timeout and is never delivered", async (h) => {
    const ref = await h.spawn({ capacity: 4 });
    await ref.tell("block");
    // The fourth waits for the credit of "block" (it left the mailbox to run):
    // then the mailbox holds four and nothing leaves it until open().
    for (let i = 0; i < 4; i++) await ref.tell("record", i);
    const controller = new AbortController();
    const reason = new Error("no longer needed");
    const aborted = ref.tell("record", 4, { signal: controller.signal });
    const timedOut = ref.tell("record", 5, { timeout: 20 });
    const kept = ref.tell("record", 6, { timeout: 60_000 });
    kept.catch(() => {}); // awaited below; handled if an assertion fails first
    assert.equal(ref.stats().waiting, 3);
    controller.abort(reason);
    await assert.rejects(aborted, (e) => e === reason);
    await assert.rejects(
      timedOut,
      (e: unknown) => e instanceof DOMException && e.name === "TimeoutError",
    );
    assert.equal(ref.stats().waiting, 1);
    // Already given up: not sent, not even queued.
    await assert.rejects(ref.tell("record", 7, { signal: controller.signal }), (e) => e === reason);
    assert.equal(ref.stats().waiting, 1);
    h.open();
    await within(kept, 10_000, "the tell that kept waiting");
    await ref.stop();
    assert.deepEqual(h.stopReport().seen, [0, 1, 2, 3, 6]);
    assert.equal(h.letters.length, 0, "a tell given up is no dead letter");
  });

  test("stop() handles the 10,000 tells sent before it, then runs the stop hook", async (h) => {
    const ref = await h.spawn();
    for (let i = 0; i < 10_000; i++) await ref.tell("inc", 1);
    const exit = await ref.stop();
    assert.equal(exit.reason, "normal");
    assert.equal(exit.handled, 10_000 + (target.host === "process" ? 1 : 0));
    assert.equal(h.stopReport().count, 10_000);
    await assert.rejects(ref.ask("get"), ActorStoppedError);
  });

  test("ask() times out and aborts with the platform's reasons", async (h) => {
    const ref = await h.spawn();
    await assert.rejects(
      ref.ask("hang", undefined, { timeout: 20 }),
      (e: unknown) => e instanceof DOMException && e.name === "TimeoutError",
    );
    const reason = new Error("gave up");
    const controller = new AbortController();
    const asked = ref.ask("get", undefined, { signal: controller.signal });
    controller.abort(reason);
    await assert.rejects(asked, (e) => e === reason);
    assert.equal(ref.stats().pendingAsks, 0);
  });

  test("a handler error comes back as ActorError and the actor keeps running", async (h) => {
    const ref = await h.spawn();
    const error = await ref.ask("fail", "bad").catch((e) => e);
    assert.ok(error instanceof ActorError);
    assert.equal(error.remote.name, "TypeError");
    assert.match(error.remote.stack ?? "", /conformance_actor\.ts/);
    await ref.tell("inc", 2);
    assert.equal(await ref.ask("get"), 2);
  });

  // A finished ask's reply leaves before the actor starts its next handler, however long that
  // one runs: here it holds the actor's thread for a second, and the first reply must not wait.
  for (const first of ["echo", "later"] as const) {
    test(`the reply of ${first === "echo" ? "a" : "an async"} handler does not wait for the long handler after it`, async (h) => {
      const ref = await h.spawn();
      const STALL_MS = 1000;
      await ref.ask("get"); // warm: the first ask pays for compiling the paths
      const start = performance.now();
      const replied = ref.ask(first, "first").then(() => performance.now() - start);
      const stalled = ref.ask("stall", STALL_MS);
      const [ms, held] = await within(Promise.all([replied, stalled]), 15_000, "both replies");
      assert.ok(held >= STALL_MS * 0.9, `the stall held the actor's thread only ${held} ms`);
      // Generous: the reply is due at once; it is late only if it waited for the stall.
      assert.ok(ms < STALL_MS / 2, `the first reply took ${ms.toFixed(1)} ms`);
    });
  }

  test("a payload that cannot be sent is refused at the sender", async (h) => {
    const ref = await h.spawn();
    assert.throws(() => ref.tell("echo", { f: () => 1 }), MessageNotCloneableError);
    const moved = new Uint8Array(8);
    structuredClone(moved.buffer, { transfer: [moved.buffer] });
    assert.throws(() => ref.tell("echo", { moved }), /payload\.moved.*detached/);
    await assert.rejects(ref.ask("echo", [moved.buffer]), MessageNotCloneableError);
    assert.equal(await ref.ask("get"), 0);
  });

  test("a payload nested 100,000 deep is refused with the typed error, the first time too", async (h) => {
    const ref = await h.spawn();
    let deep: unknown = {};
    for (let i = 0; i < 100_000; i++) deep = { v: deep };
    for (let attempt = 0; attempt < 2; attempt++) {
      assert.throws(() => ref.tell("echo", deep), MessageNotCloneableError);
      await assert.rejects(ref.ask("echo", deep), MessageNotCloneableError);
    }
    assert.equal(await ref.ask("get"), 0);
  });

  if (target.small) {
    const small = target.small;
    test("a payload over the frame limit fails at the sender with FrameTooLargeError", async (h) => {
      const ref = await h.spawn({ transport: small(64 * 1024) });
      const big = new Uint8Array(100 * 1024);
      assert.throws(() => ref.tell("size", big), FrameTooLargeError);
      const error = await ref.ask("size", big).catch((e) => e);
      assert.ok(error instanceof FrameTooLargeError);
      assert.ok(error.size >= 100 * 1024 && error.limit === 64 * 1024, error.message);
      assert.equal(await ref.ask("size", new Uint8Array(1000)), 1000);
    });

    test("a tell that fits the frame limit only before it is wrapped fails at the sender", async (h) => {
      const LIMIT = 64 * 1024;
      const ref = await h.spawn({ transport: small(LIMIT) });
      const fits = (n: number): boolean => {
        try {
          ref.tell("take", new Uint8Array(n));
          return true;
        } catch (error) {
          assert.ok(error instanceof FrameTooLargeError, String(error));
          assert.ok(error.size > LIMIT && error.limit === LIMIT, error.message);
          return false;
        }
      };
      // The largest payload the sender accepts, found by bisection: the envelope
      // and the encoding take some of the limit.
      let [low, high] = [0, LIMIT + 1];
      let accepted = 0;
      while (high - low > 1) {
        const middle = (low + high) >>> 1;
        if (fits(middle)) {
          low = middle;
          accepted += middle;
        } else high = middle;
      }
      assert.ok(
        low < LIMIT,
        `a ${low}-byte payload cannot fit a ${LIMIT}-byte frame with its envelope`,
      );
      assert.equal(fits(low + 1), false, "one byte more than the largest is refused");
      assert.equal(fits(low), true, "the largest is accepted again");
      accepted += low;
      // Everything accepted was handled, nothing became a dead letter.
      assert.equal(await ref.ask("get"), accepted);
      assert.deepEqual(h.letters, []);
    });

    test("a reply over the frame limit fails that ask only, at the actor", async (h) => {
      const ref = await h.spawn({ transport: small(64 * 1024) });
      const error = await ref.ask("make", 100 * 1024).catch((e) => e);
      assert.ok(error instanceof ActorError, String(error));
      assert.equal(error.remote.name, "FrameTooLargeError");
      assert.equal((await ref.ask("make", 1000)).byteLength, 1000);
      await ref.tell("inc", 1);
      assert.equal(await ref.ask("get"), 1);
    });
  }

  for (const how of ["exit", "close"] as const) {
    if (how === "close" && target.host === "process") continue; // a process has no self.close()
    test(`an actor whose handler calls ${how === "exit" ? "Deno.exit()" : "self.close()"} is seen to end, and its asks reject`, async (h) => {
      const ref = await h.spawn();
      const pending = [ref.ask("quit", how), ref.ask("get")];
      const results = await within(Promise.allSettled(pending), 10_000, "the exit to be seen");
      for (const result of results) {
        assert.equal(result.status, "rejected");
        assert.ok((result as PromiseRejectedResult).reason instanceof ActorCrashedError);
      }
      const exit = await within(ref.exited, 10_000, "the exit");
      assert.notEqual(exit.reason, "normal");
    });
  }

  test("a tell that crashes its actor is named in the crash and counted as a dead letter", async (h) => {
    const events = h.system.events();
    const ref = await h.spawn();
    await ref.tell("inc", 1);
    await ref.tell("crashSoon");
    const exit = await within(ref.exited, 10_000, "the crash");
    assert.equal(exit.reason, "error");
    assert.deepEqual(exit.handling, ["crashSoon"]);
    let crashed: LifecycleEvent | undefined;
    for await (const event of events) {
      if (event.type === "crashed") {
        crashed = event;
        break;
      }
    }
    assert.deepEqual(crashed?.type === "crashed" && crashed.handling, ["crashSoon"]);
    // The crashing tell is a dead letter, by name; the handled one is not lost.
    assert.deepEqual(
      h.letters.map((l) => [l.messageName, l.count]),
      [["crashSoon", 1]],
      JSON.stringify(h.letters),
    );
  });

  test("an actor that dies with asks in flight rejects them all", async (h) => {
    const ref = await h.spawn();
    const pending = [ref.ask("crashSoon"), ref.ask("get"), ref.ask("get")];
    const results = await within(Promise.allSettled(pending), 10_000, "crash report");
    for (const result of results) {
      assert.equal(result.status, "rejected");
      assert.ok((result as PromiseRejectedResult).reason instanceof ActorCrashedError);
    }
    assert.notEqual((await ref.exited).reason, "normal");
  });
}
