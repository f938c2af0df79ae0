// Outbox, the sender's half of a bounded mailbox, on its own: a recording
// send function stands in for the transport.
import assert from "node:assert/strict";
import { Outbox, type OverflowPolicy, SENT } from "../actors/core/outbox.ts";
import { FrameTooLargeError, MailboxFullError } from "../internal/errors.ts";
import { PLAIN_KIND } from "../internal/batch.ts";
import { afterMicrotasks, Arrivals, deferred, type Message, soon } from "./_channel.ts";

interface SendError {
  error: unknown;
  batch: Message[];
  written: boolean;
}

interface Recorded {
  outbox: Outbox;
  /** The batches handed to the send function, in order. */
  batches: Arrivals<Message[]>;
  dropped: Message[];
  sendErrors: Arrivals<SendError>;
}

interface RecordOptions {
  /** What the send function does with a batch: by default nothing (sent). */
  send?: (batch: Message[]) => void | Promise<void>;
  /** What the owner does when a send fails: by default nothing. */
  onSendError?: (failure: SendError) => void | Promise<void>;
}

function recorded(
  capacity: number,
  policy: OverflowPolicy,
  options: RecordOptions = {},
): Recorded {
  const batches = new Arrivals<Message[]>();
  const sendErrors = new Arrivals<SendError>();
  const dropped: Message[] = [];
  const outbox = new Outbox(
    "box",
    capacity,
    policy,
    (batch) => {
      const messages = batch as Message[];
      batches.add(messages);
      return options.send?.(messages);
    },
    (message) => dropped.push(message),
    (error, batch, written) => {
      const failure = { error, batch, written };
      sendErrors.add(failure);
      return options.onSendError?.(failure);
    },
  );
  return { outbox, batches, dropped, sendErrors };
}

Deno.test("Outbox.push() sends up to capacity at once and coalesces what it sends into one batch", async () => {
  const { outbox, batches } = recorded(3, "fail");
  assert.equal(outbox.push([1]), SENT);
  assert.equal(outbox.push([2]), SENT);
  assert.equal(outbox.push([3]), SENT);
  assert.equal(outbox.inflight, 3);
  assert.deepEqual(await batches.next("the batch"), [[1], [2], [3]]);
  outbox.close(new Error("done"));
});

Deno.test("backpressure: a push over capacity waits in the sender until a credit makes room", async () => {
  const { outbox, batches } = recorded(2, "backpressure");
  outbox.push([1]);
  outbox.push([2]);
  const third = outbox.push([3]);
  assert.notEqual(third, SENT);
  assert.deepEqual([outbox.inflight, outbox.waiting], [2, 1]);
  assert.deepEqual(await batches.next("the first batch"), [[1], [2]]);
  let resolved = false;
  void third.then(() => resolved = true);
  await afterMicrotasks();
  assert.equal(resolved, false);
  outbox.credit(1);
  await soon(third, "room for the third message");
  assert.deepEqual([outbox.inflight, outbox.waiting], [2, 0]);
  assert.deepEqual(await batches.next("the second batch"), [[3]]);
  outbox.close(new Error("done"));
});

Deno.test("backpressure: once capacity more messages wait, one more throws MailboxFullError", () => {
  const { outbox } = recorded(1, "backpressure");
  outbox.push([1]);
  const waiting = outbox.push([2]);
  assert.throws(() => outbox.push([3]), (error: unknown) => {
    assert.ok(error instanceof MailboxFullError);
    assert.match((error.cause as Error).message, /1 more messages already wait for room/);
    return true;
  });
  outbox.close(new Error("done"));
  return assert.rejects(soon(waiting, "the push"), { message: "done" });
});

Deno.test("fail: a push over capacity throws MailboxFullError at once", () => {
  const { outbox } = recorded(1, "fail");
  outbox.push([1]);
  assert.throws(() => outbox.push([2]), MailboxFullError);
  assert.deepEqual([outbox.inflight, outbox.waiting], [1, 0]);
  outbox.close(new Error("done"));
});

