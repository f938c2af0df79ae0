// The control socket of a running `troupe run`: where it lives, the server
// the service runs, and the client `troupe status` and `troupe stop` use.
//
// Where: `--control PATH`, or `<state dir>/<name>.sock` where the state dir is
// `$XDG_RUNTIME_DIR/troupe` when that variable is set, else
// `${TMPDIR:-/tmp}/troupe-<uid>`. The directory is created with mode 0700 and
// must be a directory owned by this user that no one else can enter; the
// socket file is made mode 0600. A socket file left by a killed service is
// recovered: if nothing answers on it, it is removed and reused.
//
// Protocol (`troupe-control/1`), JSON lines over the Unix socket:
// - on connect the server sends `{"protocol":"troupe-control/1","name","pid","app","started"}`;
// - requests are `{"id":1,"op":"status"}` and `{"id":2,"op":"stop","timeout":5000}`
//   (`timeout` optional), `{"id":3,"op":"restart","actor":"db"}` and
//   `{"id":4,"op":"logs","lines":100,"follow":true}`; each gets `{"id":1,"ok":true,"result":...}` or
//   `{"id":1,"ok":false,"error":"..."}`;
// - after a `logs` request with `follow`, each new line the service prints comes as
//   `{"event":"log","line":"..."}` until the connection ends;
// - when the service has shut down it sends `{"event":"stopped","result":{...}}`
//   to every connection, then closes them.
// A request line may hold at most 64 KiB; a longer one ends the connection.

import { dirname, join } from "node:path";
import { removeStaleSocket } from "../transports/socket/bind.ts";
import { UsageError } from "./_args.ts";

/** The protocol name in the server's greeting. */
export const CONTROL_PROTOCOL = "troupe-control/1";

const MAX_REQUEST_BYTES = 64 * 1024;
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
const GREETING_TIMEOUT_MS = 5000;
const FAREWELL_TIMEOUT_MS = 500;

/** The per-user directory that holds the control sockets. */
export function stateDir(): string {
  const runtime = Deno.env.get("XDG_RUNTIME_DIR");
  if (runtime) return join(runtime, "troupe");
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  return join(tmp, `troupe-${Deno.uid() ?? "user"}`);
}

/** The default control socket of a service named `name`. */
export function controlPath(name: string): string {
  return join(stateDir(), `${name}.sock`);
}

/**
 * Creates `dir` (mode 0700) if it is missing, and checks that it is a real
 * directory owned by this user that no one else can enter.
 *
 * @throws {Error} When it is not private.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { mode: 0o700 });
    await Deno.chmod(dir, 0o700); // the umask may have taken bits away, never added them
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      await Deno.mkdir(dirname(dir), { recursive: true, mode: 0o700 });
      return ensurePrivateDir(dir);
    }
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  const info = await Deno.lstat(dir);
  const uid = Deno.uid();
  if (!info.isDirectory || info.isSymlink) {
    throw new Error(`Cannot use control directory: "${dir}" is not a directory`);
  }
  if (uid !== null && info.uid !== uid) {
    throw new Error(
      `Cannot use control directory: "${dir}" belongs to user ${info.uid}, not to this user (${uid})`,
    );
  }
  if (info.mode !== null && (info.mode & 0o077) !== 0) {
    throw new Error(
      `Cannot use control directory: other users can enter "${dir}" (mode ${
        (info.mode & 0o777).toString(8)
      }); make it mode 0700 or pass --control with a path in a private directory`,
    );
  }
}

/** A live service found in the state directory. */
export interface FoundService {
  name: string;
  path: string;
}

/** The services whose control sockets in `dir` answer (stale socket files are skipped). */
export async function listServices(dir: string = stateDir()): Promise<FoundService[]> {
  const found: FoundService[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.name.endsWith(".sock")) continue;
    const path = join(dir, entry.name);
    if (await answers(path)) found.push({ name: entry.name.slice(0, -5), path });
  }
  return found;
}

