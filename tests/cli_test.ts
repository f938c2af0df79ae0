// The `troupe` command, driven as a real subprocess: run a service, look at
// it from a second process, stop it by signal and through its control socket.
import assert from "node:assert/strict";
import { join } from "node:path";
import { Background, troupe, withStateDir } from "./_cli.ts";
import { SIGNAL_ECHO_MS } from "../internal/signal_echo.ts";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

/** Waits out the time within which a repeated signal counts as the first one's echo. */
function pastEchoWindow(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, SIGNAL_ECHO_MS));
}

function assertStopHooks(stderr: string, ids: string[]): void {
  for (const id of ids) assert.match(stderr, new RegExp(`STOP ${id} `), stderr);
}

Deno.test("troupe --help and every subcommand's --help print their usage and exit 0", async () => {
  const results = await Promise.all(
    [["--help"], ["run", "--help"], ["status", "--help"], ["ps", "-h"], ["stop", "--help"], [
      "bench",
      "--help",
    ], ["help", "run"]].map((args) => troupe(args)),
  );
  for (const result of results) assert.equal(result.code, 0, result.stderr);
  const [top, run, status, ps, stop, bench, helpRun] = results.map((r) => r.stdout);
  for (const command of ["run <app.ts>", "status", "ps", "stop", "bench"]) {
    assert.ok(top!.includes(command), top);
  }
  assert.match(top!, /Exit codes: 0 clean, 1 failed, 2 usage error, 130 interrupted/);
  assert.match(run!, /^Usage: troupe run \[options\] <app\.ts>/);
  for (const option of ["--json", "--shutdown-timeout", "--name", "--control"]) {
    assert.ok(run!.includes(option), option);
  }
  assert.match(status!, /^Usage: troupe status/);
  assert.match(ps!, /^Usage: troupe ps/);
  assert.match(status!, /--watch/);
  assert.match(stop!, /^Usage: troupe stop/);
  assert.match(stop!, /--timeout/);
  assert.match(bench!, /^Usage: troupe bench/);
  assert.equal(helpRun, run);
});

Deno.test("a usage error exits 2 with the message and a hint", async () => {
  const [unknownOption, unknownCommand, missingApp, valueToFlag, badDuration, none] = await Promise
    .all([
      troupe(["run", "--bogus", fixture("cli_app.ts")]),
      troupe(["frobnicate"]),
      troupe(["run"]),
      troupe(["status", "--watch=yes"]),
      troupe(["run", "--shutdown-timeout", "soon", fixture("cli_app.ts")]),
      troupe([]),
    ]);
  assert.equal(unknownOption.code, 2);
  assert.equal(
    unknownOption.stderr,
    "troupe run: unknown option '--bogus'\nhint: run 'troupe run --help' for usage\n",
  );
  assert.equal(unknownOption.stdout, "");
  assert.equal(unknownCommand.code, 2);
  assert.match(
    unknownCommand.stderr,
    /^troupe: unknown command 'frobnicate'\nhint: run 'troupe --help'/,
  );
  assert.equal(missingApp.code, 2);
  assert.match(missingApp.stderr, /^troupe run: missing the app module/);
  assert.equal(valueToFlag.code, 2);
  assert.match(valueToFlag.stderr, /^troupe status: option '--watch' does not take a value/);
  assert.equal(badDuration.code, 2);
  assert.match(badDuration.stderr, /'--shutdown-timeout' must be a duration/);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /Usage: troupe <command>/);
});

Deno.test("an app module that exports no app fails with exit code 1 and says what to export", async () => {
  const result = await troupe(["run", fixture("cli_actor.ts")]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /exports no `app` \(it exports cliActor\)/);
  const missing = await troupe(["run", fixture("no_such_app.ts")]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot find the app module/);
});

