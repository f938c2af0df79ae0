// Telemetry end to end, through Deno's real OTLP exporter: the test is the
// collector (OTLP/HTTP with JSON on loopback), and a child `deno run` with
// OTEL_DENO=true is the application (tests/fixtures/telemetry_program.ts).
// One parent span asks a worker and a process actor over every transport each
// host reaches; the spans must share its trace and nest ask -> handle ->
// the handler's own span. Then a known workload, and its metrics.

import assert from "node:assert/strict";
import { within } from "./_helpers.ts";

const PROGRAM = new URL("./fixtures/telemetry_program.ts", import.meta.url);
const TELLS_PROGRAM = new URL("./fixtures/telemetry_tells_program.ts", import.meta.url);
const ROOT = new URL("../", import.meta.url);
const COMBOS = [
  "worker-queue",
  "worker-ring",
  "worker-pipe",
  "worker-socket",
  "process-pipe",
  "process-socket",
  "thread-queue",
];
/** Generous: the run takes a few seconds, but CI shares 2 cores with other test files. */
const DEADLINE_MS = 30_000;

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
type OtlpAttributes = { key: string; value: OtlpValue }[];
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: OtlpAttributes;
  links?: { traceId: string; spanId: string }[];
  events?: { name: string; attributes: OtlpAttributes }[];
  status?: { code?: number; message?: string };
}
interface OtlpPoint {
  attributes: OtlpAttributes;
  asInt?: string | number;
  asDouble?: number;
  count?: string | number;
}
interface OtlpMetric {
  name: string;
  sum?: { dataPoints: OtlpPoint[] };
  gauge?: { dataPoints: OtlpPoint[] };
  histogram?: { dataPoints: OtlpPoint[] };
}

function attributes(list: OtlpAttributes): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list) {
    out[key] = value.stringValue ?? value.boolValue ?? value.doubleValue ??
      Number(value.intValue);
  }
  return out;
}

/** A collector: every span, and every data point of Troupe's metrics, as they arrive. */
class Collector {
  spans: OtlpSpan[] = [];
  points: { metric: string; attributes: Record<string, unknown>; value: number }[] = [];
  #arrived: () => void = () => {};

  handle = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    const body = await request.json();
    if (path === "/v1/traces") {
      for (const resource of body.resourceSpans ?? []) {
        for (const scope of resource.scopeSpans ?? []) this.spans.push(...scope.spans);
      }
    } else if (path === "/v1/metrics") {
      for (const resource of body.resourceMetrics ?? []) {
        for (const scope of resource.scopeMetrics ?? []) {
          if (scope.scope?.name !== "troupe") continue;
          for (const metric of scope.metrics as OtlpMetric[]) {
            const data = metric.sum ?? metric.gauge ?? metric.histogram;
            for (const point of data?.dataPoints ?? []) {
              this.points.push({
                metric: metric.name,
                attributes: attributes(point.attributes),
                value: Number(point.count ?? point.asInt ?? point.asDouble),
              });
            }
          }
        }
      }
    }
    this.#arrived();
    return Response.json({});
  };

  /** Resolves once `ready()` holds, checked as each export arrives. */
  async until(ready: () => boolean): Promise<void> {
    while (!ready()) await new Promise<void>((resolve) => this.#arrived = resolve);
  }

  span(name: string, actor?: string): OtlpSpan[] {
    return this.spans.filter((s) =>
      s.name === name &&
      (actor === undefined || attributes(s.attributes)["troupe.actor.id"] === actor)
    );
  }

  /** The largest value reported for `metric` with these attributes (counters only grow). */
  latest(metric: string, match: Record<string, unknown>): number | undefined {
    let best: number | undefined;
    for (const point of this.points) {
      if (point.metric !== metric) continue;
      if (!Object.entries(match).every(([k, v]) => point.attributes[k] === v)) continue;
      best = Math.max(best ?? -Infinity, point.value);
    }
    return best;
  }
}

