/**
 * `Uint8Array.set` of 64 KiB blocks into a shared 4 MiB buffer, wrapping around like a ring:
 * the bulk-copy ceiling for the ring transport. No Troupe code in the path.
 *
 * @module
 */

import type { BenchCase } from "../_harness.ts";

const BLOCK = 64 * 1024;
const RING = 4 * 1024 * 1024;

/** Raw memcpy baseline. */
export const memcpyCases: BenchCase[] = [
  {
    id: "baseline.memcpy.64k",
    group: "baseline",
    unit: "MB/s",
    run({ quick }) {
      const blocks = quick ? 8_192 : 32_768; // 512 MiB or 2 GiB
      const source = new Uint8Array(BLOCK);
      for (let i = 0; i < BLOCK; i++) source[i] = i * 31;
      const ring = new Uint8Array(new SharedArrayBuffer(RING));
      const slots = RING / BLOCK;
      for (let i = 0; i < slots; i++) ring.set(source, i * BLOCK); // warm up, touch every page
      const start = performance.now();
      for (let i = 0; i < blocks; i++) ring.set(source, (i % slots) * BLOCK);
      const seconds = (performance.now() - start) / 1000;
      if (ring[BLOCK + 1] !== source[1]) throw new Error("Cannot trust memcpy: copy is wrong");
      return Promise.resolve((blocks * BLOCK) / 1e6 / seconds);
    },
  },
];
