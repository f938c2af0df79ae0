// Outbox merging (issue 20): while two batches sent to the actor are not yet
// credited back, asks issued in later turns wait and leave together, so that batches
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

/** Sends asks 1 and 2 in two batches, in two turns: the actor credits neither. */
async function twoInFlight(outbox: Outbox, batches: Message[][]): Promise<void> {
  outbox.push(ask(1));
  await afterMicrotasks();
  outbox.push(ask(2));
  await afterMicrotasks();
  assert.deepEqual(batches, [[ask(1)], [ask(2)]], "an ask with one batch ahead is not held");
}

Deno.test("Outbox: a lone ask, or one with a single uncredited batch ahead, is posted in its own turn", async () => {
  const { outbox, batches } = recorded();
  outbox.push(ask(1));
  await afterMicrotasks();
  assert.deepEqual(batches, [[ask(1)]]);
  outbox.push(ask(2));
  await afterMicrotasks();
  assert.deepEqual(batches, [[ask(1)], [ask(2)]]);
  // Credited: the next asks are not held either.
  outbox.credit(2);
  outbox.push(ask(3));
  await afterMicrotasks();
  outbox.push(ask(4));
  await afterMicrotasks();
  assert.deepEqual(batches, [[ask(1)], [ask(2)], [ask(3)], [ask(4)]]);
  outbox.close(new Error("done"));
});

Deno.test("Outbox: asks issued one per turn behind two uncredited batches merge into one post", async () => {
  const { outbox, batches } = recorded();
  await twoInFlight(outbox, batches);
  // Eight asks, each in its own macrotask (as replies arriving one per event would issue them).
  for (let id = 3; id <= 10; id++) {
    outbox.push(ask(id));
    await afterMicrotasks();
  }
  assert.equal(batches.length, 2, "the asks wait while two batches are uncredited");
  outbox.credit(1);
  await afterMicrotasks();
  assert.deepEqual(batches.slice(2), [[3, 4, 5, 6, 7, 8, 9, 10].map(ask)]);
  outbox.close(new Error("done"));
});

Deno.test("Outbox: held asks leave once the older batch is wholly credited, with the asks of that turn", async () => {
  const { outbox, batches } = recorded();
  outbox.push(ask(1));
  outbox.push(ask(2));
  await afterMicrotasks();
  outbox.push(ask(3));
  await afterMicrotasks();
  outbox.push(ask(4));
  await afterMicrotasks();
  outbox.credit(1);
  await afterMicrotasks();
  assert.equal(batches.length, 2, "one of the first batch's two asks is still uncredited");
  // The credit that settles it, and the asks its replies issue in the same turn, go as one post.
  outbox.credit(1);
  await null;
  outbox.push(ask(5));
  await afterMicrotasks();
  assert.deepEqual(batches, [[ask(1), ask(2)], [ask(3)], [ask(4), ask(5)]]);
  outbox.close(new Error("done"));
});

Deno.test("Outbox: a tell, a control message or the stop sentinel is never held and takes held asks along", async () => {
  for (const other of [[TELL, "note", 1], [CANCEL, 1, "AbortError"], [STOP]] as Message[]) {
    const { outbox, batches } = recorded();
    await twoInFlight(outbox, batches);
    outbox.push(ask(3));
    await afterMicrotasks();
    assert.equal(batches.length, 2);
    if (other[0] === CANCEL) outbox.pushControl(other);
    else outbox.push(other, other[0] !== STOP);
    await afterMicrotasks();
    assert.deepEqual(batches.slice(2), [[ask(3), other]], `with ${JSON.stringify(other)}`);
    outbox.close(new Error("done"));
  }
});

Deno.test("Outbox: held asks are handed back unsent when the outbox closes", async () => {
  const { outbox, batches } = recorded();
  await twoInFlight(outbox, batches);
  outbox.push(ask(3));
  await afterMicrotasks();
  assert.deepEqual(outbox.close(new Error("gone")), [ask(3)]);
  assert.equal(batches.length, 2);
});

Deno.test("Outbox: an actor that stays one batch behind for 5,000 batches leaves the credit bounds bounded", async () => {
  const { outbox, batches } = recorded();
  for (let n = 0; n < 5000; n++) {
    outbox.push([TELL, "t", n]);
    await afterMicrotasks();
    if (n > 0) outbox.credit(1);
  }
  assert.equal(batches.length, 5000);
  // One entry per batch ever sent before; now about twice those in flight.
  assert.ok(outbox.creditBoundsKept <= 2 * 1024, `kept ${outbox.creditBoundsKept}`);
  outbox.close(new Error("done"));
});