Deno.test("one trace follows an ask across worker, process and thread actors on every transport; metrics count a known workload", async () => {
  const collector = new Collector();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, collector.handle);
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-worker-options", PROGRAM.href],
      cwd: ROOT,
      env: {
        OTEL_DENO: "true",
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${server.addr.port}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_BSP_SCHEDULE_DELAY: "50",
        OTEL_METRIC_EXPORT_INTERVAL: "200",
        OTEL_DENO_CONSOLE: "ignore",
        OTEL_SERVICE_NAME: "troupe-telemetry-test",
      },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let line = "";
    while (!line.includes("\n")) {
      const { value, done } = await within(lines.read(), DEADLINE_MS, "the program's results");
      if (done) assert.fail(`The program ended early: ${await stderr}`);
      line += value;
    }
    const result = JSON.parse(line);
    assert.deepEqual(result.doubled, [0, 2, 4, 6, 8, 10, 12]);
    assert.equal(result.count, 5);
    assert.match(result.failed, /failed on purpose/);

    // While every actor runs: their gauges, and the semaphore's.
    const gauge = (metric: string, match: Record<string, unknown>) =>
      collector.points.findLast((p) =>
        p.metric === metric && Object.entries(match).every(([k, v]) => p.attributes[k] === v)
      )?.value;
    await within(
      collector.until(() =>
        COMBOS.every((id) => gauge("troupe.mailbox.depth", { "troupe.actor.id": id }) === 0) &&
        gauge("troupe.semaphore.available", { "troupe.semaphore": "db" }) === 2 &&
        gauge("troupe.semaphore.permits", { "troupe.semaphore": "db" }) === 3 &&
        gauge("troupe.semaphore.waiters", { "troupe.semaphore": "db" }) === 0 &&
        gauge("troupe.pool.inflight", { "troupe.pool": "pool" }) === 0 &&
        gauge("troupe.pool.queued", { "troupe.pool": "pool" }) === 0 &&
        gauge("troupe.pool.inflight", { "troupe.pool": "held" }) === 3 &&
        gauge("troupe.pool.queued", { "troupe.pool": "held" }) === 2
      ),
      DEADLINE_MS,
      "the gauges of the running actors",
    );
    await child.stdin.close();
    await lines.cancel();
    const status = await within(child.status, DEADLINE_MS, "the program's end").catch(
      async (error) => {
        child.kill("SIGKILL");
        await child.status;
        throw new Error(`${error.message}; its stderr: ${await stderr}`);
      },
    );
    assert.equal(status.code, 0, await stderr);

    // Process actors export from their own processes (OTEL_* reached them): wait for all.
    const expectedHandled: Record<string, number> = { "worker-ring": 7, "worker-queue": 5 };
    await within(
      collector.until(() =>
        collector.span("inner work").length === COMBOS.length &&
        COMBOS.every((id) =>
          collector.span("handle work", id).length === 1 &&
          collector.span("ask work", id).length === 1
        ) &&
        collector.span("request").length === 1 &&
        collector.span("handle inc", "worker-ring").length === 5 &&
        collector.span("ask get", "crashy").length === 1 &&
        Object.entries(expectedHandled).every(([id, n]) =>
          collector.latest("troupe.messages.handled", { "troupe.actor.id": id }) === n
        ) &&
        collector.latest("troupe.actor.restarts", { "troupe.actor.id": "crashy" }) === 1 &&
        collector.latest("troupe.dead_letters", { "troupe.actor.id": "worker-queue" }) === 1 &&
        COMBOS.every((id) =>
          (collector.latest("troupe.transport.messages", {
            "troupe.actor.id": id,
            "troupe.direction": "received",
          }) ?? 0) > 0
        )
      ),
      DEADLINE_MS,
      "the spans and metrics of the run",
    );

    // The trace: request -> ask work (caller) -> handle work (actor) -> inner work (handler).
    const [request] = collector.span("request");
    const inner = collector.span("inner work");
    for (const id of COMBOS) {
      const [ask] = collector.span("ask work", id);
      const [handle] = collector.span("handle work", id);
      assert.equal(ask!.traceId, request!.traceId, `${id}: ask in the request's trace`);
      assert.equal(handle!.traceId, request!.traceId, `${id}: handler in the request's trace`);
      assert.equal(ask!.parentSpanId, request!.spanId, `${id}: ask under the request`);
      assert.equal(handle!.parentSpanId, ask!.spanId, `${id}: handler under the ask`);
      assert.ok(
        inner.some((s) => s.parentSpanId === handle!.spanId && s.traceId === request!.traceId),
        `${id}: the handler's own span nests under the handler's`,
      );
      assert.equal(ask!.kind, 3, "ask: a client span");
      assert.equal(handle!.kind, 2, "handle: a server span");
      const [host, transport] = id.split("-");
      for (const span of [ask!, handle!]) {
        assert.deepEqual(attributes(span.attributes), {
          "troupe.actor.id": id,
          "troupe.actor.host": host,
          "troupe.transport": transport,
          "troupe.actor.incarnation": 1,
          "troupe.message.name": "work",
        });
      }
    }

    // A tell inside a trace: its span is in the trace, its handler's starts a trace
    // of its own, linked to it.
    const [burst] = collector.span("burst");
    const tells = collector.span("tell inc", "worker-ring");
    assert.equal(tells.length, 5);
    for (const tell of tells) {
      assert.equal(tell.parentSpanId, burst!.spanId);
      assert.equal(tell.kind, 4, "tell: a producer span");
    }
    for (const handle of collector.span("handle inc", "worker-ring")) {
      const linked = tells.find((t) => t.spanId === handle.links?.[0]?.spanId);
      assert.ok(linked, "a tell's handler links to the tell");
      assert.equal(handle.links![0]!.traceId, linked!.traceId);
      assert.notEqual(handle.traceId, linked!.traceId);
    }

    // A tell outside any trace is not traced, on either side: the producer and
    // consumer spans are those of the traced tells alone.
    const tellSpans = (kind: number) =>
      collector.spans.filter((s) => s.kind === kind)
        .map((s) => `${s.name} ${attributes(s.attributes)["troupe.actor.id"]}`).sort();
    const traced = [...Array(5).fill("inc worker-ring"), "explode worker-queue"].sort();
    assert.deepEqual(tellSpans(4), traced.map((t) => `tell ${t}`));
    assert.deepEqual(tellSpans(5), traced.map((t) => `handle ${t}`));

    // Errors are recorded on both sides of an ask, and on a traced tell's handler.
    for (const name of ["ask fail", "handle fail", "handle explode"]) {
      const [span] = collector.span(name, "worker-queue");
      assert.equal(span!.status?.code, 2, `${name}: error status`);
      const exception = span!.events?.find((e) => e.name === "exception");
      assert.ok(exception, `${name}: an exception event`);
      assert.match(
        String(attributes(exception!.attributes)["exception.message"]),
        /(failed|exploded) on purpose/,
      );
    }

    // The restarted actor is its second incarnation.
    const [restartedAsk] = collector.span("ask get", "crashy");
    assert.equal(attributes(restartedAsk!.attributes)["troupe.actor.incarnation"], 2);

    // Metrics of the known workload, never more than it.
    for (const [id, n] of Object.entries(expectedHandled)) {
      assert.equal(collector.latest("troupe.messages.handled", { "troupe.actor.id": id }), n);
    }
    assert.equal(
      collector.latest("troupe.dead_letters", {
        "troupe.actor.id": "worker-queue",
        "troupe.reason": "handler threw",
      }),
      1,
    );
    assert.equal(
      collector.latest("troupe.actor.crashes", {
        "troupe.actor.id": "crashy",
        "troupe.reason": "error",
      }),
      1,
    );
    assert.equal(
      collector.latest("troupe.actor.restarts", {
        "troupe.actor.id": "crashy",
        "troupe.reason": "error",
        "troupe.supervisor": "root",
      }),
      1,
    );
    const asks = (id: string, name: string, outcome: string) =>
      collector.latest("troupe.ask.duration", {
        "troupe.actor.id": id,
        "troupe.message.name": name,
        "troupe.outcome": outcome,
      });
    // The parent's end of each transport, read from the transports' own counters.
    const transport = (metric: string, id: string, direction: string) =>
      collector.latest(`troupe.transport.${metric}`, {
        "troupe.actor.id": id,
        "troupe.transport": id.split("-")[1],
        "troupe.direction": direction,
      }) ?? -1;
    for (const id of COMBOS) {
      for (const direction of ["sent", "received"]) {
        const messages = transport("messages", id, direction);
        const batches = transport("batches", id, direction);
        assert.ok(messages >= 1, `${id}: messages ${direction} (${messages})`);
        assert.ok(batches >= 1 && batches <= messages, `${id}: batches ${direction} (${batches})`);
        const bytes = transport("bytes", id, direction);
        // queue posts structured clones; ring, pipe and socket encode.
        if (id.endsWith("queue")) assert.equal(bytes, 0, `${id}: bytes ${direction}`);
        else assert.ok(bytes > messages, `${id}: bytes ${direction} (${bytes})`);
      }
    }
    // worker-queue handled 5 messages, each sent by the parent.
    assert.ok(transport("messages", "worker-queue", "sent") >= 5);

    assert.equal(asks("worker-ring", "work", "ok"), 1);
    assert.equal(asks("worker-ring", "get", "ok"), 1);
    assert.equal(asks("worker-queue", "fail", "error"), 1);
  } finally {
    await server.shutdown();
  }
});

