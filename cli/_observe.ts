// The observer server of `troupe run --observe` (and `--metrics`): one page
// that draws the supervision tree live, its updates as Server-Sent Events,
// a JSON snapshot, and the Prometheus text format at /metrics.
//
// Security: it listens on 127.0.0.1 unless told otherwise, and every request
// must carry the access token printed at start (`?token=` or
// `Authorization: Bearer`), compared in constant time: 401 without one, 403
// with a wrong one, on every path. The page loads nothing from elsewhere, and
// its Content-Security-Policy forbids it to.

import type { ActorSystem, SupervisorSpec } from "../mod.ts";
import { UsageError } from "./_args.ts";
import { ObserverModel, type ServiceView } from "./_observe_model.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./_observe_metrics.ts";
import { clusterNodesOf } from "../actors/core/cluster_events.ts";
import { settleWithin } from "../internal/abort.ts";
import type { NatsNodeStats } from "../actors/cluster/mod.ts";
import { observerPage } from "./_observe_page.ts";

/** How often the actors are sampled (and the page updated without events). */
export const SAMPLE_MS = 500;
/** The shortest time between two pushes to the page: at most 4 updates a second. */
export const MIN_PUSH_MS = 250;
/** The environment variable that fixes the token (for a Prometheus scrape config). */
export const TOKEN_ENV = "TROUPE_OBSERVER_TOKEN";
const MAX_STREAMS = 32;
/** A stream this many bytes behind is dropped (the page reconnects). */
const MAX_BEHIND = 4 * 1024 * 1024;
const CLOSE_MS = 1000;

/** Where the observer listens. */
export interface ObserveAddress {
  hostname: string;
  port: number;
}

/**
 * Reads `--observe`'s value: empty (127.0.0.1, a free port), `PORT`,
 * `:PORT`, `HOST:PORT` or `[IPv6]:PORT`.
 *
 * @throws {UsageError} When it is none of those.
 */
export function parseAddress(text: string): ObserveAddress {
  const fail = () =>
    new UsageError(
      "run",
      `option '--observe' takes HOST:PORT, :PORT or PORT (or nothing), received '${text}'`,
    );
  if (text === "") return { hostname: "127.0.0.1", port: 0 };
  const match = /^(?:(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):)?(\d{1,5})$/.exec(text);
  if (!match) throw fail();
  const port = Number(match[2]);
  if (port > 65535) throw fail();
  let hostname = match[1] ?? "";
  if (hostname.startsWith("[")) hostname = hostname.slice(1, -1);
  return { hostname: hostname || "127.0.0.1", port };
}

/** Whether `--observe`'s next argument is its value rather than the app module. */
export function looksLikeAddress(text: string): boolean {
  return /^(?:(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):)?\d{1,5}$/.test(text);
}

/** Whether a hostname is a loopback address. */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\./.test(hostname);
}

export interface ObserverOptions extends ObserveAddress {
  system: ActorSystem;
  /** Whether /metrics is served. */
  metrics: boolean;
  /** The service's figures, read at every update. */
  service(): ServiceView;
  /** The token; by default 32 random bytes (or $TROUPE_OBSERVER_TOKEN). */
  token?: string;
}

const encoder = new TextEncoder();

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/**
 * Compares two tokens in constant time: both are hashed to 32 bytes first, so
 * neither the length nor the first differing byte shows in the time taken.
 */
export async function sameToken(given: string, expected: Uint8Array): Promise<boolean> {
  const hash = await digest(given);
  let difference = 0;
  for (let i = 0; i < expected.length; i++) difference |= hash[i]! ^ expected[i]!;
  return difference === 0;
}

function securityHeaders(extra: Record<string, string> = {}): Headers {
  return new Headers({
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    ...extra,
  });
}

function refuse(status: number, text: string, extra: Record<string, string> = {}): Response {
  return new Response(`${status} ${text}\n`, {
    status,
    headers: securityHeaders({ "content-type": "text/plain; charset=utf-8", ...extra }),
  });
}

interface Stream {
  controller: ReadableStreamDefaultController<Uint8Array>;
  closed: boolean;
}

