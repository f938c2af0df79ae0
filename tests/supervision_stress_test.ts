// A seeded random supervision-tree stress (FAULTS.md row F26): a tree of
// depth 3 and breadth 3 (13 supervisors, 27 worker actors) with random
// strategies, intensities and backoffs, crashed by message at random while
// three senders keep telling and asking through the 27 refs taken at the
// start. The seed is printed; `TROUPE_STRESS_SEED=<n>` replays its decisions
// (the tree and the sequence of sends and crashes; the interleaving is the
// machine's), `TROUPE_STRESS_MS` sets how long the crashes go on.
//
// It asserts: every ask settles, once, with its own reply or an error the
// contract allows (ActorCrashedError for an incarnation that died with it;
// ActorRestartingError under "fail"); no message is handled by an older
// incarnation than one that handled an earlier message through the same ref;
// no tell or ask throws synchronously; no ref is ever stopped (stale); every
// ref answers once the crashes end; the stop is clean and leaves nothing.
import assert from "node:assert/strict";
import {
  ActorCrashedError,
  type ActorRef,
  ActorRestartingError,
  ActorSystem,
  type RestartStrategy,
  type SupervisorSpec,
} from "../mod.ts";
import type { restartActor } from "./fixtures/restart_actor.ts";
import { eventually, within } from "./_helpers.ts";

const RESTART = new URL("./fixtures/restart_actor.ts", import.meta.url);
const BREADTH = 3, DEPTH = 3;

/** mulberry32: a small seeded generator, enough to replay the decisions. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Leaf {
  id: string;
  slot: number;
  whileRestarting: "wait" | "fail";
}

/** The random tree: supervisors down to `DEPTH`, then actors. */
function tree(rand: () => number, flags: SharedArrayBuffer) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const strategies: RestartStrategy[] = ["one-for-one", "one-for-all", "rest-for-one"];
  const leaves: Leaf[] = [];
  const level = (id: string, depth: number): SupervisorSpec => ({
    id,
    strategy: pick(strategies),
    // The root never gives up; below it, supervisors give up often, so that
    // nested supervisors are restarted by their parents.
    maxRestarts: depth === 1 ? 100_000 : pick([0, 1, 2, 3]),
    periodMs: 1000,
    backoff: pick([false, { initialMs: 1, maxMs: 10 }, { initialMs: 5, maxMs: 20 }]),
    restart: pick(["permanent", "transient"] as const),
    children: Array.from({ length: BREADTH }, (_, i) => {
      const childId = `${id}.${i + 1}`;
      if (depth < DEPTH) return level(childId, depth + 1);
      const leaf: Leaf = {
        id: childId,
        slot: leaves.length,
        whileRestarting: rand() < 0.25 ? "fail" : "wait",
      };
      leaves.push(leaf);
      return {
        id: childId,
        module: RESTART,
        args: { flags, slot: leaf.slot },
        whileRestarting: leaf.whileRestarting,
        restart: pick(["permanent", "transient"] as const),
        transport: rand() < 0.15 ? "pipe" : "queue",
      };
    }),
  });
  return { spec: level("s", 1), leaves };
}

