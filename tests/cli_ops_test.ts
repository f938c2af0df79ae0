// The `troupe` operator commands against real running services: ps over
// every service, unit files for systemd.
import assert from "node:assert/strict";
import { join } from "node:path";
import { Background, troupe, WAIT_MS, withStateDir } from "./_cli.ts";
import { Logbook } from "../cli/_logbook.ts";
import { LOGS_HELP } from "../cli/logs.ts";
import { splitAppArgs } from "../cli/_app_args.ts";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

Deno.test("troupe ps lists every running service, and ps --name shows one service's actors", async () => {
  await withStateDir(async (env) => {
    const none = await troupe(["ps"], env);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /^no service is running/);

    const first = new Background(["run", fixture("cli_app.ts")], env);
    const second = new Background(["run", "--name", "other", fixture("cli_app.ts")], env);
    try {
      await Promise.all([first.waitFor(/^troupe: running /), second.waitFor(/^troupe: running /)]);
      const [ps, json, one, status] = await Promise.all([
        troupe(["ps"], env),
        troupe(["ps", "--json"], env),
        troupe(["ps", "--name", "other"], env),
        troupe(["status"], env),
      ]);
      assert.equal(ps.code, 0, ps.stderr);
      const lines = ps.stdout.trimEnd().split("\n");
      assert.match(lines[0]!, /^NAME +PID +UPTIME +ACTORS +RESTARTS$/);
      assert.deepEqual(lines.slice(1).map((line) => line.split(/\s{2,}/)[0]), ["cli_app", "other"]);
      for (const line of lines.slice(1)) assert.match(line, / \d+ +\S.* +3 +0$/);
      const rows = JSON.parse(json.stdout);
      assert.deepEqual(rows.map((r: { name: string }) => r.name), ["cli_app", "other"]);
      assert.equal(rows[0].pid, first.child.pid);
      assert.equal(rows[1].pid, second.child.pid);
      assert.equal(rows[1].actors, 3);

      assert.equal(one.code, 0, one.stderr);
      assert.match(one.stdout, /^service other {2}pid \d+ {2}running/);
      assert.match(one.stdout, /\nID +HOST +TRANSPORT/);
      // status without a name still asks which one.
      assert.equal(status.code, 2);
      assert.match(status.stderr, /several services are running \(cli_app, other\)/);

      first.child.kill("SIGTERM");
      second.child.kill("SIGTERM");
      assert.equal((await first.finish()).code, 0);
      assert.equal((await second.finish()).code, 0);
    } finally {
      await first.kill();
      await second.kill();
    }
  });
});

/** `troupe status --json` until `ready` holds of it (each try a real request), within WAIT_MS. */
async function statusUntil(
  env: Record<string, string>,
  ready: (status: { actors: Record<string, unknown>[] }) => boolean,
): Promise<{ actors: Record<string, unknown>[] }> {
  const deadline = Date.now() + WAIT_MS;
  while (true) {
    const result = await troupe(["status", "--json"], env);
    assert.equal(result.code, 0, result.stderr);
    const status = JSON.parse(result.stdout);
    if (ready(status)) return status;
    if (Date.now() > deadline) throw new Error(`status never got ready: ${result.stdout}`);
  }
}

Deno.test("troupe status shows MEM, CPU, BUSY and LAST CRASH per actor, and --tree the supervision tree", async () => {
  await withStateDir(async (env) => {
    const service = new Background(["run", fixture("ops_app.ts")], env);
    try {
      await service.waitFor(/READY/);
      const byId = (status: { actors: Record<string, unknown>[] }) =>
        new Map(status.actors.map((a) => [a.id as string, a]));
      const json = await statusUntil(env, (s) => byId(s).get("alpha")?.busySince !== undefined);
      const actors = byId(json);
      const beta = actors.get("beta")!;
      assert.ok((beta.rss as number) > 1024 * 1024, JSON.stringify(beta));
      assert.equal(typeof beta.cpuMs, "number");
      assert.deepEqual(
        { ...(beta.lastCrash as object), time: 0 },
        { reason: "error", message: "crashed on purpose", time: 0 },
      );
      assert.equal(beta.restarts, 1);
      assert.equal(actors.get("gamma")!.busySince, undefined);
      // A worker actor reports its V8 heap in use.
      assert.ok((actors.get("gamma")!.heapUsed as number) > 0, JSON.stringify(actors.get("gamma")));
      assert.equal(actors.get("gamma")!.lastCrash, undefined);

      const table = await troupe(["status"], env);
      assert.equal(table.code, 0, table.stderr);
      const lines = table.stdout.trimEnd().split("\n");
      assert.match(lines[2]!, /MSG\/S +MEM +CPU +BUSY +LAST CRASH$/);
      const row = (id: string) => lines.find((line) => line.startsWith(`${id} `))!;
      assert.match(row("beta"), / \d+(\.\d)? MiB +[\d.]+ m?s +- +error: crashed on purpose$/);
      assert.match(row("alpha"), / [\d.]+ m?s +-$/); // busy for some time, never crashed
      assert.match(row("gamma"), / \d+(\.\d)? (KiB|MiB) +.* - +-$/);
      const tree = await troupe(["status", "--tree"], env);
      assert.equal(tree.code, 0, tree.stderr);
      assert.deepEqual(tree.stdout.trimEnd().split("\n").slice(1), [
        "root  (supervisor)",
        "├─ alpha  worker  running  0 restarts",
        "├─ beta  process  running  1 restart  last crash: error: crashed on purpose",
        "└─ inner  (supervisor)",
        "   └─ gamma  worker  running  0 restarts",
      ]);
      service.child.kill("SIGTERM");
      await service.finish();
    } finally {
      await service.kill();
    }
  });
});

