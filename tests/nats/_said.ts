// Everything a value would say if printed, logged or serialized: an error's
// message, stack, inspected form and causes; anything else as JSON, as a
// string and inspected. The credential tests check that no secret is in it.
import { inspect } from "node:util";

export function everythingSaid(value: unknown): string {
  if (value instanceof Error) {
    const parts = [value.message, value.stack ?? "", inspect(value, { depth: 8 })];
    if (value.cause !== undefined) parts.push(everythingSaid(value.cause));
    return parts.join("\n");
  }
  return `${JSON.stringify(value)}\n${String(value)}\n${inspect(value, { depth: 8 })}`;
}
