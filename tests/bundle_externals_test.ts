// The bootstrap bundles' build (.ci/bundle.ts): the imports it leaves outside
// the bundles point at the listed sources from the bundle's place, and an
// unlisted one stops the build. `.ci/run` checks the bundles themselves.
import assert from "node:assert/strict";
import { externalPatterns, externalsByName, rewriteExternals } from "../.ci/_bundle_externals.ts";

const LISTED = ["internal/errors.ts", "actors/core/define_actor.ts"];

Deno.test("the bundles' external imports are rewritten relative to the bundle, whoever imported them", () => {
  const code = [
    'import { ProtocolError } from "./errors.ts";',
    'import { isActorDefinition } from "./define_actor.ts";',
    'const lazy = () => import("../../internal/errors.ts");',
  ].join("\n");
  assert.equal(
    rewriteExternals(code, "actors/hosts/_bundles/worker.js", LISTED),
    [
      'import { ProtocolError } from "../../../internal/errors.ts";',
      'import { isActorDefinition } from "../../core/define_actor.ts";',
      'const lazy = () => import("../../../internal/errors.ts");',
    ].join("\n"),
  );
  assert.equal(
    rewriteExternals('import { x } from "./errors.ts";', "internal/b.js", LISTED),
    'import { x } from "./errors.ts";',
  );
});

Deno.test("an external import that is not listed stops the bundle's build", () => {
  assert.throws(
    () =>
      rewriteExternals('import { x } from "./payload.ts";', "actors/hosts/_bundles/w.js", LISTED),
    {
      message:
        'Cannot bundle actors/hosts/_bundles/w.js: "./payload.ts" is external but not listed',
    },
  );
});

Deno.test("two externals with one file name are refused, and each name becomes a pattern", () => {
  assert.throws(() => externalsByName(["internal/errors.ts", "transports/errors.ts"]), {
    message: "Cannot bundle: two externals are named errors.ts",
  });
  assert.deepEqual(externalPatterns(LISTED), ["*/errors.ts", "*/define_actor.ts"]);
});
