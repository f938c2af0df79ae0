// NATS as a user's own project meets it: an app outside the checkout, shaped
// like a JSR user's project (the package mapped by name in its deno.json),
// whose actor module imports `@troupe/troupe/actor` by name. One process
// exposes a worker actor twice (served in the node's thread, and with
// `inActor` in the actor's own, which loads the NATS client there); a
// second process looks both up by name and asks them, typed; a handler's
// error and an unknown name come back typed too.
import assert from "node:assert/strict";
import * as path from "node:path";
import { startNatsServer } from "./_server.ts";

const PACKAGE = new URL("../../", import.meta.url);
/** The package by name, as a JSR user's project maps it (its npm dependencies are its own). */
const IMPORTS = {
  "@troupe/troupe": new URL("mod.ts", PACKAGE).href,
  "@troupe/troupe/actor": new URL("actor.ts", PACKAGE).href,
  "@troupe/troupe/nats": new URL("actors/cluster/mod.ts", PACKAGE).href,
};

const FILES: Record<string, string> = {
  "deno.json": JSON.stringify({ imports: IMPORTS }),
  "greeter.ts": `import { defineActor } from "@troupe/troupe/actor";
export const greeter = defineActor({
  init: () => ({ greeted: 0 }),
  handlers: {
    greet(state, name: string) {
      state.greeted++;
      return \`hello \${name} (\${state.greeted})\`;
    },
    fail(_state, why: string) {
      throw new RangeError(why);
    },
  },
});
`,
  "service.ts": `import { ActorSystem } from "@troupe/troupe";
import { NatsNode } from "@troupe/troupe/nats";
await using system = await ActorSystem.start();
await using node = await NatsNode.connect({ servers: Deno.env.get("NATS_URL")!, namespace: "app" });
const events = node.events();
const url = new URL("./greeter.ts", import.meta.url);
await node.expose("greeter", await system.spawn(url));
await node.expose("fast-greeter", await system.spawn(url), { inActor: true });
for await (const event of events) {
  if (event.type !== "nats-served-in-actor") continue;
  if (!event.serving) throw new Error("not served in the actor: " + event.reason);
  break;
}
console.log("ready");
// Serves until its stdin closes.
for await (const _ of Deno.stdin.readable) { /* nothing comes */ }
`,
  "caller.ts": `import { NatsNode } from "@troupe/troupe/nats";
import { ActorError, UnknownMessageError } from "@troupe/troupe";
import type { greeter } from "./greeter.ts";
await using node = await NatsNode.connect({ servers: Deno.env.get("NATS_URL")!, namespace: "app" });
const out: Record<string, unknown> = {};
for (const name of ["greeter", "fast-greeter"]) {
  const ref = node.lookup<typeof greeter>(name);
  const replies = [await ref.ask("greet", "ada", { timeout: 10_000 }), await ref.ask("greet", "bob")];
  const error = await ref.ask("fail", "too far").catch((e) => e);
  const unknown = await (ref as unknown as { ask(n: string): Promise<unknown> }).ask("nope").catch((e) => e);
  out[name] = {
    replies,
    error: error instanceof ActorError ? [error.remote.name, error.remote.message] : String(error),
    unknown: unknown instanceof UnknownMessageError ? unknown.messageName : String(unknown),
  };
}
console.log(JSON.stringify(out));
`,
};

Deno.test("a user's project exposes and looks up actors by name over NATS, in two processes", async () => {
  await using server = await startNatsServer();
  const dir = await Deno.makeTempDir({ prefix: "troupe-nats-app-" });
  const env = { NATS_URL: server.url, NO_COLOR: "1" };
  try {
    for (const [name, text] of Object.entries(FILES)) {
      await Deno.writeTextFile(path.join(dir, name), text);
    }
    const service = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "service.ts"],
      cwd: dir,
      env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(service.stderr).text();
    try {
      const lines = service.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      while (!seen.includes("ready\n")) {
        const { value, done } = await lines.read();
        if (done) throw new Error(`the service ended: ${seen}${await stderr}`);
        seen += value;
      }
      void lines.cancel();
      const caller = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "caller.ts"],
        cwd: dir,
        env,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(60_000),
      }).output();
      const said = new TextDecoder().decode(caller.stdout).trim();
      assert.equal(caller.code, 0, new TextDecoder().decode(caller.stderr));
      const expected = {
        replies: ["hello ada (1)", "hello bob (2)"],
        error: ["RangeError", "too far"],
        unknown: "nope",
      };
      assert.deepEqual(JSON.parse(said.split("\n").at(-1)!), {
        greeter: expected,
        "fast-greeter": expected,
      });
    } finally {
      await service.stdin.close();
      const status = await service.status;
      const text = await stderr;
      assert.equal(status.code, 0, text);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
