// The last error a name served in the actor's thread keeps in shared memory
// for its node (`SharedText`): written in one thread, read whole in another.
import assert from "node:assert/strict";
import { SharedText } from "../../actors/cluster/_in_actor_shared.ts";

Deno.test("SharedText reads nothing before a write, then the last text written and when", () => {
  const writer = new SharedText();
  const reader = new SharedText(writer.buffer);
  assert.equal(reader.read(), undefined);
  const before = Date.now();
  writer.write("TypeError: first");
  writer.write("ActorError: é€😀 second");
  const read = reader.read()!;
  assert.equal(read.text, "ActorError: é€😀 second");
  assert.ok(read.at >= before && read.at <= Date.now());
});

Deno.test("SharedText cuts a text past 1024 bytes on a character's boundary", () => {
  const text = new SharedText();
  text.write("€".repeat(400)); // 1200 bytes: 341 whole characters fit
  assert.equal(text.read()!.text, "€".repeat(341));
  text.write("short");
  assert.equal(text.read()!.text, "short");
});

Deno.test("SharedText's reader sees a whole text while a worker writes others", async () => {
  const text = new SharedText();
  // [started, stop]: the worker writes until told to stop.
  const flags = new Int32Array(new SharedArrayBuffer(8));
  const module = new URL("../../actors/cluster/_in_actor_shared.ts", import.meta.url).href;
  const source = `
    import { SharedText } from ${JSON.stringify(module)};
    self.onmessage = ({ data: [buffer, flags] }) => {
      const text = new SharedText(buffer);
      const cells = new Int32Array(flags);
      for (let i = 0; Atomics.load(cells, 1) === 0; i++) {
        text.write(i % 2 ? "a".repeat(300) : "b".repeat(700));
        if (i === 0) { Atomics.store(cells, 0, 1); Atomics.notify(cells, 0); }
      }
      self.postMessage("done");
    };`;
  const worker = new Worker(`data:application/javascript,${encodeURIComponent(source)}`, {
    type: "module",
  });
  try {
    const done = new Promise((resolve) => worker.onmessage = resolve);
    worker.postMessage([text.buffer, flags.buffer]);
    const started = Atomics.waitAsync(flags, 0, 0, 10_000);
    if (started.async) await started.value;
    let whole = 0;
    for (let i = 0; i < 100_000; i++) {
      const read = text.read();
      if (read === undefined) continue; // eight tries all met a write under way
      assert.ok(/^(a{300}|b{700})$/.test(read.text), `a torn read: ${read.text.length} bytes`);
      whole++;
    }
    Atomics.store(flags, 1, 1);
    await done;
    assert.ok(whole > 0);
  } finally {
    worker.terminate();
  }
});
