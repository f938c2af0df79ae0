// The fault matrix (../shared/FAULTS.md) as tests: every row that applies to
// local actors (all but F28, NATS). Each program under test runs in its own
// process under a watchdog; after each test no process it started may live.
// Run serially: `deno task faults`. Rows that fail today because of an open
// defect are registered with `ignore: true` and a comment naming it;
// TROUPE_FAULT_OPEN=1 runs them too. Knobs: TROUPE_FAULT_SEED (F22, F26),
// TROUPE_FAULT_CYCLES (F30, default 30; the row's figure is for 1000),
// TROUPE_FAULT_RING_MESSAGES (F22, default 1e6), TROUPE_FAULT_STRESS_MS (F26),
// TROUPE_FAULT_FULL=1 (F17: 1e6 keys on every transport).

import assert from "node:assert/strict";
import { faultTest, figure, percentile, result, run, start } from "./_harness.ts";
import { SIGNAL_ECHO_MS } from "../../internal/signal_echo.ts";

type Row = Record<string, unknown>;
const rows = (lines: Row[], kind: string) => lines.filter((line) => line.kind === kind);

for (const transport of ["pipe", "socket"]) {
  faultTest(`F01 kill -9 of a process actor mid-message (${transport})`, async (tag) => {
    const out = await run("f01_kill9", tag, { args: [transport, "10"] });
    const rounds = rows(out.lines, "round");
    assert.equal(rounds.length, 10);
    for (const round of rounds) {
      const error = round.error as Row;
      assert.equal(error.name, "ActorCrashedError", JSON.stringify(round));
      assert.equal((error.cause as Row)?.name, "ActorExitedError", JSON.stringify(round));
      assert.equal((error.cause as Row)?.signal, "SIGKILL", JSON.stringify(round));
      assert.notEqual(round.newPid, round.pid, "served by a new incarnation");
      assert.equal(round.oldAlive, false, "the killed child is gone");
    }
    const p95 = percentile(rounds.map((r) => r.restartMs as number), 95);
    const spawnP95 = percentile(rounds.map((r) => r.spawnMs as number), 95);
    // 250 ms on this machine at rest; when other work slows every process
    // start, the bound follows: a restart may take up to twice a fresh spawn.
    const bound = Math.max(250, 2 * spawnP95);
    figure(
      "F01",
      `restart p95 = ${p95.toFixed(0)} ms (${transport}); fresh spawn p95 ${
        spawnP95.toFixed(0)
      } ms; bound ${bound.toFixed(0)} ms`,
    );
    assert.ok(p95 <= bound, `restart p95 ${p95} ms > ${bound} ms`);
  });
}

faultTest("F02 a handler throws or rejects (worker, process)", async (tag) => {
  const out = await run("f02_throws", tag);
  const hosts = rows(out.lines, "host");
  assert.equal(hosts.length, 2);
  for (const host of hosts) {
    for (const [name, remoteName] of [["fail", "TypeError"], ["failLater", "RangeError"]]) {
      const error = host[name] as Row;
      assert.equal(error.name, "ActorError", JSON.stringify(host));
      const remote = error.remote as Row;
      assert.equal(remote.name, remoteName);
      assert.equal(remote.message, `boom from ${name}`);
      assert.match(String(remote.stack), /fault_actor\.ts/, "the remote stack names the module");
    }
    assert.equal(host.afterwards, 1, "the actor keeps serving");
    assert.equal(host.state, "running");
  }
  figure("F02", `2 hosts x 2 failures: ActorError with remote name, message and stack`);
});

faultTest("F03 an error escapes a handler, or the module throws at load", async (tag) => {
  const out = await run("f03_escapes", tag);
  assert.equal(out.code, 0, "the parent exits 0");
  const escapes = rows(out.lines, "escape");
  assert.equal(escapes.length, 4);
  for (const escape of escapes) {
    assert.equal((escape.error as Row).name, "ActorCrashedError", JSON.stringify(escape));
    assert.equal(escape.restarted, true, JSON.stringify(escape));
  }
  const loads = rows(out.lines, "load");
  assert.equal(loads.length, 2);
  for (const load of loads) {
    assert.equal((load.load as Row).name, "SpawnError", JSON.stringify(load));
  }
  figure("F03", `parent exit ${out.code}; 4 escaped errors crashed and restarted; 2 SpawnError`);
});

faultTest("F04 an async hang past an ask deadline (worker, process)", async (tag) => {
  const deadline = 200;
  const out = await run("f04_deadline", tag, { args: [String(deadline), "8"] });
  const hosts = rows(out.lines, "host");
  assert.equal(hosts.length, 2);
  for (const host of hosts) {
    for (const error of host.errors as Row[]) assert.equal(error.name, "TimeoutError");
    const late = (host.lateness as number[]).map(Math.abs);
    const p95 = percentile(late, 95);
    figure("F04", `${host.host}: deadline ${deadline} ms, |lateness| p95 = ${p95.toFixed(1)} ms`);
    assert.ok(p95 <= 50, `timeout ${p95} ms off the deadline`);
    assert.equal(host.pendingAsks, 0, "nothing pending afterwards");
  }
});

