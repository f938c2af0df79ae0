/** `assertCloneable`: what it refuses, where, and the size it estimates. */

import assert from "node:assert/strict";
import { MessageNotCloneableError } from "../actors/errors.ts";
import { assertCloneable } from "../actors/_protocol.ts";

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
