import { type Attributes, type Meter, type Span, SpanKind, SpanStatusCode, type Tracer, context, trace } from '@opentelemetry/api';
import type { IdempotencyEvent } from '../core/events.js';
import type { CallTrace, IdempotencyTelemetry, StepDetails, StepSpan, StoreMethod, TracedCall, TracedStep } from '../core/telemetry.js';
import { type IdentifierHashing, identifierFormat } from './identifiers.js';
import { currentMeter, tracerLiveness } from './liveness.js';
import { Instruments } from './metrics.js';
import { fromTraceparent, toTraceparent } from './traceparent.js';

export interface OpenTelemetryOptions {
  /** Default: the global tracer provider's tracer "oncely" (a no-op until an SDK is registered). */
  tracer?: Tracer;
  /** Default: the global meter provider's meter "oncely", looked up at each call (a provider registered later is used from then on). */
  meter?: Meter;
  /**
   * Tenants and keys in span attributes: hashed (default true, a SHA-256 prefix), as they are
   * (false), or through your function (e.g. an HMAC with a secret). Operations are never hashed.
   */
  hashIdentifiers?: IdentifierHashing;
}

const SPAN_OPTIONS = { kind: SpanKind.INTERNAL };

const SPAN_NAMES: Record<TracedStep, string> = {
  claim: 'oncely.claim',
  wait: 'oncely.wait',
  execute: 'oncely.execute',
  replay: 'oncely.replay',
  complete: 'oncely.complete',
  release: 'oncely.release',
  renew: 'oncely.lease.renew',
};

/**
 * Traces and metrics through `@opentelemetry/api`:
 * `new Idempotency({ store, telemetry: openTelemetry() })`, or the same option on the Yoga plugin
 * and the tRPC middleware. See docs/observability.md for the spans, attributes and metrics.
 */
export function openTelemetry(options: OpenTelemetryOptions = {}): IdempotencyTelemetry {
  if (options === null || typeof options !== 'object') throw new TypeError('openTelemetry(options): options must be an object.');
  const { hashIdentifiers } = options;
  if (hashIdentifiers !== undefined && typeof hashIdentifiers !== 'boolean' && typeof hashIdentifiers !== 'function') {
    throw new TypeError('openTelemetry: hashIdentifiers must be true, false or a function (value: string) => string.');
  }
  const tracer = options.tracer ?? trace.getTracer('oncely');
  const tracing = tracerLiveness(options.tracer);
  const meterNow = currentMeter(options.meter);
  const identifier = identifierFormat(hashIdentifiers);
  let instruments: Instruments | undefined;
  // Made anew when the meter changes (a MeterProvider registered after the first call); undefined on the no-op meter.
  const counting = (): Instruments | undefined => {
    const meter = meterNow();
    if (meter === undefined) return undefined;
    if (instruments?.meter !== meter) instruments = new Instruments(meter);
    return instruments;
  };

  return {
    call(call: TracedCall): CallTrace | undefined {
      const counted = counting();
      // No SDK at all: the engine skips this call's spans and events altogether.
      if (!tracing()) return counted ? countedOnly(call, counted) : undefined;
      const parent = context.active();
      // Built (and hashed) once per call, and only for a recording span: with no SDK, or a call
      // that is not sampled, a call costs no hashing. So samplers do not see them at span start.
      let attributes: Attributes | undefined;
      const callAttributes = () =>
        (attributes ??= {
          'oncely.operation': call.operation,
          'oncely.tenant': identifier(call.tenant),
          'oncely.key': identifier(call.key),
          'oncely.store': call.store,
        });
      return {
        start(step, parentStep) {
          const within = parentStep instanceof OtelStep ? trace.setSpan(parent, parentStep.span) : parent;
          const span = tracer.startSpan(SPAN_NAMES[step], SPAN_OPTIONS, within);
          if (span.isRecording()) span.setAttributes(callAttributes());
          return new OtelStep(span, step === 'execute' && counted ? holdInFlight(call, counted) : undefined);
        },
        within(step, work) {
          return step instanceof OtelStep ? context.with(trace.setSpan(parent, step.span), work) : work();
        },
        traceContext(step) {
          return step instanceof OtelStep ? toTraceparent(step.span.spanContext()) : undefined;
        },
      };
    },
    measuring() {
      return meterNow() !== undefined;
    },
    storeCall(method: StoreMethod, durationMs: number, failed: boolean, store: string) {
      counting()?.storeCall(method, durationMs, failed, store);
    },
    event(event: IdempotencyEvent) {
      counting()?.count(event);
    },
  };
}

/** A claim is in flight while its work span is open: counted up now; the returned function counts it down. */
function holdInFlight(call: TracedCall, instruments: Instruments): () => void {
  const held = { 'oncely.operation': call.operation, 'oncely.store': call.store };
  instruments.inFlight.add(1, held);
  return () => instruments.inFlight.add(-1, held);
}

/** Metrics without a tracer: no span; only the work's step counts the claim in flight. */
function countedOnly(call: TracedCall, instruments: Instruments): CallTrace {
  return {
    start: (step) => (step === 'execute' ? new CountedStep(holdInFlight(call, instruments)) : UNTRACED),
    within: (_step, work) => work(),
    traceContext: () => undefined,
  };
}

/** A step with no span, which only runs `onEnd` once when it ends. */
class CountedStep implements StepSpan {
  private ended = false;
  constructor(private readonly onEnd?: () => void) {}
  set(): void {}
  fail(): void {}
  link(): void {}
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd?.();
  }
}

const UNTRACED = new CountedStep();

/** One step's span; ends once, however often end() is called. */
class OtelStep implements StepSpan {
  private ended = false;

  constructor(
    readonly span: Span,
    private readonly onEnd?: () => void,
  ) {}

  set(details: StepDetails): void {
    if (!this.span.isRecording()) return;
    const attributes: Attributes = {};
    if (details.fence !== undefined) attributes['oncely.fence'] = details.fence;
    if (details.replayed !== undefined) attributes['oncely.replayed'] = details.replayed;
    if (details.outcome !== undefined) attributes['oncely.outcome'] = details.outcome;
    if (details.claim !== undefined) attributes['oncely.claim'] = details.claim;
    this.span.setAttributes(attributes);
  }

  fail(error: unknown): void {
    if (!this.span.isRecording()) return;
    const described = describe(error);
    this.span.recordException(described);
    this.span.setAttribute('error.type', described.code ?? described.name);
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: described.message });
  }

  link(traceContext: string): void {
    if (!this.span.isRecording()) return;
    const linked = fromTraceparent(traceContext);
    if (linked) this.span.addLink({ context: linked, attributes: { 'oncely.link': 'original_execution' } });
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.span.end();
    this.onEnd?.();
  }
}

function describe(error: unknown): { name: string; message: string; code?: string; stack?: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}), ...(error.stack ? { stack: error.stack } : {}) };
  }
  return { name: typeof error, message: String(error) };
}
