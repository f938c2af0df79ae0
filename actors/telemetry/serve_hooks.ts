// The actor's side of tracing: a span around each handler, the child of the
// sender's ask span, or, for a tell, linked to the sender's tell span. The
// host imports this module statically (no read permission needed) when the
// boot message names it, and hands it to the serve loop.

import { context, type Span, SpanKind, SpanStatusCode, trace } from "./_otel_api.ts";
import type { BootMessage } from "../core/protocol.ts";
import type { HandleHook, ServeHooks } from "../core/hooks.ts";
import { ATTRIBUTES, SCOPE } from "./attributes.ts";
import { contextOf, parseTraceparent } from "./_trace_context.ts";
import { recordError } from "./_errors.ts";

/**
 * The hooks around the handlers of the actor `boot` starts: each handler
 * runs inside its span, so what it starts (an ask to another actor, a
 * `fetch`) nests under it.
 *
 * @param boot The actor's boot message (its `telemetry` has the spans' attributes).
 * @returns The hooks the serve loop calls.
 */
export function serveHooks(boot: BootMessage): ServeHooks {
  const tracer = trace.getTracer(SCOPE);
  const attributes = boot.telemetry?.attributes ?? { [ATTRIBUTES.actorId]: boot.actorId };
  return {
    handle(name: string, ask: boolean, traceparent: string | undefined): HandleHook | undefined {
      const sender = parseTraceparent(traceparent);
      // A tell sent outside any trace is not traced (a span per message would cost
      // most of a tell's time); an ask always is.
      if (!ask && sender === undefined) return undefined;
      const options = {
        kind: ask ? SpanKind.SERVER : SpanKind.CONSUMER,
        attributes: { ...attributes, [ATTRIBUTES.messageName]: name },
        // A tell's handler is not part of the sender's request: it is linked to it.
        ...(!ask && sender !== undefined ? { links: [{ context: sender }] } : {}),
      };
      const span: Span = tracer.startSpan(
        `handle ${name}`,
        options,
        ask ? contextOf(sender) : context.active(),
      );
      const inside = trace.setSpan(context.active(), span);
      return {
        run: (fn) => context.with(inside, fn),
        end(ok, value) {
          if (!ok) recordError(span, value);
          else span.setStatus({ code: SpanStatusCode.OK });
          span.end();
        },
      };
    },
  };
}