Deno.test("troupe status --watch --tree redraws the supervision tree every second until the service stops", async () => {
  await withStateDir(async (env) => {
    const service = new Background(["run", fixture("cli_app.ts")], env);
    let watch: Background | undefined;
    try {
      await service.waitFor(/^troupe: running /);
      watch = new Background(["status", "--watch", "--tree"], env);
      // A frame: the header line and the five lines after it; returns them and where it ends.
      const frame = async (from: number) => {
        const at = await watch!.waitFor(/^service cli_app /, from);
        await watch!.waitFor(/^/, at + 5);
        return { lines: watch!.lines.slice(at + 1, at + 6), next: at + 6 };
      };
      const first = await frame(0);
      assert.deepEqual(first.lines, [
        "root  (supervisor)",
        "├─ alpha  worker  running  0 restarts",
        "├─ beta  process  running  0 restarts",
        "└─ inner  (supervisor)",
        "   └─ gamma  worker  running  0 restarts",
      ]);
      // A restart shows in a later frame, without running status again.
      const restarted = await troupe(["restart", "gamma"], env);
      assert.equal(restarted.code, 0, restarted.stderr);
      let next = first.next;
      for (let frames = 0;; frames++) {
        assert.ok(frames < 30, "gamma's restart in a frame within 30 frames");
        const later = await frame(next);
        next = later.next;
        if (later.lines[4] === "   └─ gamma  worker  running  1 restart") break;
      }
      service.child.kill("SIGTERM");
      const watched = await watch.finish();
      assert.equal(watched.code, 0, watched.stderr);
      assert.match(watched.stdout, /troupe: the service cli_app stopped$/);
      assert.doesNotMatch(watched.stdout, /MAILBOX/, "frames of the tree, not of the table");
      assert.equal((await service.finish()).code, 0);
    } finally {
      await watch?.kill();
      await service.kill();
    }
  });
});

Deno.test("troupe restart restarts one actor, or a nested supervisor's subtree, through its supervisor", async () => {
  await withStateDir(async (env) => {
    const service = new Background(["run", fixture("cli_app.ts")], env);
    try {
      await service.waitFor(/^troupe: running /);
      const before = JSON.parse((await troupe(["status", "--json"], env)).stdout);
      const pid = before.actors.find((a: { id: string }) => a.id === "beta").pid;

      const beta = await troupe(["restart", "beta"], env);
      assert.equal(beta.code, 0, beta.stderr);
      assert.match(beta.stdout, /^troupe: restarted beta in cli_app\n$/);
      const line = await service.waitFor(/ restarted +beta /);
      assert.match(service.lines[line]!, /by root, on request/);

      const inner = await troupe(["restart", "inner"], env);
      assert.equal(inner.code, 0, inner.stderr);
      await service.waitFor(/ restarted +gamma .*by root, on request/, line + 1);

      const after = JSON.parse((await troupe(["status", "--json"], env)).stdout);
      const restarts = Object.fromEntries(
        after.actors.map((a: { id: string; restarts: number }) => [a.id, a.restarts]),
      );
      assert.deepEqual(restarts, { alpha: 0, beta: 1, gamma: 1 });
      const newPid = after.actors.find((a: { id: string }) => a.id === "beta").pid;
      assert.notEqual(newPid, pid);

      const missing = await troupe(["restart", "nobody"], env);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /No supervisor has a child "nobody"/);
      const usage = await troupe(["restart"], env);
      assert.equal(usage.code, 2);

      service.child.kill("SIGTERM");
      const result = await service.finish();
      assert.equal(result.code, 0, result.stderr);
      // The stop hooks ran for the restarted incarnations too.
      assert.equal(result.stderr.match(/STOP beta /g)?.length, 2, result.stderr);
    } finally {
      await service.kill();
    }
  });
});