Deno.test("seeded random supervision-tree stress: refs never go stale, every ask settles once", async () => {
  const seed = Number(Deno.env.get("TROUPE_STRESS_SEED") ?? Math.floor(Math.random() * 2 ** 31));
  const crashMs = Number(Deno.env.get("TROUPE_STRESS_MS") ?? 3000);
  console.log(`supervision stress: seed ${seed} (replay with TROUPE_STRESS_SEED=${seed})`);
  const say = (what: string) => `${what} (seed ${seed})`;
  const rand = random(seed);
  const flags = new SharedArrayBuffer(4 * 4 * BREADTH ** DEPTH);
  const incarnations = new Int32Array(flags);
  const { spec, leaves } = tree(rand, flags);

  const system = await ActorSystem.start();
  const events = system.events();
  let gaveUp = 0, restarted = 0;
  const counting = (async () => {
    for await (const event of events) {
      if (event.type === "gave-up") gaveUp++;
      if (event.type === "restarted") restarted++;
    }
  })();
  const root = await system.supervise(spec);
  const refs: ActorRef<typeof restartActor>[] = leaves.map((leaf) => root.ref(leaf.id));

  const problems: string[] = [];
  const settled: Promise<void>[] = [];
  /** Per ref, the incarnation that answered each ask, by send order. */
  const answered: { seq: number; incarnation: number }[][] = leaves.map(() => []);
  const counts = { asks: 0, replies: 0, crashedAsks: 0, refused: 0, tells: 0, crashes: 0 };
  let seq = 0;

  const checkState = (i: number) => {
    const state = refs[i]!.stats().state;
    if (state === "stopped" || state === "stopping") problems.push(`${leaves[i]!.id} is ${state}`);
  };
  const allowed = (i: number, error: unknown) =>
    error instanceof ActorCrashedError ||
    (error instanceof ActorRestartingError && leaves[i]!.whileRestarting === "fail");

  const ask = (i: number): Promise<void> => {
    const n = seq++;
    counts.asks++;
    checkState(i);
    let reply: Promise<{ incarnation: number; n: number }>;
    try {
      reply = refs[i]!.ask("echo", n);
    } catch (error) {
      problems.push(`ask to ${leaves[i]!.id} threw synchronously: ${error}`);
      return Promise.resolve();
    }
    let times = 0;
    const done = reply.then(
      (value) => {
        times++;
        counts.replies++;
        if (value.n !== n) problems.push(`${leaves[i]!.id}: ask ${n} got the reply to ${value.n}`);
        answered[i]!.push({ seq: n, incarnation: value.incarnation });
      },
      (error) => {
        times++;
        if (error instanceof ActorCrashedError) counts.crashedAsks++;
        else counts.refused++;
        if (!allowed(i, error)) problems.push(`ask ${n} to ${leaves[i]!.id}: ${error}`);
      },
    ).then(() => {
      if (times !== 1) problems.push(`ask ${n} settled ${times} times`);
    });
    settled.push(done);
    return done;
  };
  const tell = (i: number, name: "tick" | "crash"): void => {
    counts.tells++;
    checkState(i);
    try {
      const told = refs[i]!.tell(name);
      settled.push(told.then(() => {}, (error) => {
        if (!allowed(i, error)) problems.push(`tell ${name} to ${leaves[i]!.id}: ${error}`);
      }));
    } catch (error) {
      problems.push(`tell to ${leaves[i]!.id} threw synchronously: ${error}`);
    }
  };

  const pickRef = () => Math.floor(rand() * refs.length);
  const until = Date.now() + crashMs;
  let nextCrash = Date.now();
  /** One sender: bursts of tells and asks to random refs, each burst awaited. */
  const sender = async (crasher: boolean) => {
    while (Date.now() < until) {
      if (crasher && Date.now() >= nextCrash) {
        counts.crashes++;
        tell(pickRef(), "crash");
        nextCrash = Date.now() + 20 + rand() * 150;
      }
      const burst: Promise<void>[] = [];
      for (let k = 0; k < 6; k++) {
        const i = pickRef();
        if (rand() < 0.5) tell(i, "tick");
        else burst.push(ask(i));
      }
      await Promise.all(burst);
    }
  };
  let failure: unknown;
  try {
    await within(
      Promise.all([sender(true), sender(false), sender(false)]),
      crashMs + 60_000,
      say("the senders"),
    );
    await within(Promise.all(settled), 60_000, say("every ask and tell to settle"));
    const report = () =>
      `${problems.length} problems, the first: ${JSON.stringify(problems.slice(0, 10), null, 1)}`;
    assert.equal(problems.length, 0, say(report()));

    // Once the crashes end, every ref answers: those that wait at once, those
    // that fail once their child is up again.
    for (const [i, ref] of refs.entries()) {
      const state = () => ref.stats().state;
      await eventually(() => ["running", "stopped"].includes(state()), 30_000, say(ref.id));
      assert.equal(state(), "running", say(`${ref.id} is stale`));
      const { incarnation } = await within(ref.ask("echo", -1), 30_000, say(`${ref.id} answers`));
      answered[i]!.push({ seq: Infinity, incarnation });
      assert.ok(incarnation <= Atomics.load(incarnations, i * 4), say(`${ref.id}'s incarnation`));
    }
    for (const [i, list] of answered.entries()) {
      const inOrder = list.slice().sort((a, b) => a.seq - b.seq);
      for (let k = 1; k < inOrder.length; k++) {
        if (inOrder[k]!.incarnation < inOrder[k - 1]!.incarnation) {
          problems.push(
            `${leaves[i]!.id}: ask ${inOrder[k]!.seq} was handled by incarnation ` +
              `${inOrder[k]!.incarnation} after ask ${inOrder[k - 1]!.seq} by ` +
              `${inOrder[k - 1]!.incarnation}`,
          );
        }
      }
    }
    await within(root.stop(), 30_000, say("the supervisor's stop"));
    for (const ref of refs) assert.equal(ref.stats().state, "stopped", say(ref.id));
    console.log(
      `supervision stress: ${JSON.stringify(counts)}, ${restarted} restarts, ` +
        `${gaveUp} supervisors gave up`,
    );
    assert.equal(problems.length, 0, say(report()));
    assert.ok(counts.replies > 0 && restarted > 0, say("the stress did something"));
  } catch (error) {
    // The shutdown below is then not clean (the tree was not stopped): keep
    // this error, the first thing that went wrong, as the test's failure.
    failure = error;
    throw error;
  } finally {
    const result = await system.shutdown({ timeout: 5000 });
    await counting;
    if (failure !== undefined) {
      console.error(`shutdown after the failure: ${JSON.stringify(result)}`);
    } else {
      assert.equal(result.clean, true, say(`a clean shutdown: ${JSON.stringify(result)}`));
      assert.equal(system.stats().actors, 0, say("actors left"));
      assert.equal(system.stats().leaked, 0, say("leaked threads"));
    }
  }
});
