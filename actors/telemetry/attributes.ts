/**
 * The names of the attributes on Troupe's spans and metrics.
 *
 * @module
 */

/**
 * Attribute keys of Troupe's spans and metrics: the actor's id, the message's
 * name, where the actor runs (`"worker"` or `"process"`), its transport's
 * name, and which incarnation it is (1 at its first start, 2 after one
 * restart...).
 */
export const ATTRIBUTES = {
  actorId: "troupe.actor.id",
  messageName: "troupe.message.name",
  host: "troupe.actor.host",
  transport: "troupe.transport",
  incarnation: "troupe.actor.incarnation",
  reason: "troupe.reason",
  supervisor: "troupe.supervisor",
  outcome: "troupe.outcome",
  semaphore: "troupe.semaphore",
  pool: "troupe.pool",
  direction: "troupe.direction",
} as const;

/** The instrumentation scope of Troupe's tracer and meter. */
export const SCOPE = "troupe";