faultTest(
  "F05 a synchronous spin in a process actor is hard-killed at the stop deadline",
  async (tag) => {
    const deadline = 500;
    const out = await run("f05_spin", tag, {
      args: ["process", String(deadline)],
      timeoutMs: 20_000,
    });
    const r = result(out);
    figure(
      "F05",
      `process: stop took ${(r.stopMs as number).toFixed(0)} ms (deadline ${deadline}), exit ${
        out.ms.toFixed(0)
      } ms after start`,
    );
    assert.ok((r.stopMs as number) <= deadline + 1000, `stop took ${r.stopMs} ms`);
    assert.equal(r.pidAlive, false, "the spinning child is gone");
    assert.notEqual(r.reason, "normal");
    assert.notEqual((r.ask as Row).resolved, true);
  },
);

faultTest(
  "F05 a synchronous spin in a worker actor: reported leaked, the program still ends",
  async (tag) => {
    const deadline = 300;
    const running = start("f05_spin", tag, { args: ["worker", String(deadline)], timeoutMs: 8000 });
    const out = await running.done;
    const r = result(out);
    figure(
      "F05",
      `worker: stop ${(r.stopMs as number).toFixed(0)} ms, program ended after ${
        out.ms.toFixed(0)
      } ms`,
    );
    assert.equal(r.leaked, true, "reported leaked");
    assert.match(out.stderr, /spinner/, "stderr names the leaked actor");
    assert.ok(out.ms <= 5000, "the program ends within a bound");
  },
);

faultTest(
  "F06 a crash loop backs off, gives up after the intensity, listing the crashes",
  async (tag) => {
    const out = await run("f06_crash_loop", tag);
    const r = result(out);
    const events = r.events as Row[];
    const intensity = r.intensity as number;
    const starts = events.filter((e) => e.type === "started").length;
    const delays = events.filter((e) => e.type === "restarted").map((e) => e.delayMs as number);
    const done = r.done as Row;
    figure(
      "F06",
      `starts = ${starts} (intensity ${intensity}), delays ${
        delays.join(", ")
      } ms, CPU ${r.cpuMs} ms over ${(r.wallMs as number).toFixed(0)} ms`,
    );
    assert.equal(starts, intensity + 1);
    for (let i = 1; i < delays.length; i++) assert.ok(delays[i] > delays[i - 1], "growing backoff");
    assert.equal(done.name, "SupervisorGaveUpError");
    assert.equal((done.crashes as Row[]).length, intensity + 1, "the crashes are listed");
    assert.ok((r.cpuMs as number) < 0.5 * (r.wallMs as number), "CPU stays low");
  },
);

faultTest("F07 a poison message crashes its actor exactly once (worker, process)", async (tag) => {
  const out = await run("f07_poison", tag);
  const hosts = rows(out.lines, "host");
  assert.equal(hosts.length, 2);
  for (const host of hosts) {
    assert.equal(host.crashes, 1, JSON.stringify(host));
    assert.notEqual(host.next, host.first, "served by the next incarnation");
    assert.equal(host.count, 7, "the later messages are served, the earlier died with it");
  }
  figure("F07", `1 crash per poison message on worker and process; 7 of 7 later messages served`);
});

const CONTROL = (tag: { dir: string }, name: string) => `${tag.dir}/troupe/${name}.sock`;
const exists = (path: string) => {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
};

faultTest(
  "F08 SIGTERM to a service under load stops it cleanly; a second SIGTERM forces",
  async (tag) => {
    const timeout = 5000;
    const args = ["run", "--json", "--name", "f08", "--shutdown-timeout", `${timeout}ms`];
    const app = new URL("./fixtures/f08_app.ts", import.meta.url).pathname;
    const service = start("cli", tag, { args: [...args, app] });
    await service.line((l) => l.kind === "load-started");
    await service.line((l) => l.type === "progress" || l.type === "service-running");
    assert.ok(exists(CONTROL(tag, "f08")), "the control socket exists while it runs");
    const signalled = performance.now();
    service.kill("SIGTERM");
    const out = await service.done;
    const stopMs = performance.now() - signalled;
    const asks = out.lines.find((l) => l.kind === "asks") as Row;
    const stopped = out.lines.filter((l) => l.type === "stopped").map((l) => l.id);
    const hooks = [...out.stderr.matchAll(/stop-hook (\w+) /g)].map((m) => m[1]);
    figure(
      "F08",
      `exit ${out.code} ${
        stopMs.toFixed(0)
      } ms after SIGTERM (timeout ${timeout}); asks ${asks?.sent} sent = ${asks?.fulfilled} + ${asks?.rejected}; stop order ${
        stopped.join(",")
      }`,
    );
    assert.equal(out.code, 0, out.stderr);
    assert.ok(asks, "main reported its asks");
    assert.equal(
      (asks.fulfilled as number) + (asks.rejected as number),
      asks.sent,
      "every ask settles",
    );
    assert.deepEqual(stopped, ["c", "b", "a"], "reverse order");
    assert.deepEqual(
      hooks,
      ["c", "b", "a"],
      "through their sentinels: each stop hook ran, in order",
    );
    assert.ok(stopMs <= timeout, "within the stop timeout");
    assert.equal(exists(CONTROL(tag, "f08")), false, "the control socket is removed");

    const hung = start("cli", tag, {
      args: ["run", "--json", "--name", "f08b", "--shutdown-timeout", "30s", app],
      env: { TROUPE_FAULT_HANG: "1" },
    });
    await hung.line((l) => l.kind === "load-started");
    hung.kill("SIGTERM");
    await hung.line((l) => l.type === "service-stopping");
    // Sooner than 500 ms, a repeated signal is taken for the first one's echo
    // (deno task forwards the terminal's Ctrl-C): the user asks again later.
    await new Promise((resolve) => setTimeout(resolve, SIGNAL_ECHO_MS));
    const second = performance.now();
    hung.kill("SIGTERM");
    const forced = await hung.done;
    const forcedMs = performance.now() - second;
    figure("F08", `second SIGTERM: exit ${forced.code} after ${forcedMs.toFixed(0)} ms`);
    assert.equal(forced.code, 143, forced.stderr);
    assert.ok(forcedMs < 5000, "the second signal forces the stop");
  },
);

