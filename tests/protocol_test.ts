/**
 * `assertCloneable`: what it refuses, where, and the size it estimates; and
 * `compactTells`, which folds runs of tells for the wire.
 */

import assert from "node:assert/strict";
import { MessageNotCloneableError } from "../internal/errors.ts";
import { ASK, compactTells, TELL, TELLS } from "../actors/core/protocol.ts";
import { assertCloneable } from "../internal/payload.ts";

Deno.test("assertCloneable() estimates a flat object and refuses what sits in it, by path", () => {
  assert.equal(assertCloneable({ ab: "xyz", n: 1 }, "payload"), 2 + 2 + 3 + 1 + 1);
  assert.throws(
    () => assertCloneable({ ok: 1, f: () => 1 }, "payload"),
    (error: unknown) => error instanceof MessageNotCloneableError && error.path === "payload.f",
  );
});

Deno.test("assertCloneable() walks cycles and shared references once", () => {
  const shared = { s: "0123456789" };
  const once = assertCloneable({ a: shared }, "payload");
  const twice = assertCloneable({ a: shared, b: shared }, "payload");
  assert.equal(twice, once + 1 + 1, "the second reference counts 1, not the object again");
  const root: Record<string, unknown> = { name: "root" };
  root.child = { back: root, list: [root] };
  assert.equal(typeof assertCloneable(root, "payload"), "number");
  const list: unknown[] = [1];
  list.push({ inner: list });
  assert.equal(typeof assertCloneable(list, "payload"), "number");
  root.bad = { deeper: { fn: Symbol("s") } };
  assert.throws(
    () => assertCloneable(root, "payload"),
    (error: unknown) =>
      error instanceof MessageNotCloneableError && error.path === "payload.bad.deeper.fn",
  );
});

Deno.test("compactTells() folds runs of tells to one handler and keeps everything else in place", () => {
  const batch = [
    [TELL, "a", 1],
    [TELL, "a", 2],
    [TELL, "a", 3],
    [ASK, 7, "a", 4],
    [TELL, "a", 5],
    [TELL, "b", 6],
    [TELL, "b"], // no payload: JSON could not carry it inside a run
    [TELL, "b", 8],
    [TELL, "b", 9],
  ];
  const compact = compactTells(batch);
  assert.deepEqual([...compact], [
    [TELLS, "a", [1, 2, 3]],
    [ASK, 7, "a", 4],
    [TELL, "a", 5],
    [TELL, "b", 6],
    [TELL, "b"],
    [TELLS, "b", [8, 9]],
  ]);
  assert.equal(batch.length, 9, "the sender's batch is left as it was");
  // Nothing to fold: the same array goes out.
  const none = [[TELL, "a", 1], [TELL, "b", 2], [ASK, 1, "a", 3], [TELL, "a", 4]];
  assert.equal(compactTells(none), none);
  assert.equal(compactTells([]).length, 0);
});

Deno.test("assertCloneable() names a very deep path by its two ends", () => {
  let deep: unknown = () => 1;
  for (let i = 0; i < 100; i++) deep = { v: deep };
  assert.throws(
    () => assertCloneable(deep, "payload"),
    (error: Error) =>
      error.message.includes(
        `payload${".v".repeat(20)}...(60 levels)${".v".repeat(20)} is a function`,
      ),
  );
});
