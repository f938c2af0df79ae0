/**
 * A parser service of the NATS demo, started by `troupe run`: a pool of two
 * parser workers, exposed durably under the name `parser` in the namespace
 * `demo`. Every process that runs this file joins the same pool across
 * processes: they pull from one durable consumer. Each finished job is
 * reported to the front service's `results` mailbox (durably too), and only
 * then acked, so a job whose process dies before is done again elsewhere.
 *
 * Environment: NATS_URL (the broker), DEMO_LABEL (this process's name).
 * Runs until it is stopped (SIGTERM, Ctrl-C, `troupe stop`).
 *
 * @module
 */
import type { ActorSystem, AskOptions } from "../../mod.ts";
import type { AppContext, AppTree } from "../../cli/mod.ts";
import { NatsNode } from "../../actors/cluster/mod.ts";
import type { Job, parser } from "./parser.ts";

/** Nothing supervised up front: the pool starts in `main`. */
export const app: AppTree = { id: "parser-service", children: [] };

/** Serves `parser` until the service is stopped. */
export async function main(system: ActorSystem, _root: unknown, context: AppContext) {
  const label = Deno.env.get("DEMO_LABEL") ?? `parser-${Deno.pid}`;
  const node = await NatsNode.connect({
    servers: Deno.env.get("NATS_URL") ?? "nats://127.0.0.1:4222",
    namespace: "demo",
    name: label,
  });
  try {
    const pool = await system.pool<typeof parser>(new URL("./parser.ts", import.meta.url), {
      size: 2,
    });
    const results = node.lookupDurable<typeof import("./collector.ts")>("results");
    let handled = 0;
    // What the name serves: the pool, then the report. The durable mailbox
    // acks a job once this returns.
    const service = {
      id: `parsers-${label}`,
      tell: (name: "parse", job: Job) => pool.tell(name, job),
      async ask(_name: "parse", job: Job, options?: AskOptions) {
        const parsed = await pool.ask("parse", job, options);
        await results.tell(
          "done",
          { job: job.id, by: label, pid: Deno.pid, sum: parsed.sum },
          { id: `done-${job.id}-${label}` },
        );
        handled++;
        return parsed;
      },
    };
    const exposure = await node.expose("parser", service, {
      durable: { ackWait: 2000, maxInflight: 4 },
    });
    context.log(`${label} (pid ${Deno.pid}) serves "parser" durably`);
    await new Promise((resolve) => context.signal.addEventListener("abort", resolve));
    const redelivered = exposure.stats().durable?.redelivered ?? 0;
    context.log(`${label} handled ${handled} jobs, ${redelivered} of them redelivered`);
  } finally {
    await node.close({ timeout: 1000 });
  }
}
