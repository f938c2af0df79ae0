/**
 * The multi-process NATS demo: one pool of parsers across two processes,
 * fed by name from a third, durable, and one of the two killed halfway.
 *
 * 1. Uses the broker NATS_URL names, or starts a local `nats-server` (with
 *    JetStream, in a temp store) when none is given.
 * 2. Starts three `troupe run` services as separate processes: two
 *    `examples/nats/parser_service.ts` (`parser-a`, `parser-b`), which expose
 *    a pool of parsers under the one name `parser`, durably; then
 *    `examples/nats/front_service.ts`, which sends them 600 jobs by name.
 * 3. Halfway through (the front service's progress at 50%), `parser-a` is
 *    killed with SIGKILL: no cleanup, jobs in its hands unacked. `parser-b`
 *    takes the load, and after the ack deadline (2 s) the jobs `parser-a`
 *    held are redelivered to it.
 * 4. The front service finishes when every job is reported done, and prints
 *    how many each process handled; nothing the broker confirmed is lost.
 *    The demo stops `parser-b` and the server it started, and exits 0 (1
 *    when a job was lost or a service failed).
 *
 * Run: `deno task demo:nats` (or `NATS_URL=nats://host:4222 deno task demo:nats`).
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url);
const CLI = new URL("cli/mod.ts", ROOT).pathname;
const PARSER_SERVICE = new URL("nats/parser_service.ts", import.meta.url).pathname;
const FRONT_SERVICE = new URL("nats/front_service.ts", import.meta.url).pathname;
const READY_MS = 20_000;

const say = (text: string) => console.log(`demo: ${text}`);

/** A child process whose stdout is JSON lines (`troupe run --json`), and waits on them. */
class Child {
  readonly label: string;
  readonly process: Deno.ChildProcess;
  readonly lines: Record<string, unknown>[] = [];
  #waiters = new Set<() => void>();
  #reading: Promise<void>;
  #ended = false;

  constructor(label: string, args: string[], env: Record<string, string>) {
    this.label = label;
    this.process = new Deno.Command(Deno.execPath(), {
      args,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#reading = this.#read();
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of this.process.stdout) {
      pending += decoder.decode(chunk, { stream: true });
      const parts = pending.split("\n");
      pending = parts.pop()!;
      for (const part of parts) {
        let line: Record<string, unknown>;
        try {
          line = JSON.parse(part);
        } catch {
          console.log(`[${this.label}] ${part}`);
          continue;
        }
        this.lines.push(line);
        this.#show(line);
        for (const wake of this.#waiters) wake();
      }
    }
    this.#ended = true;
    for (const wake of this.#waiters) wake();
  }

  #show(line: Record<string, unknown>): void {
    if (line.type === "log") console.log(`[${this.label}] ${line.message}`);
    else if (line.type === "progress") {
      console.log(`[${this.label}] ${line.done}/${line.total} ${line.unit ?? "items"} done`);
    } else if (line.type === "summary") {
      const { type: _type, time: _time, ...figures } = line;
      console.log(`[${this.label}] summary ${JSON.stringify(figures)}`);
    }
  }

  /** The first line matching, waiting for it up to `ms`. */
  next(match: (line: Record<string, unknown>) => boolean, ms: number, what: string) {
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = this.lines.find(match);
        if (found !== undefined || this.#ended) {
          this.#waiters.delete(check);
          clearTimeout(timer);
          if (found) resolve(found);
          else reject(new Error(`${this.label} ended before ${what}`));
        }
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`${this.label}: no ${what} within ${ms} ms`));
      }, ms);
      this.#waiters.add(check);
      check();
    });
  }

  kill(signal: Deno.Signal): void {
    try {
      this.process.kill(signal);
    } catch {
      // Gone already.
    }
  }

  async ended(): Promise<Deno.CommandStatus> {
    const status = await this.process.status;
    await this.#reading;
    return status;
  }
}

