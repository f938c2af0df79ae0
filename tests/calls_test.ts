// The parent's side of the calls actors make on system queues and semaphores,
// served by a CallServer over a real WorkQueue and Semaphore for actors that
// exist only as ids (no worker, no process).
import assert from "node:assert/strict";
import { CallServer } from "../actors/system/_calls.ts";
import type { SystemCall } from "../actors/core/protocol.ts";
import type { LifecycleEvent } from "../actors/core/events.ts";
import { Semaphore } from "../actors/sync/semaphore.ts";
import { WorkQueue } from "../actors/sync/work_queue.ts";
import { within } from "./_helpers.ts";

function setup() {
  const jobs = new WorkQueue<unknown>("jobs", { capacity: 4 });
  const db = new Semaphore(1, { name: "db" });
  const owners = new Map([["a", 1], ["b", 2]]);
  const events: LifecycleEvent[] = [];
  const server = new CallServer({
    queues: new Map([["jobs", jobs]]),
    semaphores: new Map([["db", db]]),
    ownerOf: (id) => owners.get(id),
    emit: (event) => events.push(event),
  });
  /** The actor `id` ends, as its cell would report it. */
  const end = (id: string, terminated = false) => {
    const owner = owners.get(id)!;
    owners.delete(id);
    server.ended(id, owner, terminated);
  };
  const call = (actorId: string, ...c: SystemCall) => server.serve(c, actorId);
  return { jobs, db, events, server, end, call };
}

Deno.test("CallServer serves an actor's put, get, taskDone and join on a system queue", async () => {
  const { jobs, call } = setup();
  await call("a", "queue", "put", ["jobs", "x", undefined]);
  assert.equal(jobs.size, 1);
  assert.equal(await call("b", "queue", "get", ["jobs", 1000]), "x");
  assert.equal(jobs.unfinished, 1);
  const joined = call("a", "queue", "join", ["jobs", 1000]);
  await call("b", "queue", "taskDone", ["jobs"]);
  await within(joined, 5000, "join");
  assert.equal(jobs.unfinished, 0);
});

Deno.test("CallServer ends an ended actor's waits and puts back the items it never finished", async () => {
  const { jobs, call, end } = setup();
  const waiting = call("a", "queue", "get", ["jobs", undefined]);
  await call("b", "queue", "put", ["jobs", "first", undefined]);
  assert.equal(await waiting, "first");
  const blocked = call("a", "queue", "get", ["jobs", undefined]);
  end("a");
  await assert.rejects(blocked, new Error("The actor ended"));
  // The item "a" took and never finished is back, for another actor.
  assert.equal(jobs.size, 1);
  assert.equal(await call("b", "queue", "get", ["jobs", 1000]), "first");
});

Deno.test("CallServer holds semaphore permits for an actor and gives back those it held when it ends", async () => {
  const { db, events, call, end } = setup();
  await call("a", "semaphore", "acquire", ["db", undefined]);
  assert.equal(db.heldBy(1), 1);
  const second = call("b", "semaphore", "acquire", ["db", 5000]);
  end("a");
  await within(second, 5000, "the permit a left");
  assert.equal(db.heldBy(2), 1);
  await call("b", "semaphore", "release", ["db"]);
  assert.equal(db.available, 1);
  assert.deepEqual(
    events.map((e) => e.type === "permits-recovered" && [e.id, e.semaphore, e.permits]),
    [["a", "db", 1]],
  );
});

Deno.test("CallServer rejects unknown calls, queues and semaphores with a TypeError", async () => {
  const { call, end } = setup();
  await assert.rejects(
    call("a", ...(["queue", "fly", ["jobs"]] as unknown as SystemCall)),
    new TypeError("Unknown system call queue.fly"),
  );
  await assert.rejects(
    call("a", ...(["clock", "now", ["jobs"]] as unknown as SystemCall)),
    new TypeError("Unknown system call clock.now"),
  );
  await assert.rejects(
    call("a", "queue", "get", ["nope", undefined]),
    new TypeError('No queue named "nope": create it with system.queue("nope")'),
  );
  end("b");
  await assert.rejects(
    call("b", "semaphore", "acquire", ["db", undefined]),
    new TypeError('No semaphore named "db": create it with system.semaphore("db", n)'),
  );
});

Deno.test("CallServer.close() cancels the permit recheck after a terminated actor", () => {
  const { server, end } = setup();
  end("a", true);
  // The recheck timer would outlive the test; the leak check fails if close() leaves it.
  server.close();
});
