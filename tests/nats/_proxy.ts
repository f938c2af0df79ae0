// A loopback TCP proxy between a NATS client and its server, for partition
// tests (row F28 of FAULTS.md): "pass" forwards bytes both ways; "blackhole"
// keeps every socket open but forwards nothing (a silent network: only the
// client's pings can find it); "blackhole replies" forwards what the client
// sends but nothing back (a request reaches the server, its answer is lost);
// `reset()` closes every connection at once, `cut(n)` only the nth accepted;
// `refuse()` closes each new connection as it comes.
// Healing a blackhole closes the connections that went through it, as their
// handshakes lost bytes they wait for.

interface Pair {
  /** Its place in the order of acceptance, from 0. */
  index: number;
  client: Deno.Conn;
  server: Deno.Conn;
  blackholed: boolean;
}

export class TcpProxy implements AsyncDisposable {
  readonly port: number;
  #listener: Deno.Listener;
  #target: number;
  #mode: "pass" | "blackhole" | "replies" = "pass";
  #refusing = false;
  /** Connections accepted so far (open or not). */
  accepted = 0;
  #pairs = new Set<Pair>();
  #pumps = new Set<Promise<void>>();
  #accepting: Promise<void>;

  constructor(targetPort: number) {
    this.#target = targetPort;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.#accepting = this.#accept();
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async #accept(): Promise<void> {
    for await (const client of this.#listener) {
      const index = this.accepted++;
      if (this.#refusing) {
        client.close();
        continue;
      }
      let server: Deno.Conn;
      try {
        server = await Deno.connect({ hostname: "127.0.0.1", port: this.#target });
      } catch {
        client.close();
        continue;
      }
      const pair: Pair = { index, client, server, blackholed: this.#mode !== "pass" };
      this.#pairs.add(pair);
      for (const [from, to] of [[client, server], [server, client]]) {
        const pump: Promise<void> = this.#pump(pair, from, to).then(() => {
          this.#pumps.delete(pump);
        });
        this.#pumps.add(pump);
      }
    }
  }

  async #pump(pair: Pair, from: Deno.Conn, to: Deno.Conn): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await from.read(buffer);
        if (n === null) break;
        if (this.#mode === "blackhole" || (this.#mode === "replies" && from === pair.server)) {
          pair.blackholed = true;
          continue;
        }
        let written = 0;
        while (written < n) written += await to.write(buffer.subarray(written, n));
      }
    } catch {
      // Closed under us: a reset, or the other side went.
    }
    this.#close(pair);
  }

  #close(pair: Pair): void {
    if (!this.#pairs.delete(pair)) return;
    for (const conn of [pair.client, pair.server]) {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
  }

  /**
   * Forwards nothing from now on (or, with `"replies"`, only what clients
   * send); every socket stays open.
   */
  blackhole(direction: "both" | "replies" = "both"): void {
    this.#mode = direction === "both" ? "blackhole" : "replies";
  }

  /** Forwards again; connections that lost bytes in the blackhole are closed. */
  pass(): void {
    this.#mode = "pass";
    for (const pair of [...this.#pairs]) if (pair.blackholed) this.#close(pair);
  }

  /** Closes the `n`th connection accepted (from 0), if it is open. */
  cut(n: number): void {
    for (const pair of [...this.#pairs]) if (pair.index === n) this.#close(pair);
  }

  /** Closes each new connection as it comes (`true`), or forwards them again. */
  refuse(on = true): void {
    this.#refusing = on;
  }

  /** Closes every connection now (new ones are still accepted). */
  reset(): void {
    for (const pair of [...this.#pairs]) this.#close(pair);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    await this.#accepting.catch(() => {});
    this.reset();
    await Promise.all([...this.#pumps]);
  }
}
