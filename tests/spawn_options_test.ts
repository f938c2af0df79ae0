// The spawn option checks on their own: every message they throw, and the
// defaults they fill in, without starting any actor.
import assert from "node:assert/strict";
import { builtinTransports } from "../transports/preset.ts";
import {
  actorName,
  checkPoolSize,
  checkSpawn,
  DEFAULT_CAPACITY,
  type SpawnChecks,
} from "../actors/system/_spawn_options.ts";
import type { SpawnOptions } from "../actors/hosts/spawn_options.ts";

const MODULE = "file:///app/actors/counter.ts";

function checks(extra: Partial<SpawnChecks> = {}): SpawnChecks {
  let n = 6;
  return {
    transports: new Map(builtinTransports().map((factory) => [factory.name, factory])),
    unstableWorkerOptions: true,
    taken: (id) => id === "busy",
    nextNumber: () => ++n,
    ...extra,
  };
}

function refusal(options: SpawnOptions, extra: Partial<SpawnChecks> = {}): Error {
  try {
    checkSpawn(MODULE, options, checks(extra));
  } catch (error) {
    return error as Error;
  }
  throw new Error("checkSpawn accepted the options");
}

Deno.test("checkSpawn() fills in the defaults: an id from the module's name, a worker over the queue", () => {
  const spawn = checkSpawn(MODULE, {}, checks());
  assert.equal(spawn.url, MODULE);
  assert.equal(spawn.id, "counter-7");
  assert.equal(spawn.capacity, DEFAULT_CAPACITY);
  assert.equal(spawn.overflow, "backpressure");
  assert.equal(spawn.hostKind, "worker");
  assert.equal(spawn.factory.name, "queue");
  assert.equal(typeof spawn.launch, "function");
  const process = checkSpawn(MODULE, { id: "p", host: "process" }, checks());
  assert.equal(process.id, "p");
  assert.equal(process.factory.name, "pipe");
});

Deno.test("checkSpawn() refuses a bad mailbox with a RangeError or a TypeError saying what it received", () => {
  const capacity = refusal({ capacity: 0 });
  assert.ok(capacity instanceof RangeError);
  assert.equal(
    capacity.message,
    "Cannot spawn actor: mailbox capacity must be a positive integer, received 0",
  );
  const overflow = refusal({ overflow: "spill" as "fail" });
  assert.ok(overflow instanceof TypeError);
  assert.equal(
    overflow.message,
    'Cannot spawn actor: overflow must be one of backpressure, drop-oldest, drop-newest, fail, received "spill"',
  );
});

Deno.test("checkSpawn() refuses a taken id, an unknown host and a transport that cannot reach the host", () => {
  assert.deepEqual(
    refusal({ id: "busy" }),
    new TypeError('Cannot spawn actor: the id "busy" is taken'),
  );
  assert.deepEqual(
    refusal({ host: "fiber" as "worker" }),
    new TypeError(
      'Cannot spawn actor: host must be "worker", "process" or "thread", received "fiber"',
    ),
  );
  assert.deepEqual(
    refusal({ transport: "pigeon" }),
    new TypeError(
      'Cannot spawn actor: unknown transport "pigeon", known transports are queue, pipe, ring, socket',
    ),
  );
  assert.deepEqual(
    refusal({ host: "process", transport: "queue" }),
    new TypeError(
      "Cannot spawn actor: the queue transport cannot reach a process actor (it reaches worker actors only)",
    ),
  );
});

Deno.test("checkSpawn() refuses worker permissions without --unstable-worker-options, and says what to do", () => {
  assert.deepEqual(
    refusal({ permissions: { read: true } }, { unstableWorkerOptions: false }),
    new TypeError(
      'Cannot spawn worker actor with permissions: Deno must run with --unstable-worker-options (or "worker-options" in deno.json\'s "unstable" list); add it, or use host: "process", which needs none',
    ),
  );
  assert.equal(
    checkSpawn(MODULE, { permissions: { read: true } }, checks()).hostKind,
    "worker",
  );
});

Deno.test("checkSpawn() refuses an option the host would ignore, naming the hosts that take it", () => {
  // A worker shares its process's heap, environment and directory: a limit
  // given there would be ignored, and the whole process would die of OOM.
  for (
    const [option, value] of [["maxHeapMiB", 64], ["env", { A: "1" }], ["cwd", "/tmp"], [
      "escalate",
      true,
    ]] as const
  ) {
    const error = refusal({ [option]: value });
    assert.ok(error instanceof TypeError, option);
    assert.match(error.message, new RegExp(`^Cannot spawn actor: ${option} needs host "`), option);
  }
  assert.match(
    refusal({ maxHeapMiB: 64 }).message,
    /maxHeapMiB needs host "thread" or "process"; a worker actor shares its process's heap/,
  );
  for (const option of ["env", "cwd", "escalate"] as const) {
    const value = option === "env" ? { A: "1" } : option === "cwd" ? "/tmp" : true;
    assert.match(
      refusal({ host: "thread", [option]: value }).message,
      new RegExp(`^Cannot spawn actor: ${option} needs host "process"`),
    );
  }
  // Where the host takes it, the option passes.
  assert.equal(checkSpawn(MODULE, { host: "thread", maxHeapMiB: 64 }, checks()).hostKind, "thread");
  assert.equal(
    checkSpawn(MODULE, { host: "process", env: { A: "1" }, cwd: "/tmp" }, checks()).hostKind,
    "process",
  );
  // undefined (and escalate: false, the default) is the same as not given.
  assert.equal(checkSpawn(MODULE, { escalate: false }, checks()).hostKind, "worker");
  assert.equal(
    checkSpawn(MODULE, { maxHeapMiB: undefined, env: undefined }, checks()).hostKind,
    "worker",
  );
});

Deno.test("checkSpawn() checks a process actor's permissions, environment, heap and args", () => {
  assert.match(
    refusal({ host: "process", permissions: { fly: true } as never }).message,
    /^Cannot spawn actor: unknown permission "fly"/,
  );
  assert.deepEqual(
    refusal({ host: "process", env: { "A=B": "x" } }),
    new TypeError('Cannot spawn actor: env entries must be NAME: "value" strings, received A=B=x'),
  );
  assert.deepEqual(
    refusal({ host: "process", maxHeapMiB: 8 }),
    new RangeError("Cannot spawn actor: maxHeapMiB must be an integer of at least 16, received 8"),
  );
  const shared = new Int32Array(new SharedArrayBuffer(4));
  assert.deepEqual(
    refusal({ host: "process", args: { data: [1, new Map([["k", shared]])] } }),
    new TypeError(
      "Cannot spawn process actor: args.data.1.<entry 0>.1 holds shared memory (a SharedArrayBuffer), which processes cannot share in Deno; use a worker actor, or send the data as messages",
    ),
  );
  // A worker actor shares memory: its args may hold some.
  assert.equal(checkSpawn(MODULE, { args: { shared } }, checks()).hostKind, "worker");
});

Deno.test("checkPoolSize() and actorName() give a pool's size and the name default ids start with", () => {
  assert.equal(checkPoolSize(3), 3);
  assert.equal(checkPoolSize(undefined), navigator.hardwareConcurrency);
  assert.throws(
    () => checkPoolSize(1.5),
    new RangeError("Cannot start pool: size must be a positive integer, received 1.5"),
  );
  assert.equal(actorName("file:///app/workers/resize.worker.ts"), "resize.worker");
  assert.equal(actorName("file:///app/"), "actor");
});