faultTest(
  "F09 SIGKILL of the parent: every process actor exits; the next start recovers",
  async (tag) => {
    const app = new URL("./fixtures/f08_app.ts", import.meta.url).pathname;
    const args = ["run", "--json", "--name", "f09", app];
    const service = start("cli", tag, { args });
    await service.line((l) => l.kind === "load-started");
    const pids = service.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) =>
      JSON.parse(l)
    )
      .filter((l) => l.type === "started").map((l) => l.pid as number);
    assert.equal(pids.length, 3);
    const killed = performance.now();
    service.kill("SIGKILL");
    await service.done;
    const { alive } = await import("./fixtures/_common.ts");
    while (pids.some(alive) && performance.now() - killed < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const goneMs = performance.now() - killed;
    figure("F09", `process actors gone ${goneMs.toFixed(0)} ms after SIGKILL of the parent`);
    assert.ok(!pids.some(alive), "every process actor exited");
    assert.ok(goneMs <= 1000, `children gone after ${goneMs} ms`);
    assert.ok(exists(CONTROL(tag, "f09")), "the killed parent left its control socket");
    const again = start("cli", tag, { args });
    await again.line((l) => l.type === "service-running");
    again.kill("SIGTERM");
    const out = await again.done;
    assert.equal(out.code, 0, out.stderr);
  },
);

faultTest(
  "F10 stop() with work in flight: processed + rejected = sent, stop hook once",
  async (tag) => {
    const out = await run("f10_stop_inflight", tag, { args: ["200"] });
    const hosts = rows(out.lines, "host");
    assert.equal(hosts.length, 2);
    for (const host of hosts) {
      assert.equal(
        (host.fulfilled as number) + (host.rejected as number),
        host.sent,
        JSON.stringify(host),
      );
      assert.equal(host.settledTwice, 0);
      assert.equal(
        host.handled,
        host.fulfilled,
        "the actor handled exactly the asks that succeeded",
      );
      const hooks = out.stderr.split("\n").filter((l) => l.includes(`stop-hook ${host.id} `));
      assert.equal(hooks.length, 1, "the stop hook ran once");
      assert.match(hooks[0], new RegExp(`handled=${host.fulfilled}$`));
      assert.equal(host.reason, "normal");
      figure(
        "F10",
        `${host.host}: sent ${host.sent} = processed ${host.fulfilled} + rejected ${host.rejected}`,
      );
    }
  },
);

faultTest(
  "F11 a child that ignores SIGTERM and hangs in its stop hook is killed at the deadline",
  async (tag) => {
    const deadline = 1000;
    const out = await run("f11_stop_hang", tag, { args: [String(deadline)] });
    for (const host of rows(out.lines, "host")) {
      figure(
        "F11",
        `${host.host}: stopped after ${
          (host.stopMs as number).toFixed(0)
        } ms (deadline ${deadline}, grace inside it), reason ${host.reason}`,
      );
      assert.ok(Math.abs((host.stopMs as number) - deadline) <= 100, `stop took ${host.stopMs} ms`);
      assert.notEqual(host.reason, "normal");
      if (host.host === "process") assert.equal(host.pidAlive, false);
    }
  },
);

faultTest(
  "F12 a malformed frame on a socket: ProtocolError, closed, nothing dispatched, others unaffected",
  async (tag) => {
    const r = result(await run("f12_socket", tag, { args: ["malformed"] }));
    for (const kind of ["garbage", "oversized"]) {
      const peer = r[kind] as Row;
      assert.equal((peer.end as Row).name, "ProtocolError", JSON.stringify(peer));
      assert.equal(peer.dispatched, 0, "nothing dispatched");
      assert.ok((peer.closeMs as number) <= 100, `closed after ${peer.closeMs} ms`);
      figure(
        "F12",
        `socket ${kind} frame: ProtocolError, closed after ${
          (peer.closeMs as number).toFixed(1)
        } ms`,
      );
    }
    assert.equal(r.legitBefore, true);
    assert.equal(r.legitAfter, true, "the legitimate client is unaffected");
  },
);

