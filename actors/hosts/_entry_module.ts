// The entry module of a thread that runs an actor (a Deno Worker or a
// node:worker_threads thread): plain JavaScript (nothing to transpile) that
// imports the host's bootstrap and the transport module statically, so both
// load in one go before the boot message is read, and names the actor
// module, which the bootstrap imports once the channel is open. Static
// imports need no read permission; the shared-memory semaphore is imported
// only for an actor given semaphores.

const SEMAPHORE = new URL("../sync/semaphore.ts", import.meta.url).href;

/** What goes into a thread's entry module. */
export interface EntryParts {
  /** The bootstrap module's URL and the function of it that runs the actor. */
  bootstrap: string;
  run: string;
  actorModule: string;
  transportModule: string;
  semaphores: boolean;
  /**
   * A worker with restricted permissions may not read its own module for a
   * dynamic import: the entry imports it statically.
   */
  restricted?: boolean;
  /** `Pipe()` ends in the args arrive as connections, opened by this module. */
  connectionsModule: string | undefined;
  /** Tracing is on: the hooks around each handler (see actors/core/hooks.ts). */
  telemetry: string | undefined;
}

/** The entry module, as a `data:` URL. */
export function entryModule(parts: EntryParts): string {
  const lines = [
    `import { ${parts.run} } from ${JSON.stringify(parts.bootstrap)};`,
    `import * as transport from ${JSON.stringify(parts.transportModule)};`,
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
  if (parts.connectionsModule !== undefined) {
    lines.push(`import { connectionFromStreams } from ${JSON.stringify(parts.connectionsModule)};`);
    extras.push("openConnection: connectionFromStreams");
  }
  if (parts.telemetry) {
    lines.push(`import * as telemetry from ${JSON.stringify(parts.telemetry)};`);
    extras.push("telemetry");
  }
  lines.push(
    `${parts.run}(transport, ${JSON.stringify(parts.actorModule)}, { ${extras.join(", ")} });`,
  );
  return `data:text/javascript;base64,${btoa(lines.join("\n"))}`;
}
