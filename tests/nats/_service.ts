// Child processes for the NATS tests: each runs tests/fixtures/nats_service.ts
// (a real `deno run`), which exposes the NATS probe actor and reports JSON
// lines on stdout. Tests wait on those lines, never on time; closing the
// child's stdin is its signal to shut down.

const SERVICE = new URL("../fixtures/nats_service.ts", import.meta.url);

/** One line a service reported. */
export type Line = Record<string, unknown> & { type: string };

export class Service implements AsyncDisposable {
  readonly label: string;
  readonly pid: number;
  #child: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #lines: Line[] = [];
  #waiters = new Set<() => void>();
  #reading: Promise<void>;
  #ended = false;

  private constructor(label: string, child: Deno.ChildProcess) {
    this.label = label;
    this.pid = child.pid;
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    this.#reading = this.#read();
  }

  /**
   * Starts a service exposing the probe actor as `name` (or runs `script`
   * with the same arguments and `extra` after them); resolves once it is served.
   */
  static async start(
    url: string,
    namespace: string,
    name: string,
    label: string,
    options: { script?: URL; extra?: string[] } = {},
  ): Promise<Service> {
    const script = options.script ?? SERVICE;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        script.href,
        url,
        namespace,
        name,
        label,
        ...options.extra ?? [],
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const service = new Service(label, child);
    try {
      await service.next((line) => line.type === "ready", 15_000, `service ${label} ready`);
    } catch (error) {
      await service[Symbol.asyncDispose]();
      throw error;
    }
    return service;
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of this.#child.stdout) {
      pending += decoder.decode(chunk, { stream: true });
      const parts = pending.split("\n");
      pending = parts.pop()!;
      for (const part of parts) {
        if (!part.startsWith("{")) continue;
        this.#lines.push(JSON.parse(part));
        for (const wake of this.#waiters) wake();
      }
    }
    this.#ended = true;
    for (const wake of this.#waiters) wake();
  }

  /** Every line reported so far. */
  get lines(): readonly Line[] {
    return this.#lines;
  }

  /**
   * Resolves with the first line from `from` on (an index into `lines`) that
   * matches; rejects after `ms` or when the service ends first.
   */
  next(match: (line: Line) => boolean, ms: number, what: string, from = 0): Promise<Line> {
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined = undefined;
      const check = () => {
        const found = this.#lines.slice(from).find(match);
        if (found !== undefined || this.#ended) {
          this.#waiters.delete(check);
          clearTimeout(timer);
          if (found !== undefined) resolve(found);
          else reject(new Error(`Service ${this.label} ended before: ${what}`));
        }
      };
      timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`Timed out after ${ms} ms waiting for: ${what}`));
      }, ms);
      this.#waiters.add(check);
      check();
    });
  }

  /** Kills the service's process at once (SIGKILL: no cleanup runs) and waits for it to end. */
  async kill(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Gone already.
    }
    await this.#child.status;
    await this.#reading;
  }

  /** Ends the service: closes its stdin, and kills it if it has not exited within 10 s. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#stdin.close().catch(() => {});
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Gone already.
      }
    }, 10_000);
    await this.#child.status;
    clearTimeout(timer);
    await this.#reading;
  }
}
