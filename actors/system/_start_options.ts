// Checking a system's start options before anything starts: the heartbeat,
// the transports a spawn may name (the built-ins, then the app's own, which
// replace a built-in of the same name), and whether telemetry is on.

import type { TransportFactory } from "../../transports/transport.ts";
import { builtinTransports } from "../../transports/preset.ts";
import type { TelemetryOptions } from "./system_options.ts";

/**
 * The heartbeat interval, 1000 ms unless given.
 *
 * @throws {RangeError} When it is not a finite number of at least 0.
 */
export function checkHeartbeat(option: number | undefined): number {
  const heartbeatMs = option ?? 1000;
  if (!(heartbeatMs >= 0) || !Number.isFinite(heartbeatMs)) {
    throw new RangeError(
      `Cannot start actor system: heartbeatMs must be a finite number of at least 0, received ${heartbeatMs}`,
    );
  }
  return heartbeatMs;
}

/** The transports a spawn may name, by name: the built-ins, then `extra` (the last of a name wins). */
export function transportsByName(
  extra: readonly TransportFactory[] | undefined,
): Map<string, TransportFactory> {
  const transports = new Map<string, TransportFactory>();
  for (const factory of [...builtinTransports(), ...(extra ?? [])]) {
    transports.set(factory.name, factory);
  }
  return transports;
}

/** Whether a system records telemetry: as asked, or when Deno exports OpenTelemetry. */
export function telemetryWanted(option: boolean | TelemetryOptions | undefined): boolean {
  if (typeof option === "object" && option !== null) return true;
  if (option !== undefined) return option;
  try {
    // Never a permission prompt: without env access, telemetry only when asked for.
    const access = Deno.permissions.querySync({ name: "env", variable: "OTEL_DENO" });
    if (access.state !== "granted") return false;
    const value = Deno.env.get("OTEL_DENO");
    return value === "true" || value === "1";
  } catch {
    return false;
  }
}