Deno.test("troupe logs prints the last lines, and --follow streams new ones until the service stops", async () => {
  await withStateDir(async (env) => {
    const service = new Background(["run", fixture("cli_app.ts")], env);
    let follow: Background | undefined;
    try {
      await service.waitFor(/^troupe: running /);
      const logs = await troupe(["logs"], env);
      assert.equal(logs.code, 0, logs.stderr);
      assert.match(logs.stdout, / started +alpha /);
      assert.match(logs.stdout, /\ntroupe: running cli_app /);
      const two = await troupe(["logs", "-n", "2"], env);
      assert.deepEqual(
        two.stdout.trimEnd().split("\n"),
        logs.stdout.trimEnd().split("\n").slice(-2),
      );

      follow = new Background(["logs", "--follow", "--lines", "1"], env);
      await follow.waitFor(/^troupe: running cli_app /);
      assert.equal(follow.lines.length, 1);
      const restart = await troupe(["restart", "alpha"], env);
      assert.equal(restart.code, 0, restart.stderr);
      await follow.waitFor(/ restarted +alpha .*on request/);

      service.child.kill("SIGTERM");
      assert.equal((await service.finish()).code, 0);
      const followed = await follow.finish();
      assert.equal(followed.code, 0, followed.stderr);
      assert.match(followed.stdout, /troupe: SIGTERM received/);
      assert.match(followed.stdout, / stopped +gamma /);
    } finally {
      await service.kill();
      await follow?.kill();
    }
  });
});

Deno.test("troupe logs keeps actors' own lines and the app's log, not main's console.log, as its help says", async () => {
  await withStateDir(async (env) => {
    const service = new Background(["run", fixture("logs_app.ts")], env);
    try {
      await service.waitFor(/^READY$/);
      const logs = await troupe(["logs"], env);
      assert.equal(logs.code, 0, logs.stderr);
      assert.match(logs.stdout, /^CONTEXT-LINE$/m);
      assert.match(logs.stdout, /^\[alpha\] WORKER-LINE$/m);
      assert.match(logs.stdout, /^\[beta\] PROCESS-LINE$/m);
      assert.doesNotMatch(logs.stdout, /MAIN-OWN-LINE/);
      // The help says what is kept: actors' lines as [id] line, not main's console.
      assert.match(LOGS_HELP, /\[id\] line/);
      assert.match(LOGS_HELP, /console\.log/);
      assert.doesNotMatch(LOGS_HELP, /actors write to stdout themselves is not kept/);
      service.child.kill("SIGTERM");
      assert.equal((await service.finish()).code, 0);
    } finally {
      await service.kill();
    }
  });
});

Deno.test("the logbook keeps the last lines in order and hands new ones to its followers", () => {
  const book = new Logbook(3);
  const seen: string[] = [];
  for (const line of ["a", "b"]) book.add(line);
  const unfollow = book.follow((line) => seen.push(line));
  for (const line of ["c", "d", "e"]) book.add(line);
  unfollow();
  book.add("f");
  assert.deepEqual(book.last(10), ["d", "e", "f"]);
  assert.deepEqual(book.last(2), ["e", "f"]);
  assert.deepEqual(book.last(0), []);
  assert.deepEqual(seen, ["c", "d", "e"]);
});

/** Where systemd-analyze is, or undefined when this machine has none. */
function systemdAnalyze(): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(join(dir, "systemd-analyze")).isFile) return join(dir, "systemd-analyze");
    } catch {
      // Not there.
    }
  }
  return undefined;
}