Deno.test("troupe status shows a running service's actors from another process, and SIGTERM stops it cleanly", async () => {
  await withStateDir(async (env, dir) => {
    const service = new Background(["run", fixture("cli_app.ts")], env);
    try {
      const running = service.lines[await service.waitFor(/^troupe: running /)]!;
      assert.match(running, /running cli_app \(pid \d+, 3 actors\); control socket /);
      const socket = join(dir, "troupe", "cli_app.sock");
      assert.ok(running.endsWith(socket), running);
      assert.equal((await Deno.stat(socket)).mode! & 0o777, 0o600);
      assert.equal((await Deno.stat(join(dir, "troupe"))).mode! & 0o777, 0o700);

      // Found without --name (the only service), and by name through the alias.
      const [status, ps, twin] = await Promise.all([
        troupe(["status"], env),
        troupe(["ps", "--name", "cli_app", "--json"], env),
        troupe(["run", fixture("cli_app.ts")], env),
      ]);
      assert.equal(status.code, 0, status.stderr);
      const lines = status.stdout.trimEnd().split("\n");
      assert.match(lines[0]!, /^service cli_app {2}pid \d+ {2}running {2}up /);
      assert.match(
        lines[2]!,
        /^ID +HOST +TRANSPORT +PID +STATE +RESTARTS +MAILBOX +HANDLED +MSG\/S +MEM +CPU +BUSY +LAST CRASH$/,
      );
      const rows = new Map(
        lines.slice(3).map((line) => [line.split(/\s+/)[0]!, line.split(/\s+/)]),
      );
      assert.deepEqual([...rows.keys()], ["alpha", "beta", "gamma"]);
      assert.deepEqual(rows.get("alpha")!.slice(0, 9), [
        "alpha",
        "worker",
        "queue",
        "worker",
        "running",
        "0",
        "0/4,096",
        "0",
        "0",
      ]);
      assert.deepEqual(rows.get("beta")!.slice(0, 3), ["beta", "process", "pipe"]);
      assert.match(rows.get("beta")![3]!, /^\d+$/);
      assert.equal(rows.get("gamma")![4], "running");

      assert.equal(ps.code, 0, ps.stderr);
      const json = JSON.parse(ps.stdout);
      assert.equal(json.name, "cli_app");
      assert.deepEqual(json.actors.map((a: { id: string }) => a.id), ["alpha", "beta", "gamma"]);

      // A second service of the same name is refused; the first keeps running.
      assert.equal(twin.code, 1);
      assert.match(twin.stderr, /already running with control socket/);

      service.child.kill("SIGTERM");
      await service.waitFor(/^troupe: SIGTERM received, stopping within 5 s/);
      const result = await service.finish();
      assert.equal(result.code, 0, result.stderr);
      assertStopHooks(result.stderr, ["alpha", "beta", "gamma"]);
      assert.match(result.stdout, /troupe: stopped cleanly in .* \(3 actors stopped\)$/);
      await assert.rejects(Deno.stat(socket), Deno.errors.NotFound);
    } finally {
      await service.kill();
    }
  });
});

Deno.test("troupe stop stops a service gracefully through its control socket", async () => {
  await withStateDir(async (env, dir) => {
    const control = join(dir, "private", "ctl.sock");
    const service = new Background(["run", "--control", control, fixture("cli_app.ts")], env);
    try {
      await service.waitFor(/^troupe: running /);
      const stop = await troupe(["stop", "--control", control, "--timeout", "10s"], env);
      assert.equal(stop.code, 0, stop.stderr);
      assert.match(stop.stdout, /^troupe: stopping cli_app \(pid \d+\)\n/);
      assert.match(stop.stdout, /stopped cleanly in .* \(3 actors stopped\)\n$/);
      const result = await service.finish();
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /stop requested on the control socket, stopping within 10 s/);
      assertStopHooks(result.stderr, ["alpha", "beta", "gamma"]);
      // Nothing left to stop.
      const again = await troupe(["stop", "--control", control], env);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /no service is listening on/);
    } finally {
      await service.kill();
    }
  });
});

