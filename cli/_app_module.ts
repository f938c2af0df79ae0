// The app module `troupe run` loads: checked for its exports (`app`, and
// optionally `main` and `options`), and its tree's stop deadlines capped at
// the service's.

import type { ChildSpec, SupervisorSpec } from "../mod.ts";
import type { AppModule, AppTree } from "./app.ts";
import { DEFAULT_SHUTDOWN_TIMEOUT_MS } from "./_run_options.ts";

/** Loads and checks an app module. */
export async function loadApp(url: URL, display: string): Promise<AppModule> {
  if (url.protocol === "file:") {
    try {
      await Deno.stat(url);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new Error(`cannot find the app module ${display}`);
      }
      throw error;
    }
  }
  let module: Record<string, unknown>;
  try {
    module = await import(url.href);
  } catch (error) {
    throw new Error(`cannot load the app module ${display}`, { cause: error });
  }
  const app = module.app as AppTree | undefined;
  if (app === undefined) {
    const exports = Object.keys(module);
    throw new Error(
      `the app module ${display} exports no \`app\` (it exports ${
        exports.length > 0 ? exports.join(", ") : "nothing"
      }); export its supervision tree: export const app: SupervisorSpec = { id: "root", children: [...] }`,
    );
  }
  const isSpec = typeof app === "object" && app !== null &&
    Array.isArray((app as SupervisorSpec).children);
  if (!isSpec && typeof app !== "function") {
    throw new Error(
      `the app module ${display} exports an \`app\` that is neither a supervisor spec ({ id, children }) nor a function returning one`,
    );
  }
  if (module.main !== undefined && typeof module.main !== "function") {
    throw new Error(`the app module ${display} exports a \`main\` that is not a function`);
  }
  if (
    module.options !== undefined && (typeof module.options !== "object" || module.options === null)
  ) {
    throw new Error(`the app module ${display} exports \`options\` that are not an object`);
  }
  return module as unknown as AppModule;
}

/** The tree with every actor's stop deadline capped at the service's. */
export function capShutdown(spec: SupervisorSpec, timeout: number): SupervisorSpec {
  if (!Array.isArray(spec?.children)) return spec; // supervise() says what is wrong with it
  return {
    ...spec,
    children: spec.children.map((child) =>
      Array.isArray((child as SupervisorSpec).children)
        ? capShutdown(child as SupervisorSpec, timeout)
        : {
          ...(child as ChildSpec),
          shutdown: Math.min((child as ChildSpec).shutdown ?? DEFAULT_SHUTDOWN_TIMEOUT_MS, timeout),
        }
    ),
  };
}
