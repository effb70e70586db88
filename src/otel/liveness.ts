import { type Meter, ProxyTracer, ProxyTracerProvider, type Tracer, createNoopMeter, metrics, trace } from '@opentelemetry/api';

// What the API's globals answer while no SDK is registered. A fresh ProxyTracerProvider hands out
// the API's one no-op tracer provider; createNoopMeter() is the API's one no-op meter.
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();
const NOOP_METER = createNoopMeter();

/**
 * Whether spans started on `tracer` can record or carry a trace context, asked once per call so
 * that an SDK registered after openTelemetry() is picked up by the next call. The global tracer
 * (the default, or a ProxyTracer from `trace.getTracer`) is live once a provider is registered;
 * any other tracer is a real one. Costs one global lookup, no span.
 */
export function tracerLiveness(tracer: Tracer | undefined): () => boolean {
  if (tracer !== undefined && !(tracer instanceof ProxyTracer)) return () => true;
  return () => {
    const provider = trace.getTracerProvider();
    // Another copy of the API registered the global: not ours to see through, so treat it as live.
    return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_TRACER_PROVIDER;
  };
}

/**
 * The meter to record on right now, or undefined while it is the API's no-op meter (no
 * MeterProvider registered): then nothing is counted or timed. The global meter is looked up per
 * call (a map lookup in the SDK) so that a provider registered later is used from then on.
 */
export function currentMeter(meter: Meter | undefined): () => Meter | undefined {
  if (meter !== undefined) {
    const given = meter === NOOP_METER ? undefined : meter;
    return () => given;
  }
  return () => {
    const global = metrics.getMeter('oncely');
    return global === NOOP_METER ? undefined : global;
  };
}
