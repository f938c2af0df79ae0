// A process actor gets its parent's OpenTelemetry configuration (every
// `OTEL_*` variable), so its spans join the same traces and go to the same
// collector, and nothing else of the parent's environment.
import assert from "node:assert/strict";
import { ActorSystem } from "../mod.ts";
import type { processProbe } from "./fixtures/process_actor.ts";

const PROBE = new URL("./fixtures/process_actor.ts", import.meta.url);

Deno.test("a process actor inherits the parent's OTEL_* variables and no other", async () => {
  const set = {
    OTEL_SERVICE_NAME: "troupe-env-test",
    OTEL_EXPORTER_OTLP_HEADERS: "x-token=abc",
    TROUPE_TELEMETRY_NOT_PASSED: "secret",
  };
  for (const [name, value] of Object.entries(set)) Deno.env.set(name, value);
  try {
    await using system = await ActorSystem.start({ telemetry: false });
    const ref = await system.spawn<typeof processProbe>(PROBE, {
      host: "process",
      permissions: { env: true },
      env: { OTEL_RESOURCE_ATTRIBUTES: "given=by-spawn" },
    });
    assert.equal(await ref.ask("env", "OTEL_SERVICE_NAME"), "troupe-env-test");
    assert.equal(await ref.ask("env", "OTEL_EXPORTER_OTLP_HEADERS"), "x-token=abc");
    assert.equal(await ref.ask("env", "TROUPE_TELEMETRY_NOT_PASSED"), null);
    // The spawn's own env still applies on top.
    assert.equal(await ref.ask("env", "OTEL_RESOURCE_ATTRIBUTES"), "given=by-spawn");
  } finally {
    for (const name of Object.keys(set)) Deno.env.delete(name);
  }
});