faultTest(
  "F12/F13 a malformed or truncated frame from a process actor on its pipe",
  async (tag) => {
    const r = result(await run("f12_pipe", tag));
    for (const how of ["garbageFrame", "badFrame", "truncatedFrameThenExit"]) {
      const victim = r[how] as Row;
      assert.equal((victim.ask as Row).name, "ActorCrashedError", JSON.stringify(victim));
      assert.equal(victim.childAlive, false, "its channel is closed: the child is gone");
      assert.equal((victim.later as Row).name, "ActorStoppedError", "nothing more reaches it");
      // Within 100 ms of what seeing any child's own exit takes, measured just before.
      const bound = 100 + (victim.exitSeenMs as number);
      assert.ok((victim.closeMs as number) <= bound, `seen after ${victim.closeMs} > ${bound} ms`);
      figure(
        "F12",
        `pipe ${how}: the ask rejected after ${
          (victim.closeMs as number).toFixed(0)
        } ms (a child's own exit: ${(victim.exitSeenMs as number).toFixed(0)} ms)`,
      );
    }
    assert.equal(r.bystander, "still here", "the other actors are unaffected");
  },
);

faultTest(
  "F12 a malformed frame on a process actor's pipe is reported as a ProtocolError",
  async (tag) => {
    const r = result(await run("f12_pipe", tag));
    for (const how of ["garbageFrame", "badFrame"]) {
      const text = JSON.stringify((r[how] as Row).ask);
      assert.match(text, /ProtocolError/, `${how}: ${text}`);
    }
  },
);

faultTest(
  "F13 a truncated frame then EOF on a socket is never delivered; the connection closes",
  async (tag) => {
    const r = result(await run("f12_socket", tag, { args: ["truncated"] }));
    const peer = r.truncated as Row;
    assert.equal(peer.dispatched, 0);
    assert.equal((peer.end as Row).name, "ProtocolError", JSON.stringify(peer));
    assert.equal(r.legitAfter, true);
    figure(
      "F13",
      `socket: truncated frame not delivered, closed after ${
        (peer.closeMs as number).toFixed(1)
      } ms`,
    );
  },
);

faultTest(
  "F14 a length-prefix bomb is refused at the header, before any allocation",
  async (tag) => {
    const r = result(await run("f12_socket", tag, { args: ["bomb"] }));
    for (const bomb of r.each as Row[]) {
      assert.equal(bomb.dispatched, 0, JSON.stringify(bomb));
      assert.ok((bomb.closeMs as number) <= 100, JSON.stringify(bomb));
      if (bomb.handshake) assert.equal((bomb.end as Row).name, "ProtocolError");
      assert.ok((bomb.growth as number) < 2 ** 20, `RSS grew ${bomb.growth} bytes for one bomb`);
    }
    const max = Math.max(...(r.each as Row[]).map((b) => b.growth as number));
    figure(
      "F14",
      `one bomb (2^31, 2^32-1, limit+1; before and after auth): RSS growth <= ${
        (max / 1024).toFixed(0)
      } KiB`,
    );
    assert.equal((r.many as Row).dispatched, 0);
    assert.equal(r.legitAfter, true);
  },
);

faultTest("F14 64 length-prefix bombs at once grow the server by less than 8 MiB", async (tag) => {
  const r = result(await run("f12_socket", tag, { args: ["bomb"] }));
  const mib = (bytes: unknown) => ((bytes as number) / 2 ** 20).toFixed(1);
  figure(
    "F14",
    `64 at once: RSS growth ${mib(r.growth64)} MiB, the same 64 again ${
      mib(r.growth64Again)
    } MiB (64 benign: ${mib(r.growth64Benign)} MiB)`,
  );
  // The process's memory grows once by a step of several MiB (the allocator
  // and the runtime's pools: 6 to 10 MiB, in whichever round it falls, the
  // second one too when the warm-up is doubled). What bombs cost grows with
  // them, in every round: the smaller of two identical rounds is their cost.
  const grown = Math.min(r.growth64 as number, r.growth64Again as number);
  assert.ok(grown < 8 * 2 ** 20, `64 bombs grew the server by ${mib(grown)} MiB in both rounds`);
});

faultTest(
  "F15 slowloris and a flood of 1000 idle connections: a legitimate client still gets in",
  async (tag) => {
    const r = result(await run("f15_flood", tag, { args: ["1000"], timeoutMs: 60_000 }));
    figure(
      "F15",
      `unloaded p95 ${(r.unloaded as number).toFixed(2)} ms, during the flood ${
        JSON.stringify(r.loaded)
      }; slowloris dropped after ${(r.dripDroppedMs as number).toFixed(0)} ms`,
    );
    assert.deepEqual(r.legit, { ok: true });
    // Its p95 within 2x of unloaded is a bench figure (socket.flood), not asserted here.
    assert.ok((r.dripDroppedMs as number) > 0, "the slowloris is dropped");
  },
);

faultTest(
  "F16 unauthenticated, wrong-HMAC, replayed handshake, data before auth are refused",
  async (tag) => {
    const r = result(await run("f12_socket", tag, { args: ["auth"] }));
    assert.equal((r.noneAnswer as Row)?.ok, false, "no proof: refused");
    assert.equal((r.wrong as Row).name, "AuthenticationError", "wrong secret");
    assert.equal((r.replayAnswer as Row)?.ok, false, "a replayed proof is refused");
    assert.equal(r.dispatchedTotal, r.legitDispatched, "nothing of theirs was dispatched");
    assert.equal(r.hostname, "127.0.0.1");
    assert.equal(r.dirMode, "700");
    assert.equal(r.fileMode, "600");
    assert.equal(r.legitAfter, true);
    figure(
      "F16",
      `4 hostile handshakes refused (${
        (r.rejections as string[]).join(", ")
      }); unix dir ${r.dirMode}, file ${r.fileMode}; TCP on ${r.hostname}`,
    );
  },
);

