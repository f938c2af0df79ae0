/**
 * The modules kept out of the bootstrap bundles, and the rewrite of the
 * bundles' imports of them (see `bundle.ts`).
 *
 * @module
 */

import { posix } from "node:path";

/** Modules kept out of the bundles (see `bundle.ts`), relative to the root. */
export const EXTERNAL: readonly string[] = [
  "actors/core/define_actor.ts",
  "internal/errors.ts",
  "internal/error_wire.ts",
  "internal/channel_errors.ts",
  "internal/cluster_errors.ts",
  "internal/exit_errors.ts",
  "internal/payload_errors.ts",
  "internal/queue_errors.ts",
];

/** `externals` by file name; names must be unique for the rewrite to be exact. */
export function externalsByName(externals: readonly string[] = EXTERNAL): Map<string, string> {
  const byName = new Map<string, string>();
  for (const path of externals) {
    const name = posix.basename(path);
    if (byName.has(name)) throw new Error(`Cannot bundle: two externals are named ${name}`);
    byName.set(name, path);
  }
  return byName;
}

/** The `--external` patterns of `deno bundle`: any import path that ends in one's file name. */
export function externalPatterns(externals: readonly string[] = EXTERNAL): string[] {
  return [...externalsByName(externals).keys()].map((name) => `*/${name}`);
}

/**
 * Each import the bundler left outside still reads as its importer wrote it
 * (`./errors.ts`, `../../internal/errors.ts`): this makes it relative to the
 * bundle at `output` (relative to the root). A relative import of anything
 * not in `externals` is an error: it would not resolve from the bundle.
 */
export function rewriteExternals(
  code: string,
  output: string,
  externals: readonly string[] = EXTERNAL,
): string {
  const byName = externalsByName(externals);
  return code.replace(
    /(from |import\()"(\.{1,2}\/[^"]+)"/g,
    (_match, lead: string, specifier: string) => {
      const path = byName.get(posix.basename(specifier));
      if (path === undefined) {
        throw new Error(`Cannot bundle ${output}: "${specifier}" is external but not listed`);
      }
      const relative = posix.relative(posix.dirname(output), path);
      return `${lead}"${relative.startsWith(".") ? relative : `./${relative}`}"`;
    },
  );
}
