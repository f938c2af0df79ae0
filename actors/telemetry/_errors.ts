// How an error lands on a span.

import { type Span, SpanStatusCode } from "./_otel_api.ts";

/** Records `error` on `span` as an exception event and an error status. */
export function recordError(span: Span, error: unknown): void {
  const exception = error instanceof Error ? error : { name: "Error", message: String(error) };
  span.recordException(exception);
  span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
}
