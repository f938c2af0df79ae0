/**
 * Entry point of `deno task bench`: runs the raw baselines and Troupe's cases, prints a table,
 * and with `--json FILE` writes the results. See `bench/README.md`.
 *
 * @module
 */

import { benchMain } from "./_harness.ts";
import { atomicsCases } from "./baselines/atomics.ts";
import { memcpyCases } from "./baselines/memcpy.ts";
import { exitCases } from "./exits.ts";
import { natsCases } from "./nats.ts";
import { otelCases } from "./otel.ts";
import { piscinaCases } from "./baselines/piscina.ts";
import { poolEchoCases } from "./baselines/pool_echo.ts";
import { poolifierCases } from "./baselines/poolifier.ts";
import { postMessageCases } from "./baselines/postmessage.ts";
import { pythonCases } from "./baselines/python.ts";
import { sabRingCases } from "./baselines/sabring.ts";
import { spawnCases } from "./baselines/spawn.ts";
import { spinCases } from "./baselines/spin.ts";
import { stdioCases } from "./baselines/stdio.ts";
import { unixCases } from "./baselines/unix.ts";
import { scaleCases } from "./scale.ts";
import { seedCases } from "./seeds.ts";
import { soakMain } from "./soak.ts";
import { socketFloodCases } from "./socket_flood.ts";
import { troupeCases } from "./troupe.ts";

if (
  import.meta.main &&
  Deno.args.some((a) => a === "--soak" || a === "--soak-from" || a.startsWith("--soak="))
) {
  // The soak (`--soak 30m`) is a mode of its own: one long run, not the cases.
  Deno.exit(await soakMain(Deno.args));
} else if (import.meta.main) {
  const code = await benchMain([
    ...postMessageCases,
    ...atomicsCases,
    ...spinCases,
    ...sabRingCases,
    ...memcpyCases,
    ...stdioCases,
    ...unixCases,
    ...pythonCases,
    ...piscinaCases,
    ...poolifierCases,
    ...poolEchoCases,
    ...spawnCases,
    ...exitCases,
    ...troupeCases,
    ...natsCases,
    ...socketFloodCases,
    ...otelCases,
    ...scaleCases,
    ...seedCases,
  ], Deno.args);
  // Every case cleans up after itself; exiting explicitly still keeps a leak in a future case
  // from holding the finished bench open.
  Deno.exit(code);
}
