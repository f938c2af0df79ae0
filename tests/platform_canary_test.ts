// Platform canaries: the Deno behaviours Troupe's design relies on (see
// ../shared/DENO-FACTS.md). If a Deno upgrade changes one, a test here fails
// first and points at the design decision to revisit.
import assert from "node:assert/strict";
import { within } from "./_helpers.ts";

Deno.test("canary: an uncaught worker error reaches the parent with error === null", async () => {
  const worker = new Worker(new URL("./fixtures/raw_throwing_worker.ts", import.meta.url), {
    type: "module",
  });
  try {
    const event = await within(
      new Promise<ErrorEvent>((resolve) => {
        worker.onerror = (event) => {
          event.preventDefault(); // without this the whole test process would exit
          resolve(event);
        };
        worker.postMessage("go");
      }),
      5000,
      "worker error event",
    );
    assert.equal(event.error, null);
    assert.match(event.message, /raw worker failure/);
  } finally {
    worker.terminate();
  }
});

Deno.test("canary: postMessage of a function throws DataCloneError synchronously", () => {
  const channel = new MessageChannel();
  try {
    assert.throws(
      () => channel.port1.postMessage({ f: () => {} }),
      (error: unknown) => error instanceof DOMException && error.name === "DataCloneError",
    );
  } finally {
    channel.port1.close();
    channel.port2.close();
  }
});

Deno.test("canary: structured clone turns class instances into plain objects", () => {
  class Point {
    constructor(readonly x: number) {}
    norm(): number {
      return Math.abs(this.x);
    }
  }
  const copy = structuredClone(new Point(3)) as unknown as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(copy), Object.prototype);
  assert.equal(copy.norm, undefined);
});

Deno.test("canary: Deno.listen without a hostname binds every interface", () => {
  const listener = Deno.listen({ port: 0 });
  try {
    assert.equal((listener.addr as Deno.NetAddr).hostname, "0.0.0.0");
  } finally {
    listener.close();
  }
});
