import { isDeterministicClientStatus } from '../protocol/answers.js';

/** What a piece of work ended with. Stored and replayed as a whole. */
export type Outcome<T = unknown> = { ok: true; value: T } | { ok: false; error: unknown };

/** Decides whether an outcome is stored for replay (true) or the claim is released (false). */
export type StorePolicy = (outcome: Outcome) => boolean;

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  const value = typeof status === 'number' ? status : statusCode;
  return typeof value === 'number' ? value : undefined;
}

/**
 * An error that will come out the same on every retry: its `status` (or `statusCode`) is a 4xx
 * other than 401/403/408/409/423/425/429/499 (the protocol's rule, src/protocol/answers.ts).
 */
export function isDeterministicClientError(error: unknown): boolean {
  const status = statusOf(error);
  return status !== undefined && isDeterministicClientStatus(status);
}

/**
 * The default policy: successes and deterministic client errors are stored and replayed;
 * anything else (unexpected errors, 5xx, timeouts, rate limits) releases the claim so that a retry
 * runs the work again.
 */
export const defaultStorePolicy: StorePolicy = (outcome) => outcome.ok || isDeterministicClientError(outcome.error);