faultTest("F17/F18 hostile and non-cloneable payloads on every transport and host", async (tag) => {
  const out = await run("f17_payloads", tag, { timeoutMs: 120_000 });
  const combos = rows(out.lines, "combo");
  assert.equal(combos.length, 6);
  for (const c of combos) {
    const where = `${c.host}/${c.transport}`;
    assert.deepEqual(c.protoEcho, ["__proto__", "a"], where);
    assert.deepEqual(c.ctorEcho, ["constructor", "b"], where);
    assert.equal(c.keys, c.keysSent, where);
    assert.equal(c.actorPrototypeOk, true, `${where}: the actor's Object.prototype is unchanged`);
    assert.equal((c.actorPrototype as Row).polluted, null, where);
    for (const [what, refused] of Object.entries(c.refused as Record<string, Row>)) {
      assert.equal(refused.tell, "MessageNotCloneableError", `${where} ${what} tell`);
      assert.equal(refused.ask, "MessageNotCloneableError", `${where} ${what} ask`);
      assert.equal(refused.unchanged, true, `${where} ${what}: the mailbox is unchanged`);
    }
    assert.equal(c.countAfter, 1, `${where}: nothing refused reached the actor`);
    assert.equal(c.state, "running");
  }
  const r = result(out);
  assert.equal(r.parentPrototypeOk, true);
  assert.equal(r.parentPolluted, null);
  const ms = combos.map((c) => `${c.host}/${c.transport} ${(c.keysMs as number).toFixed(0)} ms`);
  figure(
    "F17",
    `prototypes unchanged on 6 host/transport pairs; keys objects (1e6 on process/pipe, 1e5 elsewhere) took ${
      ms.join(", ")
    }`,
  );
  figure(
    "F18",
    `function, Symbol, WeakMap, class instance, 1e5-deep graph: MessageNotCloneableError at the sender on all 6`,
  );
});

// Was a defect: a worker actor whose thread decodes a large message sends no
// heartbeat meanwhile, and was declared dead ("lost-heartbeat") for it. The
// watchdog now counts a message sent and not yet taken by the actor's thread,
// while that thread uses CPU, as work; a thread frozen without CPU with a
// message waiting for it is still declared dead.
faultTest("F17 a worker actor decoding a 1e6-key payload is not declared dead", async (tag) => {
  const r = result(await run("f17_heartbeat", tag));
  assert.equal(r.keys, 1e6, JSON.stringify(r));
  assert.equal(r.state, "running");
  assert.equal(r.frozenReason, "lost-heartbeat", "a frozen thread is still declared dead");
  assert.equal((r.frozenAsk as Row).name, "ActorCrashedError", JSON.stringify(r));
  figure(
    "F17",
    `a 1e6-key ask to a worker at heartbeatMs 300 took ${
      (r.ms as number).toFixed(0)
    } ms, actor still running; a frozen thread with an untaken ask declared dead after ${
      (r.frozenMs as number).toFixed(0)
    } ms`,
  );
});

faultTest(
  "F18 a SharedArrayBuffer payload over a byte transport is a typed error at the sender",
  async (tag) => {
    const r = result(await run("f18_shared", tag));
    for (const [transport, outcome] of Object.entries(r.byTransport as Record<string, Row>)) {
      assert.equal(
        outcome.tell,
        "MessageNotCloneableError",
        `${transport}: ${JSON.stringify(outcome)}`,
      );
      assert.equal(
        outcome.ask,
        "MessageNotCloneableError",
        `${transport}: ${JSON.stringify(outcome)}`,
      );
    }
    assert.equal(r.deadLetters, 0);
  },
);

faultTest(
  "F19 over the frame limit is FrameTooLargeError at the sender; larger than the ring streams",
  async (tag) => {
    const out = await run("f19_limits", tag);
    const combos = rows(out.lines, "combo");
    assert.equal(combos.length, 5);
    for (const c of combos) {
      const over = c.over as Row;
      assert.equal(over.name, "FrameTooLargeError", JSON.stringify(c));
      assert.equal(over.threwSync, true, "thrown at the sender");
      assert.equal(c.nothingSent, true, "nothing of it was sent");
      assert.equal(c.state, "running");
      assert.ok((c.limit as number) - (c.max as number) < 256, "the limit is about the frame");
    }
    const r = result(out);
    assert.equal(r.biggerThanRing, true, "1 MiB through a 64 KiB ring arrives whole");
    figure(
      "F19",
      `limit 65536: the sender takes payloads up to ${
        combos[0].max
      } bytes; +1 is FrameTooLargeError at the sender on 5 pairs; 1 MiB through a 64 KiB ring intact`,
    );
  },
);

