/**
 * The ring wait policy's reply spin: a `ring` end always spins after a send,
 * a pipe end's spin (`backoffReplies`) skips the next ones once it found
 * nothing, so a loaded machine does not pay for spins that keep failing.
 */
import assert from "node:assert/strict";
import { allocateRing, RingReader, RingWriter } from "../transports/ring/_ring.ts";
import { WaitPolicy } from "../transports/ring/_wait_policy.ts";

const SPIN_MS = 0.02;

/** A policy whose reply spin after a send found nothing, with data there now. */
function afterAFailedSpin(backoffReplies: boolean): WaitPolicy {
  const inbound = allocateRing(1024);
  const reader = new RingReader(inbound, 1024);
  const wait = new WaitPolicy(reader, new RingWriter(allocateRing(1024)), SPIN_MS, backoffReplies);
  wait.arm();
  assert.equal(wait.spinForReply(), false, "nothing was sent back");
  assert.equal(new RingWriter(inbound).writeRaw(new Uint8Array(8)), 8);
  return wait;
}

Deno.test("a failed reply spin makes the next one skip; one that finds data ends the skipping", () => {
  const wait = afterAFailedSpin(true);
  assert.equal(wait.spinForReply(), false, "skipped, although data is there");
  assert.equal(wait.spinForReply(), true, "the skip is spent: the spin finds the data");
  assert.equal(wait.spinForReply(), true, "and the next spin runs again");
  wait.close();
});

Deno.test("a ring end's reply spin does not back off", () => {
  const wait = afterAFailedSpin(false);
  assert.equal(wait.spinForReply(), true, "spun at once and found the data");
  wait.close();
});