/** A running observer server. */
export class Observer {
  /** The page's address, token included. */
  readonly url: string;
  /** The address of /metrics, token included (also when --metrics is off). */
  readonly metricsUrl: string;
  readonly hostname: string;
  readonly port: number;
  readonly model = new ObserverModel();
  #options: ObserverOptions;
  #expected: Uint8Array;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #abort = new AbortController();
  #streams = new Set<Stream>();
  #pump: Promise<void>;
  #sampler: ReturnType<typeof setInterval>;
  #pushTimer: ReturnType<typeof setTimeout> | undefined;
  #lastPush = -Infinity;
  #closed = false;

  private constructor(
    options: ObserverOptions,
    token: string,
    expected: Uint8Array,
    server: Deno.HttpServer<Deno.NetAddr>,
  ) {
    this.#options = options;
    this.#expected = expected;
    this.#server = server;
    this.hostname = server.addr.hostname;
    this.port = server.addr.port;
    const host = this.hostname.includes(":") ? `[${this.hostname}]` : this.hostname;
    const query = `?token=${encodeURIComponent(token)}`;
    this.url = `http://${host}:${this.port}/${query}`;
    this.metricsUrl = `http://${host}:${this.port}/metrics${query}`;
    // Subscribed before the tree starts, so every `started` event is seen.
    this.#pump = this.#read(options.system.events({ signal: this.#abort.signal }));
    this.#sampler = setInterval(() => this.#sample(), SAMPLE_MS);
  }