faultTest(
  "F19 exactly the largest payload the sender takes arrives (max-1 and max)",
  async (tag) => {
    const out = await run("f19_limits", tag);
    for (const c of rows(out.lines, "combo")) {
      assert.equal(c.maxMinusOne, true, JSON.stringify(c));
      assert.equal(c.atMax, true, JSON.stringify(c));
    }
    assert.equal(result(out).deadLetters, 0);
  },
);

faultTest(
  "F20 a slow consumer under each overflow policy: delivered + dropped = sent, FIFO, flat memory",
  async (tag) => {
    const out = await run("f20_overflow", tag, {
      args: ["400"],
      flags: ["-A", "--v8-flags=--expose-gc"],
    });
    const policies = rows(out.lines, "policy");
    assert.equal(policies.length, 4);
    for (const p of policies) {
      const dropped = (p.dropped as number) + (p.failed as number);
      assert.equal((p.received as number) + dropped, p.sent, JSON.stringify(p));
      assert.equal(p.outOfOrder, 0, "FIFO per producer");
      assert.ok((p.heapGrowth as number) < 2 ** 20, `heap grew ${p.heapGrowth} bytes`);
      if (p.overflow === "backpressure") assert.equal(dropped, 0);
      else assert.ok(dropped > 0, "a full mailbox drops under this policy");
      figure(
        "F20",
        `${p.overflow}: sent ${p.sent} = delivered ${p.received} + dropped ${dropped}; heap ${
          ((p.heapGrowth as number) / 1024).toFixed(0)
        } KiB`,
      );
    }
  },
);

faultTest("F21 a full ring whose consumer dies: the waiting send rejects promptly", async (tag) => {
  const r = result(await run("f21_ring_dies", tag));
  const outcome = r.outcome as Row;
  assert.equal(outcome.found, true, "a send was waiting");
  assert.equal(outcome.name, "ActorCrashedError", JSON.stringify(r));
  assert.ok((outcome.settleMs as number) <= 100, `rejected after ${outcome.settleMs} ms`);
  figure(
    "F21",
    `waiting send rejected ${
      (outcome.settleMs as number).toFixed(1)
    } ms after the consumer died (${r.sent} sent)`,
  );
});

faultTest(
  "F22 ring wraparound: random-size messages with checksums, zero corruption, exact order",
  async (tag) => {
    const count = Number(Deno.env.get("TROUPE_FAULT_RING_MESSAGES") ?? 1e6);
    const r = result(
      await run("f22_wraparound", tag, { args: [String(count)], timeoutMs: 120_000 }),
    );
    figure(
      "F22",
      `${r.checked} messages, ${
        ((r.bytes as number) / 2 ** 20).toFixed(0)
      } MiB through a ${r.ringBytes}-byte ring (${r.wraps} wraps) in ${
        (r.ms as number).toFixed(0)
      } ms: ${r.corrupt} corrupt, ${r.disorder} out of order (seed ${r.seed})`,
    );
    assert.equal(r.checked, count);
    assert.equal(r.corrupt, 0);
    assert.equal(r.disorder, 0);
  },
);

faultTest(
  "F23 a semaphore holder crashes (worker) or is killed -9 (process): permits come back",
  async (tag) => {
    const out = await run("f23_semaphore", tag, { args: ["crash"] });
    const hosts = rows(out.lines, "host");
    assert.equal(hosts.length, 2);
    for (const host of hosts) {
      assert.equal(host.got, "permit", JSON.stringify(host));
      assert.ok((host.backMs as number) <= 100, `permit back after ${host.backMs} ms`);
      assert.equal(host.available, 1);
      figure(
        "F23",
        `${host.host}: permit back ${(host.backMs as number).toFixed(1)} ms after the holder died`,
      );
    }
  },
);

faultTest("F23 the next semaphore holder learns that its predecessor died", async (tag) => {
  const out = await run("f23_semaphore", tag, { args: ["crash"] });
  for (const host of rows(out.lines, "host")) {
    assert.equal((host.learnt as Row).previousHolderDied, true, JSON.stringify(host));
  }
});

faultTest(
  "F24 a waiter on a semaphore is terminated: no permit consumed, the process exits",
  async (tag) => {
    const out = await run("f23_semaphore", tag, { args: ["terminate"], timeoutMs: 10_000 });
    const r = result(out);
    assert.equal(r.reason, "killed");
    assert.equal(r.waitingAfter, 0, "the dead waiter left the queue");
    assert.equal(r.parentGotPermit, true, "the permit went to the next taker");
    assert.equal(r.available, 1);
    assert.ok(out.ms < 5000, "the program ended by itself");
    figure(
      "F24",
      `terminated waiter consumed no permit; the program ended ${out.ms.toFixed(0)} ms after start`,
    );
  },
);

