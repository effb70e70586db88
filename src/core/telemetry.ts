import type { IdempotencyEvent } from './events.js';

/**
 * The engine's tracing and metrics hooks, free of any tracing library: `oncely/otel` implements
 * them over OpenTelemetry. Without `telemetry` the engine calls none of them and wraps nothing.
 */
export interface IdempotencyTelemetry {
  /**
   * Called once per call, synchronously at its start (in the caller's context): traces that call.
   * Undefined when nothing would record it (OpenTelemetry with no SDK registered): the engine then
   * starts no span, builds no event for the telemetry and stores no trace context for that call.
   */
  call(call: TracedCall): CallTrace | undefined;
  /**
   * Whether store calls and events are recorded right now (for OpenTelemetry: a MeterProvider is
   * registered). While it answers false, and `onEvent` is not set, the engine calls the store
   * directly, untimed. Without it, store calls are always timed.
   */
  measuring?(): boolean;
  /** Each store call the engine made: how long it took, and whether it threw. */
  storeCall(method: StoreMethod, durationMs: number, failed: boolean, store: string): void;
  /** Every event of the engine, whether or not `onEvent` is set. Must not throw (it is guarded anyway). */
  event(event: IdempotencyEvent): void;
}

/** The steps of a call that are traced. */
export type TracedStep =
  /** Deciding the claim: create, or find the record and replay, take over, refuse or wait. */
  | 'claim'
  /** Waiting for another request's claim (inProgress "wait"), inside `claim`. */
  | 'wait'
  /** The user's work, from the claim to commit or release. */
  | 'execute'
  /** Answering with a stored outcome. */
  | 'replay'
  /** Storing the outcome. */
  | 'complete'
  /** Giving the claim back without storing. */
  | 'release'
  /** One lease renewal (heartbeat), inside `execute`. */
  | 'renew';

/** The store methods the engine calls, as named in store timings and `store_failed` events. */
export type StoreMethod = 'create' | 'createOrGet' | 'get' | 'takeOver' | 'renew' | 'complete' | 'release' | 'purgeExpired' | 'loadSteps' | 'recordStep' | 'transaction';

/** Which call is traced: its stored scope, and which kind of store keeps it. */
export interface TracedCall {
  tenant: string;
  operation: string;
  key: string;
  /** The store's class name ("PrismaStore", "RedisStore", "MemoryStore"), "custom" for a plain object. */
  store: string;
}

/** What a step learned, set on its span as it becomes known. */
export interface StepDetails {
  fence?: number;
  replayed?: boolean;
  outcome?: 'success' | 'error';
  /** What the claim found: claimed it (new or taken over), a completed record, or another holder. */
  claim?: 'claimed' | 'reclaimed' | 'completed' | 'in_progress';
}

/** One traced step. `end` is called exactly once. */
export interface StepSpan {
  set(details: StepDetails): void;
  /** Records `error` on the span and marks it failed. */
  fail(error: unknown): void;
  /** Links this span to the execution whose trace context was stored with the outcome. */
  link(traceContext: string): void;
  end(): void;
}

export interface CallTrace {
  /** Starts a step; its parent is `parent`, or the caller's context captured by `call()`. */
  start(step: TracedStep, parent?: StepSpan): StepSpan;
  /** Runs `work` with `span` as the active span, so what the work traces nests under it. */
  within<R>(span: StepSpan, work: () => R): R;
  /**
   * `span`'s trace context to store with the outcome (a W3C traceparent for OpenTelemetry), or
   * undefined to store none. Printable ASCII without spaces, at most 512 characters, or it is dropped.
   */
  traceContext(span: StepSpan): string | undefined;
}

/** The name a store is reported by. */
export function storeKind(store: object): string {
  const name = (store as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? name : 'custom';
}

/**
 * When the engine's timed view of the store (observed-store.ts) must time a call: undefined for
 * always (`onEvent` is set: store_failed carries the duration; or the telemetry cannot say), else
 * while the telemetry measures.
 */
export function storeTimingGate(onEvent: unknown, telemetry: IdempotencyTelemetry | undefined): (() => boolean) | undefined {
  if (onEvent || !telemetry?.measuring) return undefined;
  return () => telemetry.measuring!();
}
