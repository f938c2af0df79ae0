// W3C trace context (`traceparent`) as the envelope carries it: the one
// string a traced message adds (see actors/core/protocol.ts, `TRACED`).

import { type Context, context, isSpanContextValid, type SpanContext, trace } from "./_otel_api.ts";

/** `00-<trace id>-<span id>-<flags>` of a span, or undefined when it has no valid context. */
export function formatTraceparent(span: SpanContext): string | undefined {
  if (!isSpanContextValid(span)) return undefined;
  const flags = (span.traceFlags & 0xff).toString(16).padStart(2, "0");
  return `00-${span.traceId}-${span.spanId}-${flags}`;
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The remote span context a `traceparent` names, or undefined when it is malformed. */
export function parseTraceparent(traceparent: string | undefined): SpanContext | undefined {
  if (traceparent === undefined) return undefined;
  const match = TRACEPARENT.exec(traceparent);
  if (match === null) return undefined;
  const span: SpanContext = {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: parseInt(match[3]!, 16),
    isRemote: true,
  };
  return isSpanContextValid(span) ? span : undefined;
}

/** The context of a remote parent span (the active context when there is none). */
export function contextOf(span: SpanContext | undefined): Context {
  const active = context.active();
  return span === undefined ? active : trace.setSpanContext(active, span);
}
