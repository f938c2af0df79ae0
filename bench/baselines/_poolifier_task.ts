/**
 * The trivial task of the poolifier-web-worker baseline, as a poolifier `ThreadWorker`: returns
 * its argument plus one, like `_piscina_task.mjs`. poolifier-web-worker is installed at bench
 * time into the git-ignored `bench/.poolifier/` (see `poolifier.ts`), so it is imported by a
 * computed specifier and is no dependency of the package.
 *
 * @module
 */

const MODULE = "../.poolifier/node_modules/poolifier-web-worker/esm/mod.js";
const { ThreadWorker } = await import(new URL(MODULE, import.meta.url).href);

/** Returns its argument plus one. */
function task(n: number): number {
  return n + 1;
}

export default new ThreadWorker(task);
