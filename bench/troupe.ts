/**
 * Troupe's own bench cases. Each figure declares the baseline it is compared with and a target
 * ratio (see `bench/README.md`, "Troupe figures", for the planned ids).
 *
 * @module
 */

import type { BenchCase } from "./_harness.ts";

/** Troupe bench cases; empty until the actor runtime and its transports land. */
export const troupeCases: BenchCase[] = [];