Deno.test("troupe run --json prints one JSON object per line, and a finished main exits 0", async () => {
  await withStateDir(async (env) => {
    const result = await troupe(["run", "--json", fixture("cli_job.ts")], env);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    const types = lines.map((line) => line.type);
    for (
      const type of [
        "started",
        "service-running",
        "progress",
        "crashed",
        "restarted",
        "log",
        "service-stopping",
        "stopped",
        "summary",
        "service-stopped",
      ]
    ) {
      assert.ok(types.includes(type), `${type} in ${types.join(", ")}`);
    }
    const crashed = lines.find((line) => line.type === "crashed");
    assert.equal(crashed.id, "victim");
    assert.equal(crashed.error.message, "crashed on purpose");
    const summary = lines.find((line) => line.type === "summary");
    assert.equal(summary.items, 200);
    assert.equal(summary.unit, "increments");
    assert.equal(summary.restarts, 1);
    assert.deepEqual(summary.details, { victims: 1 });
    assert.deepEqual(lines.at(-1).type, "service-stopped");
    assert.equal(lines.at(-1).clean, true);
    assert.equal(lines.at(-1).exitCode, 0);
    assertStopHooks(result.stderr, ["counter", "victim"]);
  });
});

Deno.test("a worker actor's console lines reach troupe run's output: JSON objects on stdout with --json, [id] lines otherwise", async () => {
  await withStateDir(async (env) => {
    const json = await troupe(["run", "--json", fixture("console_app.ts")], env);
    assert.equal(json.code, 0, json.stderr);
    // Every line of stdout is JSON (the worker's console.log did not write in between).
    const lines = json.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    const logs = lines.filter((line) => line.type === "actor-log").map((line) =>
      `${line.actor} ${line.stream} ${line.line}`
    );
    assert.deepEqual(logs, ["talker stdout hello from a worker", "talker stdout talker stopping"]);
    assert.match(json.stderr, /^\[talker\] a warning from a worker$/m);
    const text = await troupe(["run", fixture("console_app.ts")], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^\[talker\] hello from a worker$/m);
    assert.match(text.stdout, /^\[talker\] talker stopping$/m);
    assert.match(text.stderr, /^\[talker\] a warning from a worker$/m);
  });
});

Deno.test("Ctrl-C (SIGINT) stops the service through its sentinels and exits 130", async () => {
  await withStateDir(async (env) => {
    const service = new Background(["run", fixture("cli_app.ts")], env);
    try {
      await service.waitFor(/^troupe: running /);
      service.child.kill("SIGINT");
      const result = await service.finish();
      assert.equal(result.code, 130, result.stderr);
      assertStopHooks(result.stderr, ["alpha", "beta", "gamma"]);
      assert.match(result.stdout, /troupe: stopped cleanly/);
    } finally {
      await service.kill();
    }
  });
});

Deno.test("one Ctrl-C under deno task is one graceful stop, and process actors stop in order", async () => {
  await withStateDir(async (env) => {
    const service = new Background(["run", fixture("cli_app.ts")], env, true);
    try {
      await service.waitFor(/^troupe: running /);
      service.interrupt();
      const result = await service.finish();
      assert.equal(result.code, 130, result.stderr);
      assert.doesNotMatch(result.stdout, /forcing/);
      // beta is a process actor: the terminal's SIGINT must not reach it behind the supervisor.
      assert.doesNotMatch(result.stdout + result.stderr, /SIGINT\b.*beta|beta.*SIGINT/);
      assertStopHooks(result.stderr, ["alpha", "beta", "gamma"]);
      assert.match(result.stdout, /troupe: stopped cleanly/);
    } finally {
      await service.kill();
    }
  });
});

