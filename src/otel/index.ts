export { openTelemetry } from './telemetry.js';
export type { OpenTelemetryOptions } from './telemetry.js';
export type { IdentifierHashing } from './identifiers.js';
export type { CallTrace, IdempotencyTelemetry, StepDetails, StepSpan, StoreMethod, TracedCall, TracedStep } from '../core/telemetry.js';
