/**
 * Connection churn does not cost a socket server memory: authenticated
 * connect/ask/close cycles in a child process that measures its own RSS, and
 * what an open or a closed-but-referenced connection holds.
 *
 * Figures from a run by hand (`deno run -A --v8-flags=--expose-gc
 * tests/fixtures/socket_churn.ts unix 4000 10000 1`) are in the changelog.
 */

import assert from "node:assert/strict";
import { within } from "./_helpers.ts";

interface Churn {
  cycles: number;
  seconds: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  growthMiB: number;
  heapGrowthMiB: number;
  heapTotalGrowthMiB: number;
  externalGrowthMiB: number;
  held: number;
  heldRssKiB: number;
  heldExternalKiB: number;
  keptExternalKiB: number;
}

async function churn(
  transport: "unix" | "tcp",
  warmup: number,
  cycles: number,
  concurrency: number,
  held: number,
): Promise<Churn> {
  const output = await within(
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        "--v8-flags=--expose-gc",
        new URL("./fixtures/socket_churn.ts", import.meta.url).href,
        transport,
        String(warmup),
        String(cycles),
        String(concurrency),
        String(held),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output(),
    60_000,
    "the churn child to finish",
  );
  assert.equal(output.code, 0, "the churn child succeeded");
  const figures = JSON.parse(new TextDecoder().decode(output.stdout)) as Churn;
  console.log(`${transport}: ${JSON.stringify(figures)}`);
  return figures;
}

for (const transport of ["unix", "tcp"] as const) {
  Deno.test(`socket (${transport}): connect/ask/close churn retains nothing per connection`, async () => {
    // 16 at a time. The warm-up lets V8 size its young generation and the
    // allocator its arenas: a one-time plateau of tens of MiB whatever holds
    // the connections, which the measured cycles must then not add to.
    // TCP's handshakes (HMAC both ways) are slower: fewer measured cycles keep the test short.
    const figures = await churn(transport, 4000, transport === "tcp" ? 2000 : 4000, 16, 300);
    assert.ok(figures.growthMiB < 10, `RSS grew ${figures.growthMiB} MiB over the cycles`);
    assert.ok(figures.heapGrowthMiB < 1, `heap used grew ${figures.heapGrowthMiB} MiB`);
    assert.ok(figures.externalGrowthMiB < 1, `buffers grew ${figures.externalGrowthMiB} MiB`);
    // An open connection (both its ends live here) costs tens of KiB, not a
    // 256 KiB read arena per end; a closed one keeps no buffer at all.
    assert.ok(figures.heldRssKiB < 64, `an open connection costs ${figures.heldRssKiB} KiB RSS`);
    assert.ok(
      figures.heldExternalKiB < 64,
      `an open connection holds ${figures.heldExternalKiB} KiB of buffers`,
    );
    assert.ok(
      figures.keptExternalKiB < 16,
      `a closed connection still referenced holds ${figures.keptExternalKiB} KiB of buffers`,
    );
  });
}