Deno.test("a second signal forces a stop that cannot finish", async () => {
  await withStateDir(async (env) => {
    const service = new Background(
      ["run", "--shutdown-timeout", "30s", fixture("cli_hang.ts")],
      env,
    );
    try {
      await service.waitFor(/^stuck is hanging$/);
      service.child.kill("SIGTERM");
      await service.waitFor(/^troupe: SIGTERM received, stopping within 30 s/);
      await pastEchoWindow(); // sooner, it is taken for the first one's echo
      service.child.kill("SIGTERM");
      const result = await service.finish();
      assert.equal(result.code, 143, result.stderr);
      assert.match(result.stdout, /troupe: SIGTERM again, forcing the stop/);
      assert.doesNotMatch(result.stderr, /STOP stuck/);
    } finally {
      await service.kill();
    }
  });
});

Deno.test("an actor that misses --shutdown-timeout is terminated and the exit code is 1", async () => {
  await withStateDir(async (env) => {
    const service = new Background(
      ["run", "--shutdown-timeout", "300ms", fixture("cli_hang.ts")],
      env,
    );
    try {
      await service.waitFor(/^stuck is hanging$/);
      service.child.kill("SIGTERM");
      const result = await service.finish();
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stdout, /stopping within 300 ms/);
      assert.match(result.stdout, /stopped +stuck +timeout, under root/);
      assert.match(result.stdout, /troupe: stopped in .*, not cleanly: terminated stuck/);
    } finally {
      await service.kill();
    }
  });
});

Deno.test("troupe status --watch redraws every second until the service stops", async () => {
  await withStateDir(async (env) => {
    const service = new Background(["run", fixture("cli_app.ts")], env);
    let watch: Background | undefined;
    try {
      await service.waitFor(/^troupe: running /);
      watch = new Background(["status", "--watch"], env);
      const first = await watch.waitFor(/^service cli_app /);
      await watch.waitFor(/^service cli_app /, first + 1);
      service.child.kill("SIGTERM");
      const watched = await watch.finish();
      assert.equal(watched.code, 0, watched.stderr);
      assert.match(watched.stdout, /troupe: the service cli_app stopped$/);
      assert.equal((await service.finish()).code, 0);
    } finally {
      await watch?.kill();
      await service.kill();
    }
  });
});

Deno.test("deno task demo's pipeline runs to the end, restarts the crashed parser and exits 0", async () => {
  await withStateDir(async (env) => {
    const result = await troupe(["run", "examples/demo_app.ts"], env);
    assert.equal(result.code, 0, result.stderr);
    const out = result.stdout;
    for (let i = 1; i <= 4; i++) assert.match(out, new RegExp(`started +parser-${i} `));
    assert.match(out, /crashed +parser-\d +error: Error: a poisoned log line/);
    assert.match(out, /restarted +parser-\d +by parser, attempt 1/);
    assert.match(out, /^progress: 100% 200,000\/200,000 lines/m);
    assert.match(out, /^summary: 200,000 lines in .* lines\/s\), 1 restart, 1 crash$/m);
    assert.match(out, /^ {2}server errors written: [\d,]+ lines, one writer at a time$/m);
    assert.match(out, /troupe: stopped cleanly in .* \(6 actors stopped\)$/m);
  });
});

Deno.test("troupe bench runs the suite, with a progress line and the table at the end", async () => {
  const [list, run, bad] = await Promise.all([
    troupe(["bench", "--list", "--filter", "^baseline\\.postmessage"]),
    troupe(["bench", "--quick", "--filter", "^baseline\\.memcpy"]),
    troupe(["bench", "--runs", "1"]),
  ]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^baseline\.postmessage\.small\tmsg\/s\tbaseline$/m);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /^bench round 3\/3 \[1\/1\] baseline\.memcpy\.64k$/m);
  assert.match(run.stdout, /^id +median +min +max +unit/);
  assert.match(run.stdout, /^baseline\.memcpy\.64k +[\d,.]+ .* MB\/s/m);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /'--runs' must be an integer of at least 3/);
});