Deno.test("drop-newest: a push over capacity is dropped and reported", async () => {
  const { outbox, batches, dropped } = recorded(1, "drop-newest");
  outbox.push([1]);
  assert.equal(outbox.push([2]), SENT);
  assert.deepEqual(dropped, [[2]]);
  assert.deepEqual(await batches.next("the batch"), [[1]]);
  outbox.close(new Error("done"));
});

Deno.test("drop-oldest: once capacity messages wait, the oldest waiting one is dropped for the new one", async () => {
  const { outbox, batches, dropped } = recorded(2, "drop-oldest");
  for (const n of [1, 2, 3, 4, 5]) outbox.push([n]);
  assert.deepEqual(dropped, [[3]]);
  assert.equal(outbox.waiting, 2);
  assert.deepEqual(await batches.next("the first batch"), [[1], [2]]);
  outbox.credit(2);
  assert.deepEqual(await batches.next("the second batch"), [[4], [5]]);
  outbox.close(new Error("done"));
});

Deno.test("drop-oldest never drops the stop sentinel waiting among the messages", () => {
  const { outbox, dropped } = recorded(1, "drop-oldest");
  outbox.push([1]);
  outbox.push([2]);
  outbox.push(["stop"], false);
  // [2] makes room for [3], which leaves the sentinel the oldest waiting; [4] passes it over.
  outbox.push([3]);
  outbox.push([4]);
  assert.deepEqual(dropped, [[2], [3]]);
  assert.deepEqual(outbox.close(new Error("done")), [[1], ["stop"], [4]]);
});

Deno.test("the stop sentinel takes no room but keeps its place behind the messages waiting for room", async () => {
  const { outbox, batches } = recorded(1, "backpressure");
  outbox.push([1]);
  const second = outbox.push([2]);
  assert.equal(outbox.push(["stop"], false), SENT);
  assert.equal(outbox.waiting, 2);
  assert.deepEqual(await batches.next("the first batch"), [[1]]);
  outbox.credit(1);
  await soon(second, "room for the second message");
  assert.deepEqual(await batches.next("the second batch"), [[2], ["stop"]]);
  assert.equal(outbox.inflight, 1);
  outbox.close(new Error("done"));
});

Deno.test("Outbox.pushControl() sends at once, past the messages waiting for room", async () => {
  const { outbox, batches } = recorded(1, "backpressure");
  outbox.push([1]);
  const waiting = outbox.push([2]);
  outbox.pushControl(["result"]);
  assert.deepEqual(await batches.next("the batch"), [[1], ["result"]]);
  assert.equal(outbox.waiting, 1);
  outbox.close(new Error("done"));
  await assert.rejects(soon(waiting, "the push"), { message: "done" });
});

Deno.test("Outbox.credit() frees room message by message and never counts below zero", async () => {
  const { outbox, batches } = recorded(2, "backpressure");
  outbox.push([1]);
  outbox.push([2]);
  const waiting = [outbox.push([3]), outbox.push([4])];
  await batches.next("the first batch");
  outbox.credit(1);
  assert.deepEqual([outbox.inflight, outbox.waiting], [2, 1]);
  outbox.credit(5);
  assert.deepEqual([outbox.inflight, outbox.waiting], [1, 0]);
  await soon(Promise.all(waiting), "room for both");
  assert.deepEqual(await batches.next("the second batch"), [[3], [4]]);
  outbox.credit(5);
  assert.equal(outbox.inflight, 0);
  outbox.close(new Error("done"));
});

