// The soak mode of the bench (`deno task bench --soak DURATION`): a very short run as a
// subprocess, and the arithmetic it judges the run by.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { SoakJson } from "../bench/soak.ts";
import { parseDuration, slope, soakFigures, soakPlan } from "../bench/soak_report.ts";
import type { SoakSample } from "../bench/soak_report.ts";

const MAIN = new URL("../bench/main.ts", import.meta.url);

Deno.test({
  name: "bench --soak 15s samples the pipeline, injects crashes and sees no other error",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "troupe-soak-" });
    try {
      const file = join(dir, "soak.json");
      const plot = join(dir, "soak.svg");
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          MAIN.pathname,
          "--soak",
          "15s",
          "--soak-sample",
          "2s",
          "--json",
          file,
          "--plot",
          plot,
        ],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(90_000),
      }).output();
      const out = new TextDecoder().decode(stdout);
      assert.equal(code, 0, `${out}\n${new TextDecoder().decode(stderr)}`);
      const json = JSON.parse(await Deno.readTextFile(file)) as SoakJson;
      assert.equal(json.mode, "soak");
      assert.ok(json.soak.samples.length >= 5, `${json.soak.samples.length} samples`);
      assert.ok(json.soak.crashes > 0, "no crash was injected");
      assert.equal(json.soak.errors, 0, json.soak.errorMessages.join("\n"));
      assert.equal(json.results["soak.errors"].value, 0);
      for (const s of json.soak.samples) {
        assert.ok(s.rssMiB > 0 && s.fds > 0 && s.threads > 0, JSON.stringify(s));
        // Every isolate has V8 pages, and Deno's threads have malloc arenas.
        assert.ok(s.anonKinds!.v8Pages > 0 && s.anonKinds!.arenas > 0, JSON.stringify(s));
      }
      assert.ok(json.soak.samples.some((s) => s.asks > 0 && s.p99Ms >= s.p50Ms && s.p50Ms > 0));
      assert.match(out, /errors other than the injected crashes +0 errors +target <= 0 +PASS/);
      assert.match(await Deno.readTextFile(plot), /^<svg [^>]*>[\s\S]*threads[\s\S]*<\/svg>\n$/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "bench --soak-crash-every off injects no crash",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "troupe-soak-" });
    try {
      const file = join(dir, "soak.json");
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          MAIN.pathname,
          "--soak",
          "4s",
          "--soak-sample",
          "1s",
          "--soak-crash-every",
          "off",
          "--json",
          file,
        ],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(60_000),
      }).output();
      const out = new TextDecoder().decode(stdout);
      assert.equal(code, 0, `${out}\n${new TextDecoder().decode(stderr)}`);
      const json = JSON.parse(await Deno.readTextFile(file)) as SoakJson;
      assert.equal(json.soak.crashes, 0);
      assert.equal(json.soak.errors, 0, json.soak.errorMessages.join("\n"));
      assert.match(out, /crash every off/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("bench --soak refuses a duration without a unit", async () => {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN.pathname, "--soak", "30"],
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  assert.equal(code, 2);
  assert.match(new TextDecoder().decode(stderr), /Cannot parse the duration.*received "30"/);
});

Deno.test("parseDuration() reads minutes, seconds, milliseconds and hours", () => {
  assert.equal(parseDuration("30m"), 1_800_000);
  assert.equal(parseDuration("90s"), 90_000);
  assert.equal(parseDuration("1.5s"), 1_500);
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("1h"), 3_600_000);
  assert.throws(() => parseDuration("0s"), RangeError);
  assert.throws(() => parseDuration("ten minutes"), RangeError);
});

Deno.test("soakPlan() crashes every minute after a 2-minute warm-up, scaled down for short runs", () => {
  assert.deepEqual(soakPlan(1_800_000), {
    durationMs: 1_800_000,
    sampleMs: 10_000,
    crashEveryMs: 60_000,
    warmupMs: 120_000,
  });
  assert.deepEqual(soakPlan(60_000), {
    durationMs: 60_000,
    sampleMs: 5_000,
    crashEveryMs: 20_000,
    warmupMs: 12_000,
  });
  assert.equal(soakPlan(15_000, 2_000).sampleMs, 2_000);
});

Deno.test("slope() is the least-squares slope", () => {
  assert.equal(slope([0, 1, 2, 3], [1, 3, 5, 7]), 2);
  assert.equal(slope([0, 1, 2], [4, 4, 4]), 0);
  assert.equal(slope([5], [1]), 0);
});

Deno.test("soakFigures() judges only the samples after the warm-up", () => {
  const sample = (t: number, rssMiB: number, fds: number): SoakSample => ({
    t,
    rssMiB,
    heapMiB: 5,
    childRssMiB: 1,
    fds,
    threads: 10,
    tokioThreads: 2,
    p50Ms: 1,
    p99Ms: 2,
    asks: 10,
    crashes: 0,
    errors: 0,
    load1: 0,
  });
  // A warm-up that grows 100 MiB and opens 50 fds, then 0.5 MiB per 10 minutes, fds flat.
  const samples = [sample(0, 100, 10), sample(60, 200, 60)];
  for (let t = 120; t <= 1800; t += 10) samples.push(sample(t, 200 + (t - 120) / 1200, 60));
  const asks = samples.map((s) => ({ t: s.t, ms: s.t < 1200 ? 2 : 3 }));
  const byId = new Map(soakFigures(samples, asks, 120, 0).map((f) => [f.id, f]));
  assert.ok(Math.abs(byId.get("soak.rss.slope")!.value - 0.5) < 1e-9);
  assert.equal(byId.get("soak.rss.slope")!.pass, true);
  assert.equal(byId.get("soak.fds.spread")!.value, 0);
  assert.equal(byId.get("soak.p99.drift")!.value, 50);
  assert.equal(byId.get("soak.p99.drift")!.pass, false);
  assert.equal(byId.get("soak.errors")!.pass, true);
  assert.equal(soakFigures(samples, asks, 120, 1).at(-1)!.pass, false);
});
