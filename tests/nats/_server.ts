// A real nats-server for the NATS tests: found on the machine (never mocked),
// started on a free loopback port with JetStream and a fresh store directory,
// waited for through its own log line "Server is ready", stopped and cleaned
// up. A test that needs it and cannot find it fails, saying how to install it.

const INSTALL_HINT =
  "install it with `apt-get update && apt-get install -y nats-server`, or set NATS_SERVER to its path";
const READY_MS = 10_000;

/** The path of the `nats-server` binary, or an error saying how to get one. */
export function natsServerPath(): string {
  const given = Deno.env.get("NATS_SERVER");
  const candidates = [
    ...(given ? [given] : []),
    ...(Deno.env.get("PATH") ?? "").split(":").filter(Boolean).map((dir) => `${dir}/nats-server`),
    "/usr/sbin/nats-server",
    "/usr/bin/nats-server",
    "/usr/local/bin/nats-server",
  ];
  for (const candidate of candidates) {
    try {
      if (Deno.statSync(candidate).isFile) return candidate;
    } catch {
      // Not there: try the next one.
    }
  }
  throw new Error(`Cannot start the NATS tests: nats-server was not found; ${INSTALL_HINT}`);
}

/** A running nats-server the test owns. */
export interface TestNatsServer extends AsyncDisposable {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  /** The client port (kept across {@linkcode TestNatsServer.restart}). */
  readonly port: number;
  /** The JetStream store directory (kept across restarts, removed by dispose). */
  readonly dir: string;
  /** Whether the server process runs now. */
  readonly running: boolean;
  /** Stops the server (SIGTERM, then waits for it to exit). */
  stop(): Promise<void>;
  /** Starts it again on the same port and store directory. */
  restart(): Promise<void>;
  /** The server's log so far. */
  log(): string;
}

interface Running {
  child: Deno.ChildProcess;
  reading: Promise<void>;
}

/**
 * Starts a nats-server on 127.0.0.1 (a random free port the server picks
 * itself), with JetStream on and a temp store directory, and resolves once it
 * logged "Server is ready". Extra server flags may be given; `jetstream: false`
 * leaves JetStream off (an operator-mode config brings its own settings).
 */
export async function startNatsServer(
  extra: string[] = [],
  options: { jetstream?: boolean } = {},
): Promise<TestNatsServer> {
  const binary = natsServerPath();
  const dir = await Deno.makeTempDir({ prefix: "troupe-nats-" });
  let log = "";
  let port = -1;
  let running: Running | undefined;

  const launch = async () => {
    const child = new Deno.Command(binary, {
      args: [
        "-a",
        "127.0.0.1",
        "-p",
        String(port),
        ...(options.jetstream === false ? [] : ["-js", "-sd", dir]),
        ...extra,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      clearEnv: true,
    }).spawn();
    let ready: (value: number) => void = () => {};
    let failed: (error: Error) => void = () => {};
    const readyPromise = new Promise<number>((resolve, reject) => {
      ready = resolve;
      failed = reject;
    });
    const reading = (async () => {
      const decoder = new TextDecoder();
      let pending = "";
      for await (const chunk of child.stderr) {
        const text = decoder.decode(chunk, { stream: true });
        log += text;
        pending += text;
        const lines = pending.split("\n");
        pending = lines.pop()!;
        for (const line of lines) {
          const listening = line.match(/Listening for client connections on [^:]+:(\d+)/);
          if (listening) port = Number(listening[1]);
          if (line.includes("Server is ready")) ready(port);
        }
      }
      failed(new Error(`nats-server exited before it was ready:\n${log}`));
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`nats-server was not ready within ${READY_MS} ms:\n${log}`)),
        READY_MS,
      );
    });
    try {
      await Promise.race([readyPromise, deadline]);
    } catch (error) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await child.status;
      await reading;
      throw error;
    } finally {
      clearTimeout(timer);
    }
    running = { child, reading };
  };

  const stop = async () => {
    const current = running;
    if (!current) return;
    running = undefined;
    try {
      current.child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await current.child.status;
    await current.reading;
  };

  try {
    await launch();
  } catch (error) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
  return {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    dir,
    get running() {
      return running !== undefined;
    },
    stop,
    async restart() {
      await stop();
      await launch();
    },
    log: () => log,
    async [Symbol.asyncDispose]() {
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