for (const strategy of ["one-for-all", "rest-for-one"]) {
  faultTest(
    `F25 ${strategy}, child 2 of 4 crashes: OTP stop and start order, one restart counted`,
    async (tag) => {
      const r = result(await run("f25_strategies", tag, { args: [strategy, "order"] }));
      const expected = strategy === "one-for-all"
        ? [
          "stopped c4",
          "stopped c3",
          "stopped c1",
          "started c1",
          "started c2",
          "started c3",
          "started c4",
        ]
        : ["stopped c4", "stopped c3", "started c2", "started c3", "started c4"];
      assert.deepEqual(r.order, expected);
      assert.deepEqual(
        r.restartedIds,
        strategy === "one-for-all" ? ["c1", "c2", "c3", "c4"] : ["c2", "c3", "c4"],
      );
      assert.equal(r.gaveUp, false, "one restart counted: maxRestarts 1 was enough");
      figure("F25", `${strategy}: ${(r.order as string[]).join(", ")}`);
    },
  );

  faultTest(`F25 ${strategy}: sends to siblings during the restart wait for them`, async (tag) => {
    const r = result(await run("f25_strategies", tag, { args: [strategy, "sends"] }));
    const sends = r.sends as Record<string, { tell: Row; ask: Row }>;
    assert.ok(Object.keys(sends).length > 0);
    for (const [id, send] of Object.entries(sends)) {
      assert.equal(send.tell.threw, false, `${id}: ${JSON.stringify(send.tell)}`);
      assert.ok("value" in send.ask, `${id}: ${JSON.stringify(send.ask)}`);
    }
    assert.equal(r.sentToNewIncarnation, true);
  });
}

faultTest("F26 seeded random supervision-tree stress (depth 3 x breadth 3)", async (tag) => {
  const out = await run("f26_stress", tag, { timeoutMs: 90_000 });
  const seed = (out.lines.find((l) => l.kind === "seed") as Row).seed;
  figure("F26", `seed = ${seed} (replay: TROUPE_FAULT_SEED=${seed} deno task faults --filter F26)`);
  const r = result(out);
  figure(
    "F26",
    `${r.asks} asks, ${r.crashes} crashes, ${r.gaveUp} gave up; stale refs ${r.stale}, tells thrown ${r.tellThrew}`,
  );
  assert.equal(r.settled, r.asks, "every ask settles");
  assert.equal(r.timedOut, 0, "none waited out its deadline");
  assert.equal(r.fromDead, 0, "no reply from an incarnation known dead");
  assert.equal(r.tellThrew, 0, "tell never throws for a supervised ref");
  assert.equal(r.stale, 0, `stale refs: ${(r.staleIds as string[]).join(", ")}`);
  assert.equal(r.clean, true);
  assert.equal(r.actorsAfter, 0);
});

faultTest(
  "F27 out of memory: a capped process actor is restarted; a worker's is fatal, as documented",
  async (tag) => {
    const r = result(await run("f27_oom", tag, { args: ["process"] }));
    const outcome = r.outcome as Row;
    assert.equal(outcome.name, "ActorCrashedError", JSON.stringify(outcome));
    assert.equal((outcome.cause as Row).outOfMemory, true, "the exit says out of memory");
    assert.equal(r.restarted, true);
    figure(
      "F27",
      `process: out of memory seen after ${(r.oomMs as number).toFixed(0)} ms, restarted`,
    );
    const worker = await run("f27_oom", tag, {
      args: ["worker"],
      flags: ["-A", "--v8-flags=--max-old-space-size=96"],
      anyExit: true,
    });
    assert.ok(worker.lines.some((l) => l.kind === "before-hog"));
    assert.ok(
      !worker.lines.some((l) => l.kind === "after-hog"),
      "nothing runs after a worker's OOM",
    );
    assert.notEqual(worker.code, 0, "the process dies (README: What JavaScript cannot do)");
    figure(
      "F27",
      `worker: the whole process died with exit ${worker.code} after ${
        worker.ms.toFixed(0)
      } ms (documented)`,
    );
  },
);

const RESTRICTED = ["--allow-read", "--allow-write", "--allow-run", "--unstable-worker-options"];

faultTest("F29 a worker granted more than its parent holds is a SpawnError", async (tag) => {
  // The program does not end afterwards (a new defect, below): read its line, then kill it.
  const running = start("f29_permissions", tag, { args: ["beyond"], flags: RESTRICTED });
  const line = await running.line((l) => l.kind === "result");
  running.kill("SIGKILL");
  await running.done;
  const beyond = line.beyond as Row;
  assert.equal(beyond.name, "SpawnError", JSON.stringify(beyond));
  assert.match(JSON.stringify(beyond), /NotCapable/);
  figure(
    "F29",
    `worker granted net by a parent without it: ${beyond.name} (${(beyond.cause as Row).name})`,
  );
});

faultTest("F29 after a refused worker grant the program still ends by itself", async (tag) => {
  const out = await run("f29_permissions", tag, {
    args: ["beyond"],
    flags: RESTRICTED,
    timeoutMs: 8000,
  });
  assert.equal((result(out).beyond as Row).name, "SpawnError");
});

faultTest("F29 permission escalation and secret leakage", async (tag) => {
  const restricted = result(
    await run("f29_permissions", tag, {
      args: ["restricted"],
      flags: RESTRICTED,
    }),
  );
  const refused = restricted.refused as Record<string, string>;
  for (const what of ["read", "write", "env", "run", "net"]) {
    assert.equal(refused[what], "NotCapable", `an ungranted process actor cannot ${what}`);
  }
  const env = result(
    await run("f29_permissions", tag, {
      args: ["env"],
      env: { SECRET_TOKEN: "hunter2-of-the-fault-suite" },
    }),
  );
  assert.equal(env.parentHasSecret, true);
  assert.equal(env.secret, null, "the parent's env is not visible in a process actor");
  figure(
    "F29",
    `ungranted process actor: ${
      Object.entries(refused).map(([k, v]) => `${k} ${v}`).join(", ")
    }; parent secret in the child: ${env.secret}`,
  );
});

