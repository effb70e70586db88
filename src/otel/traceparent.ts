import { type SpanContext, TraceFlags, isSpanContextValid } from '@opentelemetry/api';

// W3C Trace Context, version 00: version-traceid-parentid-flags.
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The traceparent of a span context; undefined for an invalid one (no tracer, a no-op provider). */
export function toTraceparent(context: SpanContext): string | undefined {
  if (!isSpanContextValid(context)) return undefined;
  return `00-${context.traceId}-${context.spanId}-${(context.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The span context of a stored traceparent; undefined when it is not one (then nothing is linked). */
export function fromTraceparent(text: string): SpanContext | undefined {
  const match = TRACEPARENT.exec(text);
  if (!match) return undefined;
  const context: SpanContext = { traceId: match[1]!, spanId: match[2]!, traceFlags: Number.parseInt(match[3]!, 16) & TraceFlags.SAMPLED, isRemote: true };
  return isSpanContextValid(context) ? context : undefined;
}