async function answers(path: string): Promise<boolean> {
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * The control socket a client command should use: `--control`, else the
 * socket of `--name`, else the only service running.
 *
 * @throws {UsageError} When several services run and none was named.
 * @throws {Error} When none runs.
 */
export async function resolveControl(
  command: string,
  values: { name?: string | undefined; control?: string | undefined },
): Promise<string> {
  if (values.control !== undefined) return values.control;
  if (values.name !== undefined) return controlPath(values.name);
  const dir = stateDir();
  const services = await listServices(dir);
  if (services.length === 1) return services[0]!.path;
  if (services.length === 0) {
    throw new Error(
      `no running service found in ${dir}; start one with 'troupe run app.ts', or pass --control PATH`,
    );
  }
  throw new UsageError(
    command,
    `several services are running (${
      services.map((s) => s.name).join(", ")
    }); pick one with --name NAME`,
  );
}

// ---------------------------------------------------------------------------
// Lines over a connection.

const encoder = new TextEncoder();

async function writeLine(conn: Deno.Conn, value: unknown): Promise<void> {
  const bytes = encoder.encode(`${JSON.stringify(value)}\n`);
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

/** The lines a peer sends, until it closes; a line over `max` bytes throws. */
async function* readLines(conn: Deno.Conn, max: number): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(64 * 1024);
  let pending = "";
  while (true) {
    let n: number | null;
    try {
      n = await conn.read(buffer);
    } catch (error) {
      if (closedError(error)) return;
      throw error;
    }
    if (n === null) return;
    pending += decoder.decode(buffer.subarray(0, n), { stream: true });
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      yield pending.slice(0, newline);
      pending = pending.slice(newline + 1);
    }
    if (pending.length > max) throw new Error(`a line is longer than ${max} bytes`);
  }
}

function closedError(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.Interrupted;
}