Deno.test("a send that returns a promise holds the next batch until it resolves", async () => {
  const room = deferred();
  let calls = 0;
  const { outbox, batches } = recorded(8, "fail", {
    send: () => ++calls === 1 ? room.promise : undefined,
  });
  outbox.push([1]);
  assert.deepEqual(await batches.next("the first batch"), [[1]]);
  outbox.push([2]);
  outbox.push([3]);
  await afterMicrotasks();
  assert.equal(batches.all.length, 1);
  room.resolve();
  assert.deepEqual(await batches.next("the held batch"), [[2], [3]]);
  outbox.close(new Error("done"));
});

Deno.test("a batch that fails to encode goes to its owner unwritten, and later batches wait for the owner", async () => {
  const resent = deferred();
  let calls = 0;
  const { outbox, batches, sendErrors } = recorded(8, "fail", {
    send() {
      if (++calls === 1) throw new RangeError("too big");
    },
    onSendError: () => resent.promise,
  });
  outbox.push([1, "too big"]);
  outbox.push([2]);
  const failure = await sendErrors.next("the send error");
  assert.deepEqual([failure.batch, failure.written], [[[1, "too big"], [2]], false]);
  assert.equal((failure.error as Error).message, "too big");
  outbox.push([3]);
  await batches.next("the failed batch");
  await afterMicrotasks();
  assert.equal(batches.all.length, 1, "the next batch waits while the owner resends");
  resent.resolve();
  assert.deepEqual(await batches.next("the next batch"), [[3]]);
  outbox.close(new Error("done"));
});

Deno.test("a send whose write fails later goes to its owner as written", async () => {
  const { outbox, sendErrors } = recorded(8, "fail", {
    send: () => Promise.reject(new Error("the channel broke")),
  });
  outbox.push([1]);
  const failure = await sendErrors.next("the send error");
  assert.deepEqual([failure.batch, failure.written], [[[1]], true]);
  assert.equal((failure.error as Error).message, "the channel broke");
  outbox.close(new Error("done"));
});

Deno.test("Outbox.close() returns every unsent message, rejects the waiting pushes and refuses new ones", async () => {
  const { outbox, batches } = recorded(1, "backpressure");
  outbox.push([1]);
  const waiting = outbox.push([2]);
  const error = new Error("closed by the test");
  // [1] is still in the coalescer: it never left either.
  assert.deepEqual(outbox.close(error), [[1], [2]]);
  await assert.rejects(soon(waiting, "the push"), (reason: unknown) => reason === error);
  assert.throws(() => outbox.push([3]), (reason: unknown) => reason === error);
  outbox.pushControl(["ignored"]);
  assert.deepEqual(outbox.close(new Error("again")), []);
  await afterMicrotasks();
  assert.deepEqual(batches.all, []);
});

Deno.test("Outbox.batchBytes closes a batch once it holds that many payload bytes", async () => {
  const { outbox, batches } = recorded(8, "fail");
  outbox.batchBytes = 100;
  for (const n of [1, 2, 3]) outbox.push([n], true, PLAIN_KIND, 60);
  assert.deepEqual(await batches.take(2, "the batches"), [[[1], [2]], [[3]]]);
  outbox.close(new Error("done"));
});

Deno.test("a message that may come near the frame limit goes alone at once, and a refused frame throws at the sender", () => {
  const { outbox, batches } = recorded(8, "fail", {
    // As a transport with a 1000-byte frame limit: the envelope counts too.
    send(batch) {
      const size = JSON.stringify(batch).length;
      if (size > 1000) throw new FrameTooLargeError(size, 1000);
    },
  });
  outbox.maxFrameBytes = 1000;
  outbox.push(["small"], true, PLAIN_KIND, 5);
  outbox.push(["x".repeat(900)], true, PLAIN_KIND, 900);
  // Sent at once, after what was queued before it.
  assert.deepEqual(batches.all, [[["small"]], [["x".repeat(900)]]]);
  assert.throws(() => outbox.push(["x".repeat(996)], true, PLAIN_KIND, 996), FrameTooLargeError);
  assert.equal(outbox.inflight, 2, "the refused message takes no room");
  assert.equal(batches.all.length, 3);
  outbox.close(new Error("done"));
});

