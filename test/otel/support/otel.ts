import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { type Context, type ContextManager, ROOT_CONTEXT, context, metrics, trace } from '@opentelemetry/api';
import { AggregationTemporality, type DataPoint, type Histogram, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

/**
 * The active context kept across awaits with AsyncLocalStorage, as the SDK's async-hooks context
 * manager does: without one, the API has no active context and nothing nests.
 */
class AsyncContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.storage.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    return ((...args: unknown[]) => this.with(ctx, target as (...a: unknown[]) => unknown, undefined, ...args)) as T;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

let registered = false;
export function useAsyncContext(): void {
  if (registered) return;
  registered = true;
  context.setGlobalContextManager(new AsyncContextManager());
}

/** Reads the meter provider's metrics on demand (cumulative). */
class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** A tracer and a meter of their own (nothing global), their in-memory exporter and reader. */
export function otelHarness() {
  useAsyncContext();
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const tracer = tracerProvider.getTracer('test');
  const meter = meterProvider.getMeter('test');

  const spans = () => exporter.getFinishedSpans();
  const named = (name: string) => spans().filter((s) => s.name === name);
  const one = (name: string): ReadableSpan => {
    const found = named(name);
    if (found.length !== 1) throw new Error(`expected one ${name} span, found ${found.length}: ${spans().map((s) => s.name).join(', ')}`);
    return found[0]!;
  };

  /** Sum of a counter's points (all attribute sets), or per attributes when `where` is given. */
  const metric = async (name: string) => {
    const { resourceMetrics } = await reader.collect();
    const found = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
    return (found?.dataPoints ?? []) as DataPoint<number | Histogram>[];
  };
  const sum = async (name: string) => (await metric(name)).reduce((total, point) => total + (point.value as number), 0);

  return {
    tracer,
    meter,
    exporter,
    spans,
    named,
    one,
    metric,
    sum,
    /** Registers both providers as the API's globals (as an SDK does); shutdown() unregisters them. */
    registerGlobally: () => {
      trace.setGlobalTracerProvider(tracerProvider);
      metrics.setGlobalMeterProvider(meterProvider);
    },
    shutdown: async () => {
      trace.disable();
      metrics.disable();
      return Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}

export const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

export const hashed = (value: string) => `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 32)}`;