Deno.test('with telemetry: { tells: "all" } a tell outside any trace gets a root producer span and a linked handler span', async () => {
  const collector = new Collector();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, collector.handle);
  try {
    const output = await within(
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", TELLS_PROGRAM.href],
        cwd: ROOT,
        env: {
          OTEL_DENO: "true",
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${server.addr.port}`,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_BSP_SCHEDULE_DELAY: "50",
          OTEL_DENO_CONSOLE: "ignore",
          OTEL_SERVICE_NAME: "troupe-telemetry-tells-test",
        },
        stdout: "piped",
        stderr: "piped",
      }).output(),
      DEADLINE_MS,
      "the program",
    );
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(output.stdout)), { count: 3 });
    await within(
      collector.until(() =>
        collector.span("tell inc", "all-tells").length === 3 &&
        collector.span("handle inc", "all-tells").length === 3
      ),
      DEADLINE_MS,
      "the spans of the tells",
    );
    const tells = collector.span("tell inc", "all-tells");
    for (const tell of tells) {
      assert.equal(tell.kind, 4, "tell: a producer span");
      assert.equal(tell.parentSpanId || undefined, undefined, "tell: the root of its trace");
    }
    assert.equal(new Set(tells.map((t) => t.traceId)).size, 3, "each tell: a trace of its own");
    for (const handle of collector.span("handle inc", "all-tells")) {
      assert.equal(handle.kind, 5, "handler: a consumer span");
      const linked = tells.find((t) => t.spanId === handle.links?.[0]?.spanId);
      assert.ok(linked, "a tell's handler links to the tell");
    }
  } finally {
    await server.shutdown();
  }
});
