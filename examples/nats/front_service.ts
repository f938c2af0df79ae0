/**
 * The front service of the NATS demo, started by `troupe run`: it sends
 * `JOBS` jobs by name to the durable `parser` mailbox (whichever processes
 * serve it), collects the parser services' reports in its `results`
 * mailbox, and finishes once every job is reported done, with a summary of
 * how many each process handled.
 *
 * Environment: NATS_URL (the broker), DEMO_JOBS (default 600).
 *
 * @module
 */
import type { ActorRef, ActorSystem, Supervisor } from "../../mod.ts";
import { PublishOutcomeUnknownError } from "../../mod.ts";
import type { AppContext, AppResult, AppTree } from "../../cli/mod.ts";
import { type DurableRef, NatsNode } from "../../actors/cluster/mod.ts";
import type { collector } from "./collector.ts";

/** The collector, supervised. */
export const app: AppTree = {
  id: "front",
  children: [{ id: "collector", module: new URL("./collector.ts", import.meta.url) }],
};

/** Sends the jobs, waits for all of them, and sums up. */
export async function main(
  _system: ActorSystem,
  root: Supervisor,
  { signal, progress }: AppContext,
): Promise<AppResult> {
  const jobs = Number(Deno.env.get("DEMO_JOBS") ?? 600);
  const node = await NatsNode.connect({
    servers: Deno.env.get("NATS_URL") ?? "nats://127.0.0.1:4222",
    namespace: "demo",
    name: "front",
  });
  try {
    const results = root.ref<typeof collector>("collector");
    await node.expose("results", results, { durable: { maxInflight: 16 } });
    const parser = node.lookupDurable<typeof import("./parser.ts")>("parser");
    // Progress while the jobs go out and come back (the demo kills a parser
    // service when it passes 50%).
    const ticker = setInterval(() => {
      results.ask("summary").then((now) => {
        progress({ done: now.jobs, total: jobs, unit: "jobs" });
      }, () => {});
    }, 50);
    try {
      return await run(jobs, parser, results, signal);
    } finally {
      clearInterval(ticker);
    }
  } finally {
    await node.close({ timeout: 1000 });
  }
}

async function run(
  jobs: number,
  parser: DurableRef<typeof import("./parser.ts").parser>,
  results: ActorRef<typeof collector>,
  signal: AbortSignal,
): Promise<AppResult> {
  {
    let expected = 0;
    for (let id = 1; id <= jobs; id++) {
      const terms = [id, id % 7, 3];
      expected += id + (id % 7) + 3;
      // At least once, stored once: a publish whose outcome is unknown is
      // sent again with its id.
      for (let attempt = 1;; attempt++) {
        try {
          await parser.tell("parse", { id, text: terms.join(" + ") }, { id: `job-${id}` });
          break;
        } catch (error) {
          if (!(error instanceof PublishOutcomeUnknownError) || attempt === 5) throw error;
        }
      }
    }
    const started = Date.now();
    let summary = await results.ask("summary");
    while (summary.jobs < jobs) {
      signal.throwIfAborted();
      if (Date.now() - started > 60_000) {
        throw new Error(`only ${summary.jobs} of ${jobs} jobs were reported done in 60 s`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      summary = await results.ask("summary");
    }
    if (summary.checksum !== expected) {
      throw new Error(`the sums add up to ${summary.checksum}, not ${expected}`);
    }
    const details: Record<string, string | number> = {};
    for (const [by, n] of Object.entries(summary.byProcess).sort()) {
      details[`handled by ${by}`] = `${n} (pid ${summary.pids[by]})`;
    }
    const repeats = Object.values(summary.repeats).reduce((a, b) => a + b, 0);
    details["done twice (at least once)"] = repeats;
    details["lost"] = jobs - summary.jobs;
    return { items: summary.jobs, unit: "jobs", details };
  }
}
