// `troupe ps` lists every running service; `troupe unit` prints a systemd
// unit that stops the service through its sentinels, checked by
// systemd-analyze where it is installed.
import assert from "node:assert/strict";
import { join } from "node:path";
import { Background, troupe, withStateDir } from "./_cli.ts";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

Deno.test("troupe ps lists every running service: name, pid, state, uptime, actors, restarts", async () => {
  await withStateDir(async (env) => {
    const none = await troupe(["ps"], env);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /^no Troupe services running/);

    const services = ["north", "south"].map((name) =>
      new Background(["run", "--name", name, fixture("cli_app.ts")], env)
    );
    try {
      await Promise.all(services.map((s) => s.waitFor(/^troupe: running /)));
      const listed = await troupe(["ps"], env);
      assert.equal(listed.code, 0, listed.stderr);
      const lines = listed.stdout.trimEnd().split("\n");
      assert.match(lines[0]!, /^NAME +PID +STATE +UPTIME +ACTORS +RESTARTS +APP$/);
      const rows = lines.slice(1).map((line) => line.trim().split(/\s{2,}/));
      assert.deepEqual(rows.map((r) => r[0]), ["north", "south"]);
      for (const [i, row] of rows.entries()) {
        assert.equal(row[1], String(services[i]!.child.pid));
        assert.equal(row[2], "running");
        assert.equal(row[4], "3", "three actors");
        assert.equal(row[5], "0", "no restarts");
        assert.match(row[6]!, /cli_app\.ts$/);
      }
      const json = await troupe(["ps", "--json"], env);
      const parsed = JSON.parse(json.stdout) as { name: string; actors: number }[];
      assert.deepEqual(parsed.map((s) => [s.name, s.actors]), [["north", 3], ["south", 3]]);
      // Naming one shows its actors, as troupe status does.
      const one = await troupe(["ps", "--name", "south"], env);
      assert.equal(one.code, 0, one.stderr);
      assert.match(one.stdout, /^service south /);
      assert.match(one.stdout, /\nID +HOST +TRANSPORT/);
      for (const service of services) service.child.kill("SIGTERM");
      for (const service of services) assert.equal((await service.finish()).code, 0);
    } finally {
      for (const service of services) await service.kill();
    }
  });
});

Deno.test("troupe unit prints a systemd unit whose stop drains through the sentinels", async () => {
  const app = fixture("cli_app.ts");
  const printed = await troupe(["unit", "--name", "svc", "--shutdown-timeout", "10s", app]);
  assert.equal(printed.code, 0, printed.stderr);
  const unit = printed.stdout;
  assert.match(unit, /^KillMode=mixed$/m, "SIGTERM to troupe run alone");
  assert.match(unit, /^KillSignal=SIGTERM$/m);
  // 10 s of shutdown, 2 s of the service's own grace for terminations, and a second.
  assert.match(unit, /^TimeoutStopSec=13$/m);
  assert.match(unit, /^Restart=on-failure$/m);
  const exec = unit.match(/^ExecStart=(.*)$/m)?.[1] ?? "";
  assert.ok(exec.startsWith(`${Deno.execPath()} run -A `), exec);
  assert.ok(exec.endsWith(`run --name svc --shutdown-timeout 10000 ${app}`), exec);
  assert.match(unit, /^WantedBy=multi-user\.target$/m);
  const user = await troupe(["unit", "--user", app]);
  assert.match(user.stdout, /^WantedBy=default\.target$/m);
  assert.match(user.stdout, /--name cli_app /);

  const usage = await troupe(["unit"]);
  assert.equal(usage.code, 2);

  const analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  if (analyze === undefined) return; // Content checked above; verify where systemd is.
  const dir = await Deno.makeTempDir({ prefix: "troupe-unit-" });
  try {
    const file = join(dir, "troupe-svc.service");
    await Deno.writeTextFile(file, unit);
    const verified = await new Deno.Command(analyze, { args: ["verify", file] }).output();
    const said = new TextDecoder().decode(verified.stderr) +
      new TextDecoder().decode(verified.stdout);
    assert.equal(verified.code, 0, said);
    // systemd-analyze warns about a bad setting and still exits 0: no warning either.
    assert.equal(said.trim(), "", said);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