  /**
   * Listens and starts following the system's events.
   *
   * @throws {Error} When the address cannot be bound, or $TROUPE_OBSERVER_TOKEN is too short.
   */
  static async start(options: ObserverOptions): Promise<Observer> {
    const fromEnv = Deno.env.get(TOKEN_ENV);
    const token = options.token ?? (fromEnv || randomToken());
    if (token.length < 16) {
      throw new Error(`${TOKEN_ENV} must be at least 16 characters long`);
    }
    const expected = await digest(token);
    const ready = Promise.withResolvers<Observer>();
    const listening = Promise.withResolvers<void>();
    const server = Deno.serve({
      hostname: options.hostname,
      port: options.port,
      onListen: () => listening.resolve(),
      onError: () => refuse(500, "Internal Server Error"),
    }, (request) => ready.promise.then((observer) => observer.#handle(request)));
    await listening.promise;
    const observer = new Observer(options, token, expected, server);
    ready.resolve(observer);
    return observer;
  }

  /** Adds the app's tree (before it starts), so the page shows it in spec order. */
  addSpec(spec: SupervisorSpec): void {
    this.model.addSpec(spec);
  }

  /**
   * Sends the final picture, ends every stream and stops listening. Call it
   * once the system has shut down.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sampler);
    clearTimeout(this.#pushTimer);
    this.#abort.abort();
    await this.#pump;
    this.#sample(false);
    this.#push();
    for (const stream of this.#streams) this.#end(stream);
    // Bounded, and with no timer left behind once the server is down.
    await settleWithin(this.#server.shutdown(), CLOSE_MS);
  }

  async #read(events: AsyncIterableIterator<unknown>): Promise<void> {
    try {
      for await (const event of events) {
        this.model.onEvent(event as Parameters<ObserverModel["onEvent"]>[0]);
        this.#schedulePush();
      }
    } catch {
      // The system ended the iteration.
    }
  }

  #sample(push = true): void {
    this.model.shape(this.#options.system.tree());
    this.model.sample(this.#options.system.actors());
    if (push) this.#schedulePush();
  }

  #snapshot() {
    if (!this.#closed) this.#refresh();
    return this.model.snapshot(
      this.#options.service(),
      this.#options.system.stats(),
      this.#natsStats(),
    );
  }

  /** The figures of the NATS nodes connected with the system now. */
  #natsStats(): NatsNodeStats[] {
    return clusterNodesOf(this.#options.system).map((node) => node.stats() as NatsNodeStats);
  }

  /** Takes the tree's shape and the actors' figures now (rates wait for the next sample). */
  #refresh(): void {
    this.model.shape(this.#options.system.tree());
    this.model.refresh(this.#options.system.actors());
  }

  /** Pushes soon, never sooner than MIN_PUSH_MS after the last push. */
  #schedulePush(): void {
    if (this.#pushTimer !== undefined || this.#closed) return;
    const wait = Math.max(0, this.#lastPush + MIN_PUSH_MS - performance.now());
    this.#pushTimer = setTimeout(() => {
      this.#pushTimer = undefined;
      this.#push();
    }, wait);
  }

  #push(): void {
    this.#lastPush = performance.now();
    if (this.#streams.size === 0) return;
    const bytes = encoder.encode(`event: snapshot\ndata: ${JSON.stringify(this.#snapshot())}\n\n`);
    for (const stream of this.#streams) this.#send(stream, bytes);
  }

  #send(stream: Stream, bytes: Uint8Array): void {
    if (stream.closed) return;
    if ((stream.controller.desiredSize ?? 0) < -MAX_BEHIND) {
      this.#end(stream); // too slow a reader: it reconnects and gets a fresh snapshot
      return;
    }
    try {
      stream.controller.enqueue(bytes);
    } catch {
      this.#end(stream);
    }
  }

  #end(stream: Stream): void {
    this.#streams.delete(stream);
    if (stream.closed) return;
    stream.closed = true;
    try {
      stream.controller.close();
    } catch {
      // Cancelled already.
    }
  }

  async #authorised(request: Request, url: URL): Promise<Response | undefined> {
    const header = request.headers.get("authorization");
    const bearer = header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
    const given = url.searchParams.get("token") ?? bearer;
    if (given === null || given === undefined || given === "") {
      return refuse(401, "Unauthorized: this observer needs the token printed at start", {
        "www-authenticate": 'Bearer realm="troupe observer"',
      });
    }
    if (!await sameToken(given, this.#expected)) return refuse(403, "Forbidden: wrong token");
    return undefined;
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const refused = await this.#authorised(request, url);
    if (refused) return refused;
    if (request.method !== "GET" && request.method !== "HEAD") {
      return refuse(405, "Method Not Allowed", { allow: "GET, HEAD" });
    }
    switch (url.pathname) {
      case "/": {
        const nonce = randomToken();
        return new Response(observerPage(nonce, this.#options.metrics), {
          headers: securityHeaders({
            "content-type": "text/html; charset=utf-8",
            "content-security-policy": `default-src 'none'; script-src 'nonce-${nonce}'; ` +
              `style-src 'nonce-${nonce}'; img-src data:; connect-src 'self'; ` +
              `base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
          }),
        });
      }
      case "/events":
        return this.#events();
      case "/snapshot":
        return new Response(JSON.stringify(this.#snapshot()), {
          headers: securityHeaders({ "content-type": "application/json" }),
        });
      case "/metrics":
        if (!this.#options.metrics) {
          return refuse(404, "Not Found: start the service with --metrics to serve /metrics");
        }
        if (!this.#closed) this.#refresh();
        return new Response(
          renderMetrics(
            this.model.actorViews(),
            this.model.supervisorViews(),
            this.#options.system.stats(),
            this.model.crashCounts,
            this.#natsStats(),
          ),
          { headers: securityHeaders({ "content-type": METRICS_CONTENT_TYPE }) },
        );
      default:
        return refuse(404, "Not Found");
    }
  }

  #events(): Response {
    if (this.#closed) return refuse(503, "Service Unavailable: the service is stopping");
    if (this.#streams.size >= MAX_STREAMS) {
      return refuse(503, "Service Unavailable: too many observer pages open");
    }
    let stream: Stream;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        stream = { controller, closed: false };
        this.#streams.add(stream);
        const first = `retry: 2000\nevent: snapshot\ndata: ${JSON.stringify(this.#snapshot())}\n\n`;
        controller.enqueue(encoder.encode(first));
      },
      cancel: () => {
        stream.closed = true;
        this.#streams.delete(stream);
      },
    }, { highWaterMark: 0, size: (chunk) => chunk.byteLength }); // desiredSize: -bytes queued
    return new Response(body, {
      headers: securityHeaders({
        "content-type": "text/event-stream; charset=utf-8",
        "x-accel-buffering": "no",
      }),
    });
  }
}