/** A send function shaped like a transport with a 1000-byte frame limit whose channel is full until `room` resolves. */
function fullChannel(room: Promise<void>) {
  return (batch: Message[]) => {
    const size = JSON.stringify(batch).length;
    if (size > 1000) throw new FrameTooLargeError(size, 1000);
    return room;
  };
}

Deno.test("while the channel is full, a near-limit message still goes alone behind what was held, and a refused one throws at the sender (issue 16.9)", async () => {
  const room = deferred();
  const { outbox, batches, sendErrors } = recorded(8, "fail", { send: fullChannel(room.promise) });
  outbox.maxFrameBytes = 1000;
  outbox.push(["first"], true, PLAIN_KIND, 5);
  await batches.take(1, "the first batch, which fills the channel");
  outbox.push(["held"], true, PLAIN_KIND, 4);
  outbox.push(["x".repeat(960)], true, PLAIN_KIND, 960);
  // Folded into one batch with "held", it would be over the limit: alone, it fits.
  assert.deepEqual(batches.all.slice(1), [[["held"]], [["x".repeat(960)]]]);
  assert.throws(() => outbox.push(["x".repeat(996)], true, PLAIN_KIND, 996), FrameTooLargeError);
  assert.equal(outbox.inflight, 3, "the refused message takes no room");
  assert.equal(batches.all.length, 4, "only the refused attempt, after what was held");
  room.resolve();
  await afterMicrotasks();
  assert.equal(sendErrors.all.length, 0);
  outbox.close(new Error("done"));
});

Deno.test("a near-limit tell that waited for room in the mailbox gets the exact size check: it rejects, nothing sent (issue 16.9)", async () => {
  const { outbox, batches, sendErrors, dropped } = recorded(1, "backpressure", {
    send: fullChannel(Promise.resolve()),
  });
  outbox.maxFrameBytes = 1000;
  outbox.push(["first"], true, PLAIN_KIND, 5);
  const over = outbox.push(["x".repeat(996)], true, PLAIN_KIND, 996);
  const overSettled = over.then(() => "sent", (error) => error);
  await batches.take(1, "the first batch");
  outbox.credit(1);
  assert.ok((await overSettled) instanceof FrameTooLargeError);
  assert.equal(batches.all.length, 2, "only the refused attempt");
  const fits = outbox.push(["y".repeat(960)], true, PLAIN_KIND, 960);
  await fits;
  assert.deepEqual(batches.all.slice(2), [[["y".repeat(960)]]]);
  outbox.credit(1);
  assert.equal(outbox.inflight, 0, "the refused message takes no room");
  await afterMicrotasks();
  assert.equal(sendErrors.all.length, 0);
  assert.deepEqual(dropped, []);
  outbox.close(new Error("done"));
});

Deno.test("Outbox: the transfer lists of a batch's messages go with it, each buffer once", async () => {
  const transfers: (Transferable[] | undefined)[] = [];
  const batches = new Arrivals<Message[]>();
  const outbox = new Outbox(
    "box",
    8,
    "fail",
    (batch, _kind, transfer) => {
      transfers.push(transfer);
      batches.add(batch as Message[]);
    },
    () => {},
    () => {},
  );
  const a = new ArrayBuffer(8), b = new ArrayBuffer(8);
  outbox.push([1], true, PLAIN_KIND, 0, { transfer: [a] });
  outbox.push([2], true, PLAIN_KIND, 0, { transfer: [a, b] });
  outbox.push([3]);
  assert.deepEqual(await batches.next("the first batch"), [[1], [2], [3]]);
  assert.deepEqual(transfers, [[a, b]]);
  outbox.push([4]);
  await batches.next("the second batch");
  assert.deepEqual(transfers, [[a, b], undefined], "a batch without transfers names none");
  outbox.close(new Error("done"));
});
