/**
 * What telemetry costs when it is on (issue 19): the small-tell rate and the ask p50 of a
 * `queue` worker actor in a fresh process with `OTEL_DENO=true`, exporting spans and metrics to
 * a sink on loopback, against the same process without it, in the same round.
 *
 * - `otel.off.tell.queue.worker.small`, `otel.off.ask.queue.worker.p50`: telemetry off.
 * - `otel.on.tell.queue.worker.small`, `otel.on.ask.queue.worker.p50`: on, each against its
 *   `off` figure. A tell outside any trace makes no span; an ask makes two (the caller's and the
 *   handler's) and records its latency.
 *
 * What it costs when off is below this bench's spread: `_ab_tell.ts` measures that.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { BenchCase } from "./_harness.ts";
import { runCommand } from "./baselines/_util.ts";

const PROBE = new URL("./_otel_probe.ts", import.meta.url);
const ROOT = new URL("../", import.meta.url);

/** Issue 19 sets no target for telemetry on ("report the overhead"): placeholders, so the ratios show. */
const ON_TELL_TARGET = 0.5;
const ON_ASK_TARGET = 4;

/** An OTLP/HTTP sink on loopback that answers every export with 200 and counts trace exports. */
function startSink() {
  let traces = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      await request.body?.cancel();
      if (new URL(request.url).pathname === "/v1/traces") traces++;
      return new Response("{}", { headers: { "content-type": "application/json" } });
    },
  );
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    traces: () => traces,
    close: () => server.shutdown(),
  };
}

async function probe(
  signal: AbortSignal,
  env?: Record<string, string>,
): Promise<{ tell: number; askP50: number }> {
  const output = await runCommand(
    Deno.execPath(),
    [
      "run",
      "--quiet",
      "--no-lock",
      `--allow-read=${fileURLToPath(ROOT)}`,
      "--allow-env",
      "--allow-net=127.0.0.1",
      fileURLToPath(PROBE),
    ],
    signal,
    env,
  );
  return JSON.parse(output);
}

let round = 0;

/** The `otel.*` cases. */
export const otelCases: BenchCase[] = [{
  id: "otel.queue.worker",
  group: "otel",
  unit: "msg/s",
  figures: {
    "otel.off.tell.queue.worker.small": {},
    "otel.off.ask.queue.worker.p50": { unit: "us" },
    "otel.on.tell.queue.worker.small": {
      baseline: "otel.off.tell.queue.worker.small",
      target: ON_TELL_TARGET,
    },
    "otel.on.ask.queue.worker.p50": {
      unit: "us",
      baseline: "otel.off.ask.queue.worker.p50",
      target: ON_ASK_TARGET,
    },
  },
  prepare: ({ quick }) =>
    Promise.resolve(quick ? "a full-run figure (two fresh processes a round)" : undefined),
  async run({ signal }) {
    const sink = startSink();
    try {
      const on = () =>
        probe(signal, {
          OTEL_DENO: "true",
          OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_DENO_CONSOLE: "ignore",
          OTEL_SERVICE_NAME: "troupe-bench",
        });
      const off = () => probe(signal, { OTEL_DENO: "false" });
      // Which goes first alternates by round, so neither always meets a warmer machine.
      let offRun, onRun;
      if (round++ % 2 === 0) {
        offRun = await off();
        onRun = await on();
      } else {
        onRun = await on();
        offRun = await off();
      }
      if (sink.traces() === 0) {
        throw new Error("Cannot trust run: the process with telemetry on exported no spans");
      }
      return {
        "otel.off.tell.queue.worker.small": offRun.tell,
        "otel.off.ask.queue.worker.p50": offRun.askP50,
        "otel.on.tell.queue.worker.small": onRun.tell,
        "otel.on.ask.queue.worker.p50": onRun.askP50,
      };
    } finally {
      await sink.close();
    }
  },
}];
