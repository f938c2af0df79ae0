/**
 * The fresh process of the `otel.*` figures: a system as `ActorSystem.start()` makes it from its
 * environment (telemetry on under `OTEL_DENO=true`), a sink and an echo worker actor on `queue`,
 * then the small-tell rate and the ask p50, printed as JSON. `bench/otel.ts` runs it once with
 * telemetry off and once with it on, exporting to a sink on loopback.
 *
 * `deno run -A bench/_otel_probe.ts` prints `{"tell": <msg/s>, "askP50": <us>}`.
 *
 * @module
 */

import { ActorSystem } from "../mod.ts";
import type { echo } from "./actors/echo.ts";
import type { sink } from "./actors/sink.ts";
import { smallMessage } from "./baselines/_util.ts";
import { smallTellPump } from "./_small_tells.ts";

const WARMUP_MS = 300;
const MEASURE_MS = 1_000;
const ASK_WARMUP = 1_000;
const ASKS = 5_000;

await using system = await ActorSystem.start();
const options = { host: "worker", transport: "queue" } as const;
const sinkRef = await system.spawn<typeof sink>(
  new URL("./actors/sink.ts", import.meta.url),
  options,
);
const echoRef = await system.spawn<typeof echo>(
  new URL("./actors/echo.ts", import.meta.url),
  options,
);

const pump = smallTellPump(sinkRef);

await pump(WARMUP_MS);
const tell = await pump(MEASURE_MS);
const samples: number[] = [];
for (let i = 0; i < ASK_WARMUP + ASKS; i++) {
  const start = performance.now();
  await echoRef.ask("echo", smallMessage(i, "echo"));
  if (i >= ASK_WARMUP) samples.push((performance.now() - start) * 1000);
}
samples.sort((a, b) => a - b);
console.log(JSON.stringify({ tell, askP50: samples[samples.length >> 1] }));