/** Starts a nats-server with JetStream on a free loopback port; resolves with its URL. */
async function startServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]
    .concat((Deno.env.get("PATH") ?? "").split(":").map((dir) => `${dir}/nats-server`))
    .find((path) => {
      try {
        return Deno.statSync(path).isFile;
      } catch {
        return false;
      }
    });
  if (binary === undefined) {
    throw new Error(
      "no nats-server found: install it (apt-get install nats-server) or set NATS_URL",
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "troupe-nats-demo-" });
  const child = new Deno.Command(binary, {
    args: ["-a", "127.0.0.1", "-p", "-1", "-js", "-sd", dir],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const url = await new Promise<string>((resolve, reject) => {
    let port = "";
    const timer = setTimeout(() => reject(new Error(`nats-server not ready:\n${log}`)), READY_MS);
    (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr) {
        log += decoder.decode(chunk, { stream: true });
        port ||= log.match(/Listening for client connections on [^:]+:(\d+)/)?.[1] ?? "";
        if (port && log.includes("Server is ready")) {
          clearTimeout(timer);
          resolve(`nats://127.0.0.1:${port}`);
        }
      }
      clearTimeout(timer);
      reject(new Error(`nats-server exited:\n${log}`));
    })();
  });
  return {
    url,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Gone already.
      }
      await child.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

async function demo(): Promise<number> {
  const given = Deno.env.get("NATS_URL");
  const server = given ? undefined : await startServer();
  const url = given ?? server!.url;
  say(given ? `using the broker at ${url}` : `started nats-server at ${url}`);
  const children: Child[] = [];
  const service = (label: string, file: string, env: Record<string, string> = {}) => {
    const child = new Child(label, [
      "run",
      "-A",
      CLI,
      "run",
      "--json",
      "--name",
      `nats-demo-${label}-${Deno.pid}`,
      file,
    ], { NATS_URL: url, DEMO_LABEL: label, ...env });
    children.push(child);
    return child;
  };
  try {
    const a = service("parser-a", PARSER_SERVICE);
    const b = service("parser-b", PARSER_SERVICE);
    const serving = (line: Record<string, unknown>) =>
      line.type === "log" && String(line.message).includes("serves");
    await Promise.all([
      a.next(serving, READY_MS, "serving"),
      b.next(serving, READY_MS, "serving"),
    ]);
    const front = service("front", FRONT_SERVICE, {
      DEMO_JOBS: Deno.env.get("DEMO_JOBS") ?? "600",
    });
    await front.next(
      (line) => line.type === "progress" && Number(line.done) >= Number(line.total) / 2,
      READY_MS * 2,
      "progress past halfway",
    );
    say(`halfway: killing parser-a (pid ${a.process.pid}) with SIGKILL`);
    a.kill("SIGKILL");
    const killed = await a.ended();
    say(`parser-a is gone (signal ${killed.signal}); parser-b takes the load`);
    const frontStatus = await front.ended();
    b.kill("SIGTERM");
    const bStatus = await b.ended();
    const summary = front.lines.find((line) => line.type === "summary");
    if (!frontStatus.success || summary === undefined) {
      say(`the front service failed (exit code ${frontStatus.code})`);
      return 1;
    }
    const details = (summary.details ?? {}) as Record<string, unknown>;
    say(`summary: ${summary.items} jobs`);
    for (const [key, value] of Object.entries(details)) console.log(`  ${key}: ${value}`);
    const lost = Number(details.lost);
    if (lost !== 0 || !bStatus.success) {
      say(`failed: ${lost} jobs lost, parser-b exit code ${bStatus.code}`);
      return 1;
    }
    say("every job done, nothing lost");
    return 0;
  } finally {
    for (const child of children) child.kill("SIGKILL");
    await Promise.all(children.map((child) => child.ended()));
    await server?.stop();
  }
}

if (import.meta.main) Deno.exit(await demo());
