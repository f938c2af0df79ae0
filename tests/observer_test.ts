// `troupe run --observe` and `--metrics`, driven as a real subprocess and
// looked at in a real browser: headless Chromium over the DevTools protocol
// (a WebSocket from Deno). The page must draw the tree, show a crash and the
// new restart count without a reload, mark a supervisor that gave up, and
// every request without the token must be refused. /metrics must parse as
// the Prometheus text format.
//
// Chromium is Debian's `chromium` (`.ci/run` installs it); without it, the
// browser test fails and says so. TROUPE_OBSERVER_SCREENSHOT=path saves the
// screenshot there too (that is how docs/observer.png is made).
import assert from "node:assert/strict";
import { join } from "node:path";
import { within } from "./_helpers.ts";
import { Background, CLI, ROOT, WAIT_MS } from "./_cli.ts";
import { ObserverModel } from "../cli/_observe_model.ts";
import { renderMetrics } from "../cli/_observe_metrics.ts";
import { parsePrometheus, sample } from "./_prometheus.ts";
import { startNatsServer } from "./nats/_server.ts";
import { NatsNode } from "../actors/cluster/mod.ts";
import type { inActorProbe } from "./fixtures/in_actor_probe.ts";
import { parseAddress, sameToken } from "../cli/_observe.ts";
import type { ActorStats, SystemStats } from "../mod.ts";

const APP = new URL("./fixtures/observer_app.ts", import.meta.url).pathname;
const DYNAMIC_APP = new URL("./fixtures/observer_dynamic_app.ts", import.meta.url).pathname;
const NATS_APP = new URL("./fixtures/observer_nats_app.ts", import.meta.url).pathname;
const CHROMIUM = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";
const DOM_MS = 15_000;

// ---------------------------------------------------------------------------
// The service.

async function withService(
  args: string[],
  fn: (service: Background, url: URL) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "troupe-observer-test-" });
  const service = new Background(args, { ...env, XDG_RUNTIME_DIR: dir });
  let stopped = false;
  try {
    const observerLine = /^troupe: observer at (http:\/\/\S+)$/;
    const [, url] = service.lines[await service.waitFor(observerLine)]!.match(observerLine)!;
    await service.waitFor(/observer fixture ready/);
    await fn(service, new URL(url!));
    service.child.kill("SIGTERM");
    const result = await service.finish();
    stopped = true;
    assert.equal(result.code, 0, result.stderr);
  } finally {
    if (!stopped) await service.kill();
    await Deno.remove(dir, { recursive: true });
  }
}

// ---------------------------------------------------------------------------
// Chromium over the DevTools protocol.

interface CdpMessage {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

/** A headless Chromium and one page in it. */
class Browser {
  #child: Deno.ChildProcess;
  #dir: string;
  #socket!: WebSocket;
  #nextId = 1;
  #pending = new Map<
    number,
    { resolve(v: Record<string, unknown>): void; reject(e: Error): void }
  >();
  #session = "";
  #closed!: Promise<void>;
  #stderr: ReadableStreamDefaultReader<string>;

  private constructor(child: Deno.ChildProcess, dir: string) {
    this.#child = child;
    this.#dir = dir;
    this.#stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  }

  static async launch(): Promise<Browser> {
    try {
      await Deno.stat(CHROMIUM);
    } catch {
      throw new Error(
        `this test needs Chromium at ${CHROMIUM} (Debian: apt-get install -y chromium; .ci/run ` +
          `installs it; or set CHROMIUM=/path/to/chromium)`,
      );
    }
    const dir = await Deno.makeTempDir({ prefix: "troupe-observer-chromium-" });
    const child = new Deno.Command(CHROMIUM, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
        `--user-data-dir=${dir}`,
        "--remote-debugging-port=0",
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const browser = new Browser(child, dir);
    try {
      await browser.#connect();
    } catch (error) {
      await browser.close();
      throw error;
    }
    return browser;
  }

  /** Reads Chromium's stderr up to "DevTools listening on ws://...", then connects. */
  async #connect(): Promise<void> {
    let text = "";
    let endpoint: string | undefined;
    while (endpoint === undefined) {
      const { value, done } = await within(this.#stderr.read(), WAIT_MS, "Chromium's DevTools");
      if (done) throw new Error(`Chromium exited before it listened:\n${text}`);
      text += value;
      endpoint = text.match(/DevTools listening on (ws:\/\/\S+)/)?.[1];
    }
    // Keep draining stderr so Chromium never blocks on it.
    void (async () => {
      try {
        while (!(await this.#stderr.read()).done);
      } catch {
        // Cancelled at close.
      }
    })();
    const socket = new WebSocket(endpoint);
    this.#socket = socket;
    this.#closed = new Promise((resolve) => socket.addEventListener("close", () => resolve()));
    await within(
      new Promise<void>((resolve, reject) => {
        socket.onopen = () => resolve();
        socket.onerror = () => reject(new Error("cannot connect to Chromium's DevTools"));
      }),
      WAIT_MS,
      "the DevTools WebSocket",
    );
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data as string) as CdpMessage;
      if (message.id === undefined) return;
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      if (message.error) pending.reject(new Error(`CDP: ${message.error.message}`));
      else pending.resolve(message.result ?? {});
    };
    const { targetId } = await this.#send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await this.#send("Target.attachToTarget", { targetId, flatten: true });
    this.#session = sessionId as string;
    await this.send("Page.enable");
    await this.send("Emulation.setDeviceMetricsOverride", {
      width: 1360,
      height: 640,
      deviceScaleFactor: 1,
      mobile: false,
    });
  }

  #send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    const answer = new Promise<Record<string, unknown>>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
    });
    this.#socket.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    return within(answer, WAIT_MS, method);
  }

