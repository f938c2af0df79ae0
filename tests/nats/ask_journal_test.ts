// The asks a name served in the actor's thread holds, kept in memory it shares
// with its node (`AskJournal`), so that the node can answer them when that
// thread ends without a word: written in one thread, read in another once the
// writer is gone.
import assert from "node:assert/strict";
import { type AskInHand, AskJournal } from "../../actors/cluster/_in_actor_shared.ts";

/** The asks by reply subject, each with its fields in one order. */
const sorted = (asks: AskInHand[]) =>
  asks.map(({ reply, id, codec }) => ({ reply, id, codec }))
    .sort((a, b) => a.reply < b.reply ? -1 : 1);

Deno.test("AskJournal keeps the asks in hand, each as given, and lets go of the answered ones", () => {
  const writer = new AskJournal(8);
  const reader = new AskJournal(writer.buffer);
  assert.deepEqual(reader.read(), []);
  const asks: AskInHand[] = [
    { reply: "_INBOX.A1.1", id: "order-7", codec: "json" },
    { reply: "_INBOX.A1.2", id: undefined, codec: "v8" },
    { reply: "_INBOX.A1.3", id: "", codec: "json" },
    { reply: "_INBOX.A1.4", id: "é€😀\nline two", codec: "json" },
  ];
  const slots = asks.map((ask) => writer.add(ask));
  assert.ok(slots.every((slot) => slot >= 0), JSON.stringify(slots));
  assert.deepEqual(sorted(reader.read()), sorted(asks));
  writer.remove(slots[1]!);
  writer.remove(slots[3]!);
  assert.deepEqual(sorted(reader.read()), sorted([asks[0]!, asks[2]!]));
  // A freed slot is used again.
  assert.ok([slots[1], slots[3]].includes(writer.add(asks[1]!)));
  writer.remove(-1); // never kept: nothing happens
  assert.equal(reader.read().length, 3);
});

Deno.test("AskJournal grows up to its bound, then keeps no more; a record too long for a slot is not kept", () => {
  const journal = new AskJournal(40);
  const first = journal.buffer.byteLength;
  const slots = Array.from(
    { length: 40 },
    (_, i) => journal.add({ reply: `r.${i}`, id: undefined, codec: "json" }),
  );
  assert.ok(slots.every((slot) => slot >= 0));
  assert.ok(journal.buffer.byteLength > first, "it grew");
  assert.equal(journal.add({ reply: "r.40", id: undefined, codec: "json" }), -1);
  journal.remove(slots[5]!);
  assert.equal(journal.add({ reply: "x".repeat(300), id: undefined, codec: "json" }), -1);
  // The slot the long record did not take is still free.
  assert.equal(journal.add({ reply: "r.41", id: "k", codec: "json" }), slots[5]);
  assert.equal(journal.read().length, 40);
});

Deno.test("AskJournal: what a worker kept, growing the memory as it went, is read here once it is gone", async () => {
  const journal = new AskJournal(1024);
  const module = new URL("../../actors/cluster/_in_actor_shared.ts", import.meta.url).href;
  const source = `
    import { AskJournal } from ${JSON.stringify(module)};
    self.onmessage = ({ data }) => {
      const journal = new AskJournal(data);
      const slots = [];
      for (let i = 0; i < 500; i++) slots.push(journal.add({ reply: "_INBOX.W." + i, id: "id-" + i, codec: "json" }));
      for (let i = 0; i < 500; i += 2) journal.remove(slots[i]);
      self.postMessage(slots.filter((slot) => slot < 0).length);
    };`;
  const worker = new Worker(`data:application/javascript,${encodeURIComponent(source)}`, {
    type: "module",
  });
  try {
    const done = new Promise<number>((resolve) => worker.onmessage = (e) => resolve(e.data));
    worker.postMessage(journal.buffer);
    assert.equal(await done, 0, "every ask kept");
  } finally {
    worker.terminate();
  }
  const read = journal.read();
  assert.equal(read.length, 250);
  assert.deepEqual(
    new Set(read.map((ask) => ask.reply)),
    new Set(Array.from({ length: 250 }, (_, k) => `_INBOX.W.${2 * k + 1}`)),
  );
  assert.ok(read.every((ask) => ask.id === `id-${ask.reply.slice(9)}`));
});
