// The entry module of a thread that runs an actor (a Deno Worker or a
// node:worker_threads thread): plain JavaScript (nothing to transpile) that
// imports the host's bootstrap and the transport module statically, so both
// load in one go before the boot message is read, and hands over a function
// that imports the actor module, which the bootstrap calls once the channel
// is open. That import's specifier is a literal, so Deno fetches the actor's
// module graph with the bootstrap's (V8 compiles and runs it only once it is
// called, and a module that fails to load fails that call, not the entry):
// about 0.3 ms less than an import of a computed URL then. Static imports and
// literal dynamic ones need no read permission. What only some actors need is imported
// only for them, so that the others load less before their first reply: the
// shared-memory semaphore for an actor given semaphores, what forwards the
// console for a spawn with `onLog`, what opens pipe ends for an actor given
// some.

const SEMAPHORE = new URL("../sync/semaphore.ts", import.meta.url).href;
const CONSOLE_LINES = new URL("./_console_lines.ts", import.meta.url).href;
const CONNECTIONS = new URL("./_connections.ts", import.meta.url).href;

/** What goes into a thread's entry module. */
export interface EntryParts {
  /** The bootstrap module's URL and the function of it that runs the actor. */
  bootstrap: string;
  run: string;
  actorModule: string;
  transportModule: string;
  /**
   * The transport's `connect` is this export of `transportModule` (a bundle,
   * see `BUNDLES`) rather than the module's own `connect`.
   */
  transportExport?: string;
  semaphores: boolean;
  /**
   * A worker with restricted permissions may not read its own module for a
   * dynamic import: the entry imports it statically.
   */
  restricted?: boolean;
  /** The console's and stdout's lines go to the parent (the spawn has `onLog`). */
  forwardConsole: boolean;
  /** The args hold pipe ends, which arrive as ports. */
  portEnds: boolean;
  /** `Pipe()` ends in the args arrive as connections, opened by this module. */
  connectionsModule: string | undefined;
  /** Tracing is on: the hooks around each handler (see actors/core/hooks.ts). */
  telemetry: string | undefined;
}

/**
 * The bootstrap bundles, by host (`_bundles/*.js`, built by `deno task
 * bundle` from .ci/bundle/): each holds its host's bootstrap and the
 * `connect` of every built-in transport that reaches the host, exported
 * under the transport's name (the system's `BUNDLED_TRANSPORTS`). Any other
 * transport loads from its own module, with the bootstrap's sources.
 */
export const BUNDLES = {
  worker: new URL("./_bundles/worker.js", import.meta.url).href,
  process: new URL("./_bundles/process.js", import.meta.url).href,
};

/**
 * The entry's line that makes `transport` (what the bootstrap calls
 * `connect` on): the module itself, or its export `exported` (a bundle's).
 */
export function transportImport(module: string, exported: string | undefined): string {
  return exported === undefined
    ? `import * as transport from ${JSON.stringify(module)};`
    : `import { ${exported} as connect } from ${JSON.stringify(module)}; ` +
      "const transport = { connect };";
}

/** The entry module, as a `data:` URL. */
export function entryModule(parts: EntryParts): string {
  const lines = [
    `import { ${parts.run} } from ${JSON.stringify(parts.bootstrap)};`,
    transportImport(parts.transportModule, parts.transportExport),
  ];
  const extras: string[] = [];
  if (parts.semaphores) {
    lines.push(`import * as semaphores from ${JSON.stringify(SEMAPHORE)};`);
    extras.push("semaphores");
  }
  if (parts.restricted) {
    lines.push(`import * as actor from ${JSON.stringify(parts.actorModule)};`);
    extras.push("loaded: actor");
  }
  if (parts.forwardConsole) {
    lines.push(`import { forwardOutput } from ${JSON.stringify(CONSOLE_LINES)};`);
    extras.push("forwardOutput");
  }
  if (parts.portEnds) {
    lines.push(`import { openPortEnds } from ${JSON.stringify(CONNECTIONS)};`);
    extras.push("openPortEnds");
  }
  if (parts.connectionsModule !== undefined) {
    lines.push(`import { connectionFromStreams } from ${JSON.stringify(parts.connectionsModule)};`);
    extras.push("openConnection: connectionFromStreams");
  }
  if (parts.telemetry) {
    lines.push(`import * as telemetry from ${JSON.stringify(parts.telemetry)};`);
    extras.push("telemetry");
  }
  lines.push(
    `${parts.run}(transport, () => import(${JSON.stringify(parts.actorModule)}), { ${
      extras.join(", ")
    } });`,
  );
  return `data:text/javascript;base64,${btoa(lines.join("\n"))}`;
}