function parseObject(line: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(line);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function closeQuietly(closer: { close(): void }): void {
  try {
    closer.close();
  } catch {
    // Closed already.
  }
}

// ---------------------------------------------------------------------------
// The server.

/** What the service answers on its control socket. */
export interface ControlHandlers {
  /** The greeting's fields besides `protocol`. */
  hello(): Record<string, unknown>;
  /** The answer to `status`. */
  status(): unknown;
  /** Starts a graceful stop (idempotent); `timeout` overrides the service's deadline. */
  stop(timeout: number | undefined): void;
  /** Restarts an actor (or a nested supervisor's subtree) through its supervisor. */
  restart?(id: string): Promise<unknown>;
  /** The last `count` lines the service printed. */
  logs?(count: number): string[];
  /** Hands each new line to `follower` until the returned function is called. */
  follow?(follower: (line: string) => void): () => void;
}

/** Lines a follower may have waiting to be written before its connection is dropped. */
const MAX_FOLLOW_BACKLOG = 10_000;

/** A service's control socket. */
export class ControlServer {
  readonly path: string;
  #listener: Deno.Listener;
  #handlers: ControlHandlers;
  #conns = new Set<Deno.Conn>();
  #tasks = new Set<Promise<void>>();
  #loop: Promise<void>;
  #closed = false;

  private constructor(path: string, listener: Deno.Listener, handlers: ControlHandlers) {
    this.path = path;
    this.#listener = listener;
    this.#handlers = handlers;
    this.#loop = this.#accept();
  }

  /**
   * Listens on `path`: its directory is created private if missing, a stale
   * socket file is replaced, and the socket is made mode 0600.
   *
   * @throws {Deno.errors.AddrInUse} When a service already answers there.
   */
  static async listen(path: string, handlers: ControlHandlers): Promise<ControlServer> {
    await ensurePrivateDir(dirname(path));
    await removeStaleSocket(
      path,
      `A service is already running with control socket "${path}", or the path is taken (pick another --name)`,
    );
    const listener = Deno.listen({ transport: "unix", path });
    try {
      await Deno.chmod(path, 0o600);
    } catch (error) {
      closeQuietly(listener);
      throw error;
    }
    return new ControlServer(path, listener, handlers);
  }

  async #accept(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // closed
      }
      if (this.#closed) {
        closeQuietly(conn);
        return;
      }
      this.#conns.add(conn);
      const task = this.#serve(conn).finally(() => {
        this.#conns.delete(conn);
        this.#tasks.delete(task);
        closeQuietly(conn);
      });
      this.#tasks.add(task);
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    // One write at a time: answers and followed log lines share the connection.
    let writes: Promise<void> = Promise.resolve();
    let backlog = 0;
    const send = (value: unknown): Promise<void> => {
      backlog++;
      writes = writes.then(() => writeLine(conn, value)).finally(() => backlog--);
      return writes;
    };
    let unfollow: (() => void) | undefined;
    try {
      await send({ protocol: CONTROL_PROTOCOL, ...this.#handlers.hello() });
      for await (const line of readLines(conn, MAX_REQUEST_BYTES)) {
        if (line.trim() === "") continue;
        const request = parseObject(line);
        if (request?.op === "logs") {
          // Synchronous from reading the last lines to following: no line falls between.
          const count = typeof request.lines === "number" && request.lines >= 0
            ? request.lines
            : 100;
          const lines = this.#handlers.logs?.(count) ?? [];
          const sent = send({ id: request.id ?? null, ok: true, result: { lines } });
          if (request.follow === true && this.#handlers.follow && !unfollow) {
            unfollow = this.#handlers.follow((text) => {
              if (backlog > MAX_FOLLOW_BACKLOG) closeQuietly(conn); // a reader that does not keep up
              else send({ event: "log", line: text }).catch(() => closeQuietly(conn));
            });
          }
          await sent;
          continue;
        }
        await send(await this.#answer(line));
      }
    } catch {
      // The peer went away or broke the protocol: drop it.
    } finally {
      unfollow?.();
      await writes.catch(() => {});
    }
  }

  async #answer(line: string): Promise<Record<string, unknown>> {
    const request = parseObject(line);
    const id = typeof request?.id === "number" || typeof request?.id === "string"
      ? request.id
      : null;
    if (!request) return { id, ok: false, error: "the request is not a JSON object" };
    try {
      switch (request.op) {
        case "status":
          return { id, ok: true, result: this.#handlers.status() };
        case "stop": {
          const timeout = request.timeout;
          if (
            timeout !== undefined &&
            (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout < 0)
          ) {
            return { id, ok: false, error: "timeout must be a non-negative number of ms" };
          }
          this.#handlers.stop(timeout);
          return { id, ok: true, result: { stopping: true } };
        }
        case "restart": {
          if (typeof request.actor !== "string" || !this.#handlers.restart) {
            return { id, ok: false, error: "restart needs an actor id" };
          }
          return { id, ok: true, result: await this.#handlers.restart(request.actor) };
        }
        default:
          return {
            id,
            ok: false,
            error: `unknown op ${
              JSON.stringify(request.op)
            }; ops are status, stop, restart and logs`,
          };
      }
    } catch (error) {
      return { id, ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }

  /**
   * Tells every connected client how the service ended, then closes every
   * connection and the socket (which removes the socket file).
   */
  async finish(result: unknown): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#listener);
    await Promise.all(
      [...this.#conns].map((conn) =>
        within(writeLine(conn, { event: "stopped", result }), FAREWELL_TIMEOUT_MS).catch(() => {})
      ),
    );
    for (const conn of this.#conns) closeQuietly(conn);
    await Promise.all([this.#loop, ...this.#tasks]);
    await Deno.remove(this.path).catch(() => {});
  }

  /** Closes everything at once (the process is about to exit). */
  closeSync(): void {
    this.#closed = true;
    closeQuietly(this.#listener);
    for (const conn of this.#conns) closeQuietly(conn);
    try {
      Deno.removeSync(this.path);
    } catch {
      // Gone already.
    }
  }
}

async function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("timed out")), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------
// The client.

/** The greeting a service sends when a client connects. */
export interface Greeting {
  protocol: string;
  name?: string;
  pid?: number;
  app?: string;
  started?: number;
  shutdownTimeout?: number;
}

/** A connection to a service's control socket. */
export class ControlClient {
  readonly greeting: Greeting;
  /** Called with each line a followed service prints (after a `logs` request with `follow`). */
  onLog: ((line: string) => void) | undefined;
  readonly path: string;
  #conn: Deno.Conn;
  #lines: AsyncGenerator<string>;
  #nextId = 1;
  #pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  #stopped: Promise<Record<string, unknown> | undefined>;
  #resolveStopped!: (result: Record<string, unknown> | undefined) => void;
  #reading: Promise<void>;
  #closed = false;

  private constructor(
    path: string,
    conn: Deno.Conn,
    lines: AsyncGenerator<string>,
    greeting: Greeting,
  ) {
    this.path = path;
    this.#conn = conn;
    this.#lines = lines;
    this.greeting = greeting;
    this.#stopped = new Promise((resolve) => this.#resolveStopped = resolve);
    this.#reading = this.#read();
  }

  /**
   * Connects and reads the service's greeting.
   *
   * @throws {Error} When nothing answers at `path`, or it is not a Troupe service.
   */
  static async connect(path: string): Promise<ControlClient> {
    let conn: Deno.Conn;
    try {
      conn = await Deno.connect({ transport: "unix", path });
    } catch (error) {
      if (
        error instanceof Deno.errors.NotFound || error instanceof Deno.errors.ConnectionRefused
      ) {
        throw new Error(`no service is listening on ${path}`, { cause: error });
      }
      throw error;
    }
    const lines = readLines(conn, MAX_RESPONSE_BYTES);
    try {
      const first = await within(lines.next(), GREETING_TIMEOUT_MS);
      const greeting = first.done ? undefined : parseObject(first.value);
      if (greeting?.protocol !== CONTROL_PROTOCOL) {
        throw new Error(`${path} is not a troupe control socket (${CONTROL_PROTOCOL})`);
      }
      return new ControlClient(path, conn, lines, greeting as unknown as Greeting);
    } catch (error) {
      closeQuietly(conn);
      await lines.return(undefined).catch(() => {});
      if (error instanceof Error && error.message === "timed out") {
        throw new Error(`the service at ${path} did not greet within ${GREETING_TIMEOUT_MS} ms`);
      }
      throw error;
    }
  }

  async #read(): Promise<void> {
    try {
      for await (const line of this.#lines) {
        const message = parseObject(line);
        if (!message) continue;
        if (message.event === "log") {
          if (typeof message.line === "string") this.onLog?.(message.line);
          continue;
        }
        if (message.event === "stopped") {
          this.#resolveStopped((message.result ?? {}) as Record<string, unknown>);
          continue;
        }
        const pending = typeof message.id === "number" ? this.#pending.get(message.id) : undefined;
        if (!pending) continue;
        this.#pending.delete(message.id as number);
        if (message.ok === true) pending.resolve(message.result);
        else pending.reject(new Error(String(message.error ?? "the service refused the request")));
      }
    } catch {
      // The connection broke: treated like its end.
    } finally {
      this.#resolveStopped(undefined);
      for (const pending of this.#pending.values()) {
        pending.reject(new Error("the service closed the control connection"));
      }
      this.#pending.clear();
    }
  }

  /**
   * Sends a request and waits for its answer.
   *
   * @throws {Error} When the service refused it or went away.
   */
  async request(op: string, fields: Record<string, unknown> = {}): Promise<unknown> {
    if (this.#closed) throw new Error("the control connection is closed");
    const id = this.#nextId++;
    const answer = new Promise<unknown>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
    });
    try {
      await writeLine(this.#conn, { ...fields, id, op });
    } catch (error) {
      this.#pending.delete(id);
      throw new Error("the service closed the control connection", { cause: error });
    }
    return await answer;
  }

  /** Resolves with the service's final report once it has stopped, or `undefined` if it just went away. */
  stopped(): Promise<Record<string, unknown> | undefined> {
    return this.#stopped;
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#conn);
    await this.#reading;
  }
}
