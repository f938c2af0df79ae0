/**
 * The `troupe` command: run a supervised service, watch it, stop it cleanly.
 *
 * ```sh
 * deno run -A jsr:@troupe/troupe/cli run app.ts   # or, in this repo: deno task troupe run app.ts
 * troupe status --watch                           # from another terminal
 * troupe stop
 * ```
 *
 * - `troupe run <app.ts>` starts the supervision tree the module exports as
 *   `app` (a {@linkcode AppTree}), prints one line per lifecycle event
 *   (`--json`: one JSON object per line), and serves a control socket. If the
 *   module also exports `main` (an {@linkcode AppMain}), the service stops by
 *   itself when main resolves and prints a summary. SIGINT and SIGTERM stop
 *   it through every actor's sentinel within `--shutdown-timeout`; a second
 *   signal forces it.
 * - `troupe run --observe [HOST:PORT]` also serves a live page of the
 *   supervision tree (each actor's state, host, transport, pid, mailbox,
 *   messages per second, restarts; crashes with their stacks; supervisors
 *   that gave up), pushed as Server-Sent Events, on 127.0.0.1 by default and
 *   behind a random token printed with its URL. `--metrics` serves the same
 *   figures at `/metrics` in the Prometheus text format.
 * - `troupe status` (alias `ps`) prints a running service's actors: id,
 *   host, transport, pid or worker, state, restarts, mailbox depth, messages
 *   handled and messages per second; `--watch` redraws every second.
 * - `troupe stop [--timeout MS]` stops a service gracefully through its
 *   control socket and reports how it went.
 * - `troupe bench` runs the benchmark suite of a Troupe checkout.
 *
 * Every subcommand takes `--help`; an unknown option is a usage error.
 * Exit codes: 0 clean, 1 failed, 2 usage error, 130 after Ctrl-C.
 *
 * The control socket is a Unix socket: `--control PATH`, or by default
 * `<state dir>/<name>.sock`, where `<name>` is `--name` or the app file's
 * name without extension, and the state dir is `$XDG_RUNTIME_DIR/troupe`, or
 * `${TMPDIR:-/tmp}/troupe-<uid>` without it. The directory is mode 0700 (a
 * directory other users can enter is refused) and the socket mode 0600.
 * `status` and `stop` find the only running service by themselves; with
 * several, name one with `--name`. The protocol is JSON lines
 * (`{"id":1,"op":"status"}`, `{"id":2,"op":"stop","timeout":5000}`).
 *
 * @example An app module (`app.ts`) with a tree and a main
 * ```ts
 * import type { SupervisorSpec } from "@troupe/troupe";
 * import type { AppMain } from "@troupe/troupe/cli";
 * import type { counter } from "../examples/actors/counter.ts";
 * import assert from "node:assert/strict";
 *
 * export const app: SupervisorSpec = {
 *   id: "root",
 *   children: [{ id: "counter", module: new URL("../examples/actors/counter.ts", import.meta.url) }],
 * };
 *
 * export const main: AppMain = async (_system, root, { progress }) => {
 *   const ref = root.ref<typeof counter>("counter");
 *   for (let i = 1; i <= 100; i++) {
 *     await ref.tell("inc", 1);
 *     progress({ done: i, total: 100 });
 *   }
 *   return { items: await ref.ask("get"), unit: "increments" };
 * };
 * assert.equal(app.children.length, 1);
 * ```
 *
 * @module
 */

import { main } from "./main.ts";

export type { AppContext, AppMain, AppModule, AppResult, AppTree, ProgressUpdate } from "./app.ts";
export { main };

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