faultTest(
  "F29 a process actor granted more than its parent holds is refused or warned about",
  async (tag) => {
    const r = result(
      await run("f29_permissions", tag, {
        args: ["restricted"],
        flags: ["--allow-read", "--allow-write", "--allow-run", "--unstable-worker-options"],
      }),
    );
    const escalated = r.escalated as Row;
    assert.ok(escalated.spawned !== true || (r.warnings as string[]).length > 0, JSON.stringify(r));
  },
);

faultTest(
  "F29 a worker with an empty grant runs its own module and sees nothing else",
  async (tag) => {
    const r = result(
      await run("f29_permissions", tag, {
        args: ["env"],
        env: { SECRET_TOKEN: "hunter2-of-the-fault-suite" },
      }),
    );
    const empty = r.empty as Row;
    assert.equal(empty.spawned, true, JSON.stringify(empty));
    assert.match(String(empty.secret), /^refused|^null$/);
  },
);

const CYCLES = Number(Deno.env.get("TROUPE_FAULT_CYCLES") ?? 30);
const cycleHosts = [["worker", "queue"], ["worker", "ring"], ["process", "pipe"], [
  "process",
  "socket",
]];
faultTest(
  `F30 ${CYCLES} start/stop and crash/restart cycles per host: fds, threads, zombies, permits back`,
  async (tag) => {
    for (const [host, transport] of cycleHosts) {
      const r = result(
        await run("f30_cycles", tag, {
          args: [host, transport, String(CYCLES)],
          timeoutMs: 600_000,
        }),
      );
      const before = r.before as Row, after = r.after as Row;
      const where = `${host}/${transport}`;
      figure(
        "F30",
        `${where}: ${CYCLES} x 2 cycles in ${
          (r.ms as number).toFixed(0)
        } ms; fds ${before.fds}->${after.fds}, threads ${before.threads}->${after.threads}, zombies ${after.zombies}, permits ${r.available}/${r.permits}, RSS +${
          (r.rssGrowthMiB as number).toFixed(1)
        } MiB`,
      );
      // Deno 2.9.6 starts a thread of its own with a socket pair (two fds) a few hundred ms
      // after worker threads ran, in bare Deno too (three `new Worker` + `terminate()`, then
      // idle: a thread named "deno" and two unix sockets appear after 200 to 500 ms). The first
      // sample may come before it and the second after (a CI run: fds 29 -> 31, threads 7 -> 8).
      // A leak of the cycles' own is one or more fds a cycle, 30 or more here.
      assert.ok(
        (after.fds as number) <= (before.fds as number) + 2,
        `${where}: fds ${before.fds} -> ${after.fds}`,
      );
      // Deno's blocking pool starts and retires threads by itself: a small margin.
      assert.ok((after.threads as number) <= (before.threads as number) + 2, `${where}: threads`);
      assert.equal(after.zombies, 0, `${where}: zombies`);
      assert.equal(r.available, r.permits, `${where}: every permit back`);
    }
  },
);

// open: issue 16.15 (start/stop cycles grow memory outside the JS heap). The
// row's figure is for 1000 cycles (TROUPE_FAULT_RSS_CYCLES to change it):
// about 9 minutes on 2 cores, so run by hand with TROUPE_FAULT_OPEN=1.
// Rings are pooled now (ring worker cycles: +673 MiB per 1000 spawn/stop
// before, +17 after); what is left is per worker or process, with the JS
// heap flat: 1000 x 2 cycles here grow worker/queue +65 MiB, worker/ring +66;
// 1000 bare Deno `new Worker` + terminate grow +11 MiB (+7 with
// MALLOC_ARENA_MAX=2). Per 1000 plain spawn/stop: worker/ring +17, worker/queue
// +25, worker/pipe +42, worker/socket +42, process/pipe +34 (flat after 700),
// process/socket +46 MiB.
const RSS_CYCLES = Number(Deno.env.get("TROUPE_FAULT_RSS_CYCLES") ?? 1000);
faultTest(`F30 ${RSS_CYCLES} cycles per host grow RSS by less than 20 MiB`, async (tag) => {
  const failures: string[] = [];
  for (const [host, transport] of cycleHosts) {
    const r = result(
      await run("f30_cycles", tag, {
        args: [host, transport, String(RSS_CYCLES)],
        timeoutMs: 900_000,
      }),
    );
    const before = r.before as Row, after = r.after as Row;
    figure(
      "F30",
      `${host}/${transport}: ${RSS_CYCLES} x 2 cycles in ${(r.ms as number).toFixed(0)} ms; RSS +${
        (r.rssGrowthMiB as number).toFixed(1)
      } MiB; fds ${before.fds}->${after.fds}, threads ${before.threads}->${after.threads}, zombies ${after.zombies}, permits ${r.available}/${r.permits}`,
    );
    if ((r.rssGrowthMiB as number) >= 20) failures.push(`${host}/${transport}`);
  }
  assert.deepEqual(failures, [], "RSS grew by 20 MiB or more");
}, { ignore: true });