Deno.test("troupe unit prints a systemd unit that systemd-analyze verify accepts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "troupe unit test " }); // a space, for the quoting
  try {
    const app = join(dir, "my app.ts");
    await Deno.copyFile(fixture("cli_app.ts"), app);
    const unit = await troupe(["unit", "--shutdown-timeout", "20s", "--name", "svc", app]);
    assert.equal(unit.code, 0, unit.stderr);
    const text = unit.stdout;
    const exec = /^ExecStart=(.*)$/m.exec(text)![1]!;
    assert.ok(exec.startsWith(`${Deno.execPath()} run -A `), exec);
    assert.ok(exec.includes(" run --name svc --shutdown-timeout 20000ms "), exec);
    assert.ok(exec.endsWith(` "${app}"`), exec);
    for (const line of ["Restart=on-failure", "KillMode=mixed", "KillSignal=SIGTERM"]) {
      assert.match(text, new RegExp(`^${line}$`, "m"));
    }
    assert.match(text, /^TimeoutStopSec=25$/m); // the shutdown timeout and a 5 s margin
    const plain = await troupe(["unit", fixture("cli_app.ts")]);
    assert.match(plain.stdout, /^TimeoutStopSec=10$/m);
    assert.match(plain.stdout, / run --name cli_app --shutdown-timeout 5000ms /);
    assert.equal((await troupe(["unit"])).code, 2);
    assert.doesNotMatch(plain.stdout, /--v8-flags/); // V8's own sizing unless asked
    const bounded = await troupe(["unit", "--max-semi-space", "2", fixture("cli_app.ts")]);
    assert.match(
      bounded.stdout,
      new RegExp(`^ExecStart=\\S+ run -A --v8-flags=--max-semi-space-size=2 \\S+ run `, "m"),
    );
    for (const wrong of ["0", "x", "2.5"]) {
      const refused = await troupe(["unit", "--max-semi-space", wrong, fixture("cli_app.ts")]);
      assert.equal(refused.code, 2, wrong);
      assert.match(refused.stderr, /--max-semi-space must be a whole number of MiB from 1 to 1024/);
    }

    const analyze = systemdAnalyze();
    if (analyze === undefined) return; // no systemd here: the text checks above are what is left
    const verify = async (unitText: string) => {
      const file = join(dir, "troupe-test.service");
      await Deno.writeTextFile(file, unitText);
      const out = await new Deno.Command(analyze, { args: ["verify", file], stdin: "null" })
        .output();
      return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
    };
    const good = await verify(text);
    assert.equal((await verify(bounded.stdout)).code, 0);
    assert.equal(good.code, 0, good.stderr);
    assert.doesNotMatch(good.stderr, /troupe-test/, good.stderr);
    // And it does fail on a broken unit, so the check above means something.
    const bad = await verify(
      text.replace(/^KillMode=mixed$/m, "KillMode=bogus").replace(
        /^ExecStart=\S+/m,
        "ExecStart=relative/deno",
      ),
    );
    assert.notEqual(bad.code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run's arguments after the app module that run does not take are the app's", () => {
  assert.deepEqual(splitAppArgs(["--json", "app.ts", "--duration", "30"]), {
    own: ["--json", "app.ts"],
    app: ["--duration", "30"],
  });
  assert.deepEqual(
    splitAppArgs([
      "--name",
      "x",
      "app.ts",
      "--",
      "--observe",
      "8080",
      "--shutdown-timeout",
      "2s",
      "-v",
    ]),
    {
      own: ["--name", "x", "app.ts", "--observe", "8080", "--shutdown-timeout", "2s"],
      app: ["-v"],
    },
  );
  assert.deepEqual(splitAppArgs(["app.ts", "--metrics", "--name=y", "extra"]), {
    own: ["app.ts", "--metrics", "--name=y"],
    app: ["extra"],
  });
});

Deno.test("the demo takes --duration, so status and stop can be tried from a second terminal", async () => {
  await withStateDir(async (env) => {
    const began = performance.now();
    const demo = new Background(["run", "examples/demo_app.ts", "--duration", "3"], env);
    try {
      await demo.waitFor(/^troupe: running demo_app /);
      await demo.waitFor(/ started +parser-4 /);
      const status = await troupe(["status"], env);
      assert.equal(status.code, 0, status.stderr);
      for (const id of ["reader", "aggregator", "parser-1", "parser-4"]) {
        assert.match(status.stdout, new RegExp(`\\n${id} `));
      }
      const result = await demo.finish();
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^summary: 200,000 lines in /m);
      assert.ok(performance.now() - began >= 3000, "it took its --duration");
      const bad = await troupe(["run", "examples/demo_app.ts", "--duration", "soon"], env);
      assert.equal(bad.code, 1);
      assert.match(bad.stdout + bad.stderr, /--duration takes a number of seconds/);
    } finally {
      await demo.kill();
    }
  });
});