  /** A command to the page. */
  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.#send(method, params, this.#session);
  }

  /** Loads `url` and waits for its load event. */
  async open(url: string): Promise<void> {
    const result = await this.send("Page.navigate", { url });
    if (result.errorText) throw new Error(`cannot load ${url}: ${result.errorText}`);
    await this.until("document.readyState === 'complete'", "the page's load");
  }

  /** The value of an expression in the page. */
  async evaluate<T>(expression: string): Promise<T> {
    const result = await this.send("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    });
    const exception = result.exceptionDetails as
      | { exception?: { description?: string } }
      | undefined;
    if (exception) throw new Error(exception.exception?.description ?? "evaluation failed");
    return (result.result as { value: T }).value;
  }

  /**
   * Waits until `expression` is truthy in the page (checked there every 20
   * ms, on the page's own clock), and returns its value; fails after `ms`.
   */
  until<T>(expression: string, what: string, ms = DOM_MS): Promise<T> {
    return this.evaluate<T>(`new Promise((resolve, reject) => {
      const start = performance.now();
      const check = () => {
        let value;
        try { value = (${expression}); } catch (_) { value = undefined; }
        if (value) return resolve(value);
        if (performance.now() - start > ${ms}) {
          const page = document.body.innerText.slice(0, 3000);
          return reject(new Error(${
      JSON.stringify(`timed out after ${ms} ms waiting for ${what}`)
    } +
            "; the page says:\\n" + page));
        }
        setTimeout(check, 20);
      };
      check();
    })`);
  }

  async screenshot(): Promise<Uint8Array> {
    const { data } = await this.send("Page.captureScreenshot", { format: "png" });
    return Uint8Array.from(atob(data as string), (c) => c.charCodeAt(0));
  }

  async close(): Promise<void> {
    if (this.#socket?.readyState === WebSocket.OPEN) {
      await this.#send("Browser.close").catch(() => {});
      this.#socket.close();
    }
    if (this.#socket) await within(this.#closed, WAIT_MS, "the DevTools socket's close");
    const exited = await within(this.#child.status, 5000, "Chromium's exit").catch(() => undefined);
    if (!exited) {
      this.#child.kill("SIGKILL");
      await this.#child.status;
    }
    await this.#stderr.cancel().catch(() => {});
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

Deno.test("the Prometheus checker refuses malformed expositions", () => {
  const good = '# HELP a_total A.\n# TYPE a_total counter\na_total{id="x\\"y"} 3\n';
  assert.equal(parsePrometheus(good).samples[0]!.labels.id, 'x"y');
  for (
    const bad of [
      "a 1\n", // no TYPE
      "# HELP a A.\n# TYPE a gauge\na{id=x} 1\n", // unquoted label
      "# HELP a A.\n# TYPE a gauge\na 1\n# HELP b B.\n# TYPE b gauge\nb 1\na 2\n", // split
      "# HELP a A.\n# TYPE a gauge\na one\n", // not a number
      "# HELP a A.\n# TYPE a gauge\na 1\na 1\n", // twice
      "# HELP a A.\n# TYPE a gauge\na 1", // no final newline
      "# HELP a A.\n# TYPE a counter\na -1\n", // negative counter
      "# HELP a A.\n# TYPE a wobbly\na 1\n", // unknown type
    ]
  ) {
    assert.throws(() => parsePrometheus(bad), bad);
  }
});

// ---------------------------------------------------------------------------
// The model, the metrics and the helpers, without a service.

const STATS: SystemStats = {
  actors: 0,
  spawned: 0,
  exits: {},
  deadLetters: 0,
  events: {},
  eventsDropped: 0,
  supervisors: 0,
  leaked: 0,
};

function stats(id: string, handled = 0, extra: Partial<ActorStats> = {}): ActorStats {
  return {
    id,
    state: "running",
    host: "worker",
    transport: "ring",
    restarts: 0,
    handled,
    inflight: 0,
    waiting: 0,
    pendingAsks: 0,
    capacity: 64,
    ...extra,
  };
}

Deno.test("the model puts an actor a sample saw before its started event under its supervisor", () => {
  const model = new ObserverModel();
  model.addSpec({ id: "root", children: [{ id: "b", module: "x" }, { id: "a", module: "x" }] });
  // A pool started later: its workers show in system.actors() before their events are read.
  model.sample([stats("b"), stats("a"), stats("pool-2"), stats("pool-1")]);
  for (const id of ["pool-2", "pool-1"]) {
    model.onEvent({ type: "started", id, host: "worker", supervisor: "pool", time: 0 });
  }
  const snap = model.snapshot({ name: "s", pid: 1, app: "a", state: "running", started: 0 }, STATS);
  assert.deepEqual(snap.roots, ["root", "pool"]);
  assert.deepEqual(snap.supervisors.root!.children, ["b", "a"], "spec order");
  assert.deepEqual(snap.supervisors.pool!.children, ["pool-1", "pool-2"], "a pool by id");
  assert.equal(snap.actors["pool-1"]!.parent, "pool");
});

Deno.test("the model takes the tree's shape from system.tree(): nesting, order, children that left", () => {
  const model = new ObserverModel();
  model.addSpec({ id: "root", children: [{ id: "a", module: "x" }] });
  // Events came first: deep's supervisor looks like a root, and the pool has its first worker.
  model.onEvent({ type: "started", id: "deep", host: "worker", supervisor: "nested", time: 0 });
  model.onEvent({ type: "started", id: "pool-1", host: "worker", supervisor: "pool", time: 0 });
  model.sample([stats("a"), stats("deep"), stats("pool-1"), stats("plain")]);
  model.shape([
    {
      id: "root",
      kind: "supervisor",
      state: "running",
      children: [{ id: "a", kind: "actor", state: "running" }],
    },
    {
      id: "later",
      kind: "supervisor",
      state: "running",
      children: [{
        id: "nested",
        kind: "supervisor",
        state: "gave-up",
        children: [{ id: "deep", kind: "actor", state: "restarting" }],
      }],
    },
    {
      id: "pool",
      kind: "supervisor",
      state: "running",
      children: [{ id: "pool-2", kind: "actor", state: "starting" }],
    },
  ]);
  const snap = model.snapshot({ name: "s", pid: 1, app: "a", state: "running", started: 0 }, STATS);
  assert.deepEqual(snap.roots, ["root", "later", "pool", "plain"]);
  assert.deepEqual(snap.supervisors.later!.children, ["nested"]);
  assert.equal(snap.supervisors.nested!.parent, "later");
  assert.deepEqual(snap.supervisors.pool!.children, ["pool-2"]);
  assert.equal(snap.actors["pool-1"], undefined, "a retired worker leaves the picture");
  assert.equal(snap.actors["pool-2"]!.state, "starting");
  assert.equal(
    snap.supervisors.nested!.state,
    "gave-up",
    "a supervisor's state comes from the tree",
  );
  assert.equal(snap.supervisors.later!.state, "running");
  // deep is not among the running actors any more: its supervisor says why.
  model.refresh([stats("a"), stats("pool-2"), stats("plain")]);
  model.shape([{
    id: "later",
    kind: "supervisor",
    state: "running",
    children: [{
      id: "nested",
      kind: "supervisor",
      state: "gave-up",
      children: [{ id: "deep", kind: "actor", state: "restarting" }],
    }],
  }]);
  assert.equal(
    model.snapshot({ name: "s", pid: 1, app: "a", state: "running", started: 0 }, STATS)
      .actors.deep!.state,
    "restarting",
  );
  // A supervisor gone from the tree (stopped, gave up) keeps its last picture.
  model.shape([{
    id: "root",
    kind: "supervisor",
    state: "running",
    children: [{ id: "a", kind: "actor", state: "running" }],
  }]);
  const after = model.snapshot(
    { name: "s", pid: 1, app: "a", state: "running", started: 0 },
    STATS,
  );
  assert.deepEqual(after.roots, ["root", "later", "pool", "plain"]);
  assert.deepEqual(after.supervisors.pool!.children, ["pool-2"]);
});

Deno.test("the model keeps crashes with their stack, marks a supervisor that gave up, and rates", () => {
  const model = new ObserverModel();
  model.addSpec({
    id: "root",
    children: [{ id: "inner", children: [{ id: "a", module: "x" }, { id: "b", module: "x" }] }],
  });
  model.sample([stats("a", 0), stats("b", 0)], 0);
  model.sample([stats("a", 50), stats("b", 0)], 500);
  let snap = model.snapshot({ name: "s", pid: 1, app: "a", state: "running", started: 0 }, STATS);
  assert.equal(snap.actors.a!.rate, 100);
  assert.deepEqual(snap.actors.a!.history, [0, 100]);
  const error = new Error("boom <b>");
  model.onEvent({ type: "crashed", id: "a", reason: "error", error, supervisor: "inner", time: 5 });
  model.onEvent({
    type: "gave-up",
    id: "inner",
    crashes: [{ id: "a", reason: "error", time: 5 }],
    error: new Error("inner gave up"),
    time: 6,
  });
  model.sample([], 1000);
  snap = model.snapshot({ name: "s", pid: 1, app: "a", state: "running", started: 0 }, STATS);
  assert.equal(snap.crashes[0]!.message, "boom <b>");
  assert.equal(snap.crashes[0]!.stack, error.stack);
  assert.equal(snap.actors.a!.state, "crashed");
  assert.equal(snap.actors.b!.state, "down");
  assert.equal(snap.supervisors.inner!.gaveUp?.message, "inner gave up");
  assert.equal(snap.supervisors.inner!.gaveUp?.restarted, false);
  model.onEvent({
    type: "restarted",
    id: "inner",
    supervisor: "root",
    attempt: 1,
    delayMs: 0,
    time: 7,
  });
  snap = model.snapshot({ name: "s", pid: 1, app: "a", state: "running", started: 0 }, STATS);
  assert.equal(snap.supervisors.inner!.gaveUp?.restarted, true);
  assert.equal(snap.supervisors.inner!.restarts, 1);
  // /metrics escapes what a label value may hold, and the checker reads it back.
  model.sample([stats('we"ird\\id\n', 1)], 1500);
  const text = renderMetrics(
    model.actorViews(),
    model.supervisorViews(),
    STATS,
    model.crashCounts,
  );
  const { samples } = parsePrometheus(text);
  assert.equal(sample(samples, "troupe_actor_crashes_total", { id: "a" }), 1);
  assert.equal(sample(samples, "troupe_supervisor_gave_up", { id: "inner" }), 0);
  assert.equal(sample(samples, "troupe_actor_up", { id: 'we"ird\\id\n' }), 1);
});

Deno.test("the model counts a restart once, whether the sample or the restarted event comes first", () => {
  for (const order of ["sample first", "event first"]) {
    const model = new ObserverModel();
    model.addSpec({ id: "root", children: [{ id: "a", module: "x" }] });
    model.onEvent({ type: "started", id: "a", host: "worker", supervisor: "root", time: 0 });
    model.sample([stats("a")], 0);
    model.onEvent({ type: "crashed", id: "a", reason: "error", supervisor: "root", time: 1 });
    const restarted = () =>
      model.onEvent({
        type: "restarted",
        id: "a",
        supervisor: "root",
        attempt: 1,
        delayMs: 0,
        time: 2,
      });
    if (order === "event first") restarted();
    model.sample([stats("a", 0, { restarts: 1 })], 500);
    if (order === "sample first") restarted();
    const snap = model.snapshot(
      { name: "s", pid: 1, app: "a", state: "running", started: 0 },
      STATS,
    );
    assert.equal(snap.actors.a!.restarts, 1, order);
    assert.equal(snap.actors.a!.crashes, 1, order);
  }
});

Deno.test("--observe addresses, and tokens compared whole", async () => {
  assert.deepEqual(parseAddress(""), { hostname: "127.0.0.1", port: 0 });
  assert.deepEqual(parseAddress("9464"), { hostname: "127.0.0.1", port: 9464 });
  assert.deepEqual(parseAddress(":9464"), { hostname: "127.0.0.1", port: 9464 });
  assert.deepEqual(parseAddress("0.0.0.0:80"), { hostname: "0.0.0.0", port: 80 });
  assert.deepEqual(parseAddress("[::1]:9464"), { hostname: "::1", port: 9464 });
  for (const bad of ["host:", "host:99999", "app.ts", "a b:1"]) {
    assert.throws(() => parseAddress(bad), /--observe/, bad);
  }
  const expected = new Uint8Array(await crypto.subtle.digest("SHA-256", encode("secret-token")));
  assert.equal(await sameToken("secret-token", expected), true);
  for (const wrong of ["", "secret-toke", "secret-token ", "Secret-token", "secret-tokenx"]) {
    assert.equal(await sameToken(wrong, expected), false, wrong);
  }
});

function encode(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text);
}

// ---------------------------------------------------------------------------

async function status(url: URL | string, init?: RequestInit): Promise<number> {
  const response = await fetch(url, init);
  await response.body?.cancel();
  return response.status;
}

Deno.test("the observer page draws the tree live in Chromium: a crash, its stack and the restart show up without a reload", async () => {
  await withService(["run", "--observe", APP], async (service, url) => {
    assert.equal(url.hostname, "127.0.0.1");
    const token = url.searchParams.get("token")!;
    assert.ok(token.length >= 40, token);
    const browser = await Browser.launch();
    try {
      await browser.open(url.href);
      // The tree, in the spec's order, with every actor's figures.
      const names = await browser.until<string[]>(
        `document.querySelectorAll("tr.actor").length === 6 &&
          [...document.querySelectorAll("tr.actor, tr.supervisor")].map((row) =>
            row.dataset.actor ?? ("sup:" + row.dataset.supervisor))`,
        "six actors in the tree",
      );
      assert.deepEqual(names, [
        "sup:root",
        "alpha",
        "beta",
        "sup:inner",
        "gamma",
        "sup:fragile",
        "delta",
        "sup:workers",
        "workers-1",
        "workers-2",
      ]);
      const field = (id: string, name: string) =>
        `document.querySelector('[data-actor="${id}"] [data-field="${name}"]')?.textContent`;
      assert.equal(await browser.evaluate(field("beta", "host")), "process");
      assert.match(await browser.evaluate<string>(field("beta", "pid")), /^\d+$/);
      assert.equal(await browser.evaluate(field("alpha", "pid")), "worker");
      assert.equal(await browser.evaluate(field("alpha", "transport")), "queue");
      assert.equal(await browser.evaluate(field("gamma", "restarts")), "0");
      // alpha is kept busy: its rate and sparkline come in over the stream.
      await browser.until(`Number(${field("alpha", "rate")}) > 0`, "alpha's messages per second");
      const updatesBefore = await browser.evaluate<number>("window.__updates");

      // A crash, through the service: it appears with its message and stack, and the restart
      // count goes up, on the same page.
      service.child.kill("SIGUSR1");
      const crash = await browser.until<{ msg: string; stack: string }>(
        `(() => {
          const c = document.querySelector('[data-crash="gamma"]');
          return c && { msg: c.querySelector(".msg").textContent,
                        stack: c.querySelector("pre")?.textContent ?? "" };
        })()`,
        "gamma's crash in the crash list",
      );
      assert.match(crash.msg, /crashed on purpose/);
      assert.match(crash.stack, /cli_actor\.ts/);
      await browser.until(`${field("gamma", "restarts")} === "1"`, "gamma's restart count");
      await browser.until(`${field("gamma", "state")} === "running"`, "gamma running again");
      assert.ok(await browser.evaluate<number>("window.__updates") > updatesBefore);
      assert.equal(
        await browser.evaluate("performance.getEntriesByType('navigation').length"),
        1,
        "no reload",
      );

      // A supervisor that gives up is marked.
      service.child.kill("SIGUSR2");
      const gaveUp = await browser.until<string>(
        `document.querySelector('[data-supervisor="fragile"][data-gave-up] [data-field="gave-up"]')
          ?.textContent`,
        "fragile marked as gave up",
      );
      assert.match(gaveUp, /GAVE UP/);
      await browser.until(
        `["crashed", "down"].includes(${field("delta", "state")})`,
        "delta down",
      );

      const copy = Deno.env.get("TROUPE_OBSERVER_SCREENSHOT");
      if (copy) {
        // For the README: wait until alpha's sparkline has 20 s of history.
        await browser.until(
          `window.__snapshot.actors.alpha.history.length >= 40`,
          "20 s of history",
          60_000,
        );
      }
      const png = await browser.screenshot();
      assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], "a PNG");
      // The artefact: one file, replaced by each run.
      const artefacts = join(Deno.env.get("TMPDIR") || "/tmp", "troupe-observer-artefacts");
      await Deno.mkdir(artefacts, { recursive: true });
      const path = join(artefacts, "observer.png");
      await Deno.writeFile(path, png);
      console.log(`screenshot: ${path} (${png.length} bytes)`);
      if (copy) await Deno.writeFile(copy, png);

      // A wrong token: the page, its stream and its snapshot are refused, in the browser too.
      const wrong = new URL(url);
      wrong.searchParams.set("token", token.slice(0, -1) + (token.endsWith("A") ? "B" : "A"));
      await browser.open(wrong.href);
      assert.match(await browser.evaluate<string>("document.body.innerText"), /^403 Forbidden/);
      assert.equal(await browser.evaluate("document.querySelector('#tree')"), null);
    } finally {
      await browser.close();
    }
  });
});

Deno.test("the observer page draws the tree as system.tree() has it: a tree main started with its nested supervisor, a pool's recycled worker, an unsupervised actor", async () => {
  await withService(["run", "--observe", DYNAMIC_APP], async (_service, url) => {
    const browser = await Browser.launch();
    try {
      await browser.open(url.href);
      // Each row as its guide and name: the guide shows the depth and the last child.
      const expected = [
        "root",
        "\u2514\u2500 alpha",
        "later",
        "\u251c\u2500 early",
        "\u2514\u2500 nested", // under later, not at the top
        "   \u2514\u2500 deep",
        "recycling",
        "\u2514\u2500 recycling-2", // recycling-1 retired after its two tasks: gone
        "plain",
      ];
      const rows = await browser.until<string[]>(
        `(() => {
          const rows = [...document.querySelectorAll("tr.actor, tr.supervisor")].map((row) =>
            row.querySelector(".guide").textContent + row.querySelector(".name").textContent);
          return JSON.stringify(rows) === ${JSON.stringify(JSON.stringify(expected))} && rows;
        })()`,
        `the rows ${JSON.stringify(expected)}`,
      );
      assert.deepEqual(rows, expected);
      const snapshot = await (await fetch(new URL(`/snapshot${url.search}`, url))).json();
      assert.equal(snapshot.supervisors.nested.parent, "later");
      assert.equal(snapshot.actors.deep.parent, "nested");
      assert.equal(snapshot.actors["recycling-1"], undefined);
      assert.equal(snapshot.actors["recycling-2"].state, "running");
      assert.equal(snapshot.actors.plain.parent, null);
    } finally {
      await browser.close();
    }
  });
});

Deno.test("the observer page shows the app's NATS node and each name it exposes, with the thread that serves it", async () => {
  await using server = await startNatsServer();
  await withService(["run", "--observe", NATS_APP], async (_service, url) => {
    const browser = await Browser.launch();
    try {
      await browser.open(url.href);
      await using caller = await NatsNode.connect({ servers: server.url, namespace: "obs" });
      const fast = caller.lookup<typeof inActorProbe>("fast");
      for (let i = 0; i < 3; i++) await fast.ask("inc", 1);
      await caller.lookup<typeof inActorProbe>("plain").tell("inc", 1);
      const field = (name: string, key: string) =>
        `document.querySelector('tr.nats-name[data-name="${name}"] [data-field="${key}"]')?.textContent`;
      const seen = await browser.until<string[]>(
        `(() => {
          const seen = [${field("fast", "served-in")}, ${field("fast", "requests")},
            ${field("fast", "replied")}, ${field("plain", "served-in")}, ${field("plain", "told")},
            document.querySelector('tr.nats-node[data-node="observed-1"] [data-field="connected"]')
              ?.textContent];
          return seen[1] === "3" && seen[4] === "1" && seen;
        })()`,
        "the NATS rows with the asks and the tell counted",
      );
      assert.deepEqual(seen, ["actor", "3", "3", "node", "1", "connected"]);
      const snapshot = await (await fetch(new URL(`/snapshot${url.search}`, url))).json();
      assert.equal(snapshot.nats[0].name, "observed-1");
      assert.equal(snapshot.nats[0].exposed.length, 2);
    } finally {
      await browser.close();
    }
  }, { TROUPE_TEST_NATS_URL: server.url });
});

Deno.test("every request without the right token is refused: 401 without one, 403 with a wrong one", async () => {
  await withService(
    ["run", "--observe", "0", "--metrics", APP],
    async (_service, url) => {
      const token = url.searchParams.get("token")!;
      const at = (path: string, query = "") => new URL(`${path}${query}`, url.origin);
      for (const path of ["/", "/events", "/snapshot", "/metrics", "/nothing", "/favicon.ico"]) {
        assert.equal(await status(at(path)), 401, path);
        assert.equal(await status(at(path, "?token=")), 401, path);
        assert.equal(await status(at(path, "?token=wrong")), 403, path);
        assert.equal(await status(at(path, `?token=${token}x`)), 403, path);
        assert.equal(
          await status(at(path), { headers: { authorization: "Bearer not-the-token" } }),
          403,
          path,
        );
      }
      assert.equal(await status(at("/", `?token=${token}`)), 200);
      assert.equal(await status(at("/nothing", `?token=${token}`)), 404);
      assert.equal(
        await status(at("/metrics"), { headers: { authorization: `Bearer ${token}` } }),
        200,
      );
      assert.equal(await status(at("/", `?token=${token}`), { method: "POST" }), 405);
      const page = await fetch(at("/", `?token=${token}`));
      const html = await page.text();
      const csp = page.headers.get("content-security-policy") ?? "";
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /connect-src 'self'/);
      assert.equal(page.headers.get("referrer-policy"), "no-referrer");
      // Nothing is fetched from elsewhere: no absolute URL in the page's sources.
      assert.doesNotMatch(html, /(src|href)=["']?(https?:)?\/\//i);
      assert.doesNotMatch(html, /@import|url\(/i);

      // The stream is Server-Sent Events, and its first event is a snapshot of the tree.
      const events = await fetch(at("/events", `?token=${token}`));
      assert.equal(events.headers.get("content-type"), "text/event-stream; charset=utf-8");
      const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes("\n\n")) {
        const { value, done } = await within(reader.read(), WAIT_MS, "the first event");
        if (done) break;
        text += value;
      }
      await reader.cancel();
      const data = JSON.parse(text.match(/^data: (.*)$/m)![1]!);
      assert.deepEqual(data.roots, ["root", "workers"]);
      assert.deepEqual(Object.keys(data.actors).sort(), [
        "alpha",
        "beta",
        "delta",
        "gamma",
        "workers-1",
        "workers-2",
      ]);
    },
  );
});

Deno.test("--metrics serves the figures in the Prometheus text format, per actor with id, host and transport", async () => {
  await withService(["run", "--metrics", APP], async (service, url) => {
    const token = url.searchParams.get("token")!;
    const [, metricsUrl] = service.lines.join("\n").match(/^troupe: metrics at (\S+)$/m) ?? [];
    assert.equal(metricsUrl, new URL(`/metrics?token=${token}`, url.origin).href);
    const scrape = async () => {
      const response = await fetch(metricsUrl!);
      assert.equal(response.status, 200);
      assert.equal(
        response.headers.get("content-type"),
        "text/plain; version=0.0.4; charset=utf-8",
      );
      return parsePrometheus(await response.text());
    };
    const first = await scrape();
    for (
      const [name, type] of [
        ["troupe_actor_up", "gauge"],
        ["troupe_actor_messages_handled_total", "counter"],
        ["troupe_actor_messages_per_second", "gauge"],
        ["troupe_actor_mailbox_depth", "gauge"],
        ["troupe_actor_mailbox_capacity", "gauge"],
        ["troupe_actor_restarts_total", "counter"],
        ["troupe_actor_crashes_total", "counter"],
        ["troupe_supervisor_gave_up", "gauge"],
        ["troupe_dead_letters_total", "counter"],
        ["troupe_actors", "gauge"],
      ]
    ) assert.equal(first.types.get(name), type, name);
    const beta = { id: "beta", host: "process", transport: "pipe" };
    assert.equal(sample(first.samples, "troupe_actor_up", beta), 1);
    assert.equal(sample(first.samples, "troupe_actor_mailbox_capacity", beta), 4096);
    assert.equal(sample(first.samples, "troupe_actors", {}), 6);
    assert.equal(
      sample(first.samples, "troupe_actor_restarts_total", { id: "gamma", host: "worker" }),
      0,
    );
    // Crash gamma: its crash and restart counters move, and the supervisor does not give up.
    service.child.kill("SIGUSR1");
    let after = first;
    const deadline = Date.now() + DOM_MS;
    while (sample(after.samples, "troupe_actor_restarts_total", { id: "gamma" }) < 1) {
      assert.ok(Date.now() < deadline, "gamma's restart in /metrics");
      await new Promise((resolve) => setTimeout(resolve, 50));
      after = await scrape();
    }
    assert.equal(sample(after.samples, "troupe_actor_restarts_total", { id: "gamma" }), 1);
    assert.equal(sample(after.samples, "troupe_actor_crashes_total", { id: "gamma" }), 1);
    assert.equal(sample(after.samples, "troupe_supervisor_gave_up", { id: "inner" }), 0);
    assert.ok(
      sample(after.samples, "troupe_actor_messages_handled_total", { id: "alpha" }) > 0,
      "alpha handled messages",
    );
  });
});

Deno.test("--observe takes no value, a port or HOST:PORT, and refuses a bad one; the demo task passes it on", async () => {
  const state = await Deno.makeTempDir({ prefix: "troupe-observer-test-" });
  try {
    const run = async (args: string[], task = false) => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: task ? ["task", "-q", ...args] : ["run", "-A", CLI, ...args],
        cwd: ROOT.pathname,
        env: { XDG_RUNTIME_DIR: state },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
      return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
    };
    const bad = await run(["run", "--observe", "host:99999", APP]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /option '--observe' takes HOST:PORT/);
    // A port already taken: exit 1, saying why, and the tree stops cleanly.
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const busy = await run(["run", "--observe", `127.0.0.1:${taken.addr.port}`, APP]);
      assert.equal(busy.code, 1, busy.stderr);
      assert.match(busy.stderr, /troupe: cannot serve the observer: .*(in use|AddrInUse)/i);
    } finally {
      taken.close();
    }
    const help = await run(["run", "--help"]);
    assert.match(help.stdout, /--observe \[HOST:PORT\]/);
    assert.match(help.stdout, /--metrics/);
    // The demo runs to its end with the observer on and prints its address first; a page
    // following it sees the pool of parsers under its supervisor, then the service stopped,
    // and then the stream ends.
    const demo = new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "demo", "--", "--observe", "--metrics"],
      cwd: ROOT.pathname,
      env: { XDG_RUNTIME_DIR: state },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stdout = demo.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const stderr = new Response(demo.stderr).text();
    let printed = "";
    try {
      while (!/^troupe: metrics at /m.test(printed)) {
        const { value, done } = await within(stdout.read(), WAIT_MS, "the demo's URLs");
        if (done) assert.fail(`the demo printed no URL:\n${printed}\n${await stderr}`);
        printed += value;
      }
      assert.match(printed, /^troupe: observer at http:\/\/127\.0\.0\.1:\d+\/\?token=\S+$/m);
      assert.match(printed, /^troupe: metrics at http:\/\/127\.0\.0\.1:\d+\/metrics\?token=/m);
      const page = new URL(printed.match(/^troupe: observer at (\S+)$/m)![1]!);
      const events = await fetch(new URL(`/events${page.search}`, page));
      const stream = await within(new Response(events.body).text(), WAIT_MS, "the stream's end");
      const snapshots = stream.split("\n\n").filter((e) => e.includes("data: ")).map((e) =>
        JSON.parse(e.slice(e.indexOf("data: ") + 6))
      );
      const last = snapshots.at(-1);
      assert.equal(last.service.state, "stopped");
      assert.deepEqual(last.roots, ["pipeline", "parser"]);
      assert.deepEqual(last.supervisors.parser.children, [
        "parser-1",
        "parser-2",
        "parser-3",
        "parser-4",
      ]);
      assert.ok(last.crashes.some((c: { id: string }) => c.id.startsWith("parser-")));
      while (!(await stdout.read()).done);
    } finally {
      await stdout.cancel().catch(() => {});
      const status = await within(demo.status, WAIT_MS, "the demo's exit");
      assert.equal(status.code, 0, await stderr);
    }
  } finally {
    await Deno.remove(state, { recursive: true });
  }
});
