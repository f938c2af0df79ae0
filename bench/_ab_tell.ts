/**
 * A same-process A/B of small-tell throughput between two checkouts of Troupe, for changes too
 * small for the bench's run-to-run spread (a 3% bound, say, where one `--quick` run of
 * `tell.queue.worker.small` spreads by 2x).
 *
 * Both checkouts are loaded into one process, each with a sink worker actor, and small tells go
 * to one and then the other in alternating 200 ms windows (which goes first alternates too), so
 * a slow phase of the machine slows both. Each pair of windows gives one ratio, A's rate over
 * B's; the result is the geometric mean of all the ratios with a 95% bootstrap interval. Every
 * `--procs` run is a fresh process, and which checkout loads first alternates.
 *
 * ```sh
 * deno run -A bench/_ab_tell.ts --a /path/to/new --b /path/to/old --transport queue
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { smallTellPump } from "./_small_tells.ts";

const { values } = parseArgs({
  options: {
    a: { type: "string" },
    b: { type: "string" },
    transport: { type: "string", default: "queue" },
    procs: { type: "string", default: "10" },
    rounds: { type: "string", default: "40" },
    child: { type: "boolean", default: false },
    first: { type: "string", default: "a" },
  },
});
if (values.a === undefined || values.b === undefined) {
  console.error(
    "usage: _ab_tell.ts --a DIR --b DIR [--transport queue] [--procs 10] [--rounds 40]",
  );
  Deno.exit(2);
}
const roots = { a: values.a, b: values.b };
const transport = values.transport;
const rounds = Number(values.rounds);

/** A system with one sink worker actor, from the checkout at `root`, and its tell pump. */
async function side(root: string) {
  const { ActorSystem } = await import(new URL("mod.ts", `file://${root}/`).href);
  const system = await ActorSystem.start({});
  const ref = await system.spawn(new URL("bench/actors/sink.ts", `file://${root}/`), {
    host: "worker",
    transport,
  });
  return { system, pump: smallTellPump(ref) };
}

if (values.child) {
  const order = values.first === "b" ? ["b", "a"] as const : ["a", "b"] as const;
  const loaded = {
    [order[0]]: await side(roots[order[0]]),
    [order[1]]: await side(roots[order[1]]),
  };
  const { a, b } = loaded as Record<"a" | "b", Awaited<ReturnType<typeof side>>>;
  await a.pump(300);
  await b.pump(300);
  for (let r = 0; r < rounds; r++) {
    let ra: number, rb: number;
    if (r % 2 === 0) {
      ra = await a.pump(200);
      rb = await b.pump(200);
    } else {
      rb = await b.pump(200);
      ra = await a.pump(200);
    }
    console.log(`${ra} ${rb}`);
  }
  await a.system.shutdown();
  await b.system.shutdown();
} else {
  const logs: number[] = [];
  for (let p = 0; p < Number(values.procs); p++) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        import.meta.filename!,
        ...["--child", "--a", roots.a, "--b", roots.b, "--transport", transport],
        ...["--rounds", String(rounds), "--first", p % 2 === 0 ? "a" : "b"],
      ],
      stderr: "inherit",
    }).output();
    if (!output.success) throw new Error(`Cannot run the A/B: process ${p} failed`);
    for (const line of new TextDecoder().decode(output.stdout).trim().split("\n")) {
      const [ra, rb] = line.split(" ").map(Number);
      logs.push(Math.log(ra! / rb!));
    }
  }
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const boots: number[] = [];
  for (let i = 0; i < 4000; i++) {
    boots.push(mean(logs.map(() => logs[Math.floor(Math.random() * logs.length)]!)));
  }
  boots.sort((x, y) => x - y);
  const at = (q: number) => Math.exp(boots[Math.floor(q * boots.length)]!).toFixed(4);
  console.log(
    `${transport}: A/B ${Math.exp(mean(logs)).toFixed(4)} (95% CI ${at(0.025)} to ${at(0.975)}), ` +
      `${logs.length} window pairs`,
  );
}
