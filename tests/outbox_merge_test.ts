// Outbox merging (issue 20): while the actor has not credited everything sent
// to it, asks issued in later turns wait and leave together, so that batches
// split on the way (a reply released alone, a credit mid-batch) merge again
// instead of circulating as single messages for good. A recording send
// function stands in for the transport; nothing here depends on time.
import assert from "node:assert/strict";
import { Outbox } from "../actors/core/outbox.ts";
import { ASK, CANCEL, STOP, TELL } from "../actors/core/protocol.ts";
import { afterMicrotasks, type Message } from "./_channel.ts";

function recorded(capacity = 64): { outbox: Outbox; batches: Message[][] } {
  const batches: Message[][] = [];
  const outbox = new Outbox(
    "box",
    capacity,
    "backpressure",
    (batch) => void batches.push(batch as Message[]),
    () => {},
    () => {},
  );
  return { outbox, batches };
}

const ask = (id: number): Message => [ASK, id, "run", id];

Deno.test("Outbox: a lone ask, with nothing sent and uncredited, is posted in its own turn", async () => {
  const { outbox, batches } = recorded();
  outbox.push(ask(1));
  await afterMicrotasks();
  assert.deepEqual(batches, [[ask(1)]]);
  // Credited: the next lone ask is not held either.
  outbox.credit(1);
  outbox.push(ask(2));
  await afterMicrotasks();
  assert.deepEqual(batches, [[ask(1)], [ask(2)]]);
  outbox.close(new Error("done"));
});

Deno.test("Outbox: asks issued one per turn while sent ones are uncredited merge into one post", async () => {
  const { outbox, batches } = recorded();
  outbox.push(ask(1));
  await afterMicrotasks();
  assert.equal(batches.length, 1);
  // Eight asks, each in its own macrotask (as replies arriving one per event would issue them).
  for (let id = 2; id <= 9; id++) {
    outbox.push(ask(id));
    await afterMicrotasks();
  }
  assert.equal(batches.length, 1, "the asks wait while the first is uncredited");
  outbox.credit(1);
  await afterMicrotasks();
  assert.deepEqual(batches, [[ask(1)], [2, 3, 4, 5, 6, 7, 8, 9].map(ask)]);
  outbox.close(new Error("done"));
});

Deno.test("Outbox: held asks leave only once every sent message is credited, with the asks of that turn", async () => {
  const { outbox, batches } = recorded();
  outbox.push(ask(1));
  outbox.push(ask(2));
  await afterMicrotasks();
  outbox.push(ask(3));
  await afterMicrotasks();
  outbox.credit(1);
  await afterMicrotasks();
  assert.equal(batches.length, 1, "one of two sent asks is still uncredited");
  // The last credit, and the asks its replies issue in the same turn, go as one post.
  outbox.credit(1);
  await null;
  outbox.push(ask(4));
  await afterMicrotasks();
  assert.deepEqual(batches, [[ask(1), ask(2)], [ask(3), ask(4)]]);
  outbox.close(new Error("done"));
});

Deno.test("Outbox: a tell, a control message or the stop sentinel is never held and takes held asks along", async () => {
  for (const other of [[TELL, "note", 1], [CANCEL, 1, "AbortError"], [STOP]] as Message[]) {
    const { outbox, batches } = recorded();
    outbox.push(ask(1));
    await afterMicrotasks();
    outbox.push(ask(2));
    await afterMicrotasks();
    assert.equal(batches.length, 1);
    if (other[0] === CANCEL) outbox.pushControl(other);
    else outbox.push(other, other[0] !== STOP);
    await afterMicrotasks();
    assert.deepEqual(batches, [[ask(1)], [ask(2), other]], `with ${JSON.stringify(other)}`);
    outbox.close(new Error("done"));
  }
});

Deno.test("Outbox: held asks are handed back unsent when the outbox closes", async () => {
  const { outbox, batches } = recorded();
  outbox.push(ask(1));
  await afterMicrotasks();
  outbox.push(ask(2));
  await afterMicrotasks();
  assert.deepEqual(outbox.close(new Error("gone")), [ask(2)]);
  assert.equal(batches.length, 1);
});
