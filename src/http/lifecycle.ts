import { type IdempotencyContext, contextFromClaim } from '../adapter/context.js';
import type { HeldClaim } from '../core/call.js';
import { IdempotencyError, ResponseNotStorableError } from '../core/errors.js';
import type { Outcome } from '../core/outcome.js';
import { isDeterministicClientStatus } from '../protocol/answers.js';
import type { HttpAnswer } from './answer.js';
import { parseKeyHeader } from './key-header.js';
import type { HttpConfig } from './options.js';
import { problemAnswer } from './problem.js';
import type { RequestInput } from './request-input.js';
import { type StoredHttpResponse, replayAnswer, storedResponse } from './stored-response.js';

/** What the lifecycle needs of a request, whichever framework holds it. */
export interface RequestFacts<R> {
  /** What the option callbacks (tenant, operation) receive. */
  request: R;
  method: string;
  header(name: string): string | null | undefined;
  /** The fingerprinted input (method, path, body); read only once the key was found valid. */
  input(): Promise<RequestInput>;
}

/** How a guarded request goes on. */
export type Opened =
  /** Not guarded (another method, or no key where none is required): run the handler as is. */
  | { kind: 'pass' }
  /** Answer with this and run nothing: a replay, or a problem (400, 409, 422, 503). */
  | { kind: 'answer'; answer: HttpAnswer; replayed: boolean }
  /** The key is held: run the handler, then settle() with its answer, or abandon(). */
  | { kind: 'run'; claim: HeldClaim<StoredHttpResponse>; idempotency: IdempotencyContext };

/**
 * The first half of a guarded request: finds and parses the key, and lets the engine validate it,
 * fingerprint the input and claim, replay or refuse. Every decision is the core's.
 */
export async function openRequest<R>(config: HttpConfig<R>, facts: RequestFacts<R>): Promise<Opened> {
  if (!config.methods.has(facts.method.toUpperCase())) return { kind: 'pass' };
  const value = facts.header(config.header);
  if ((value === undefined || value === null) && !config.required) return { kind: 'pass' };
  try {
    // Checked before the body is read: a bad key costs no body.
    const key = config.engine.validateKey(value === undefined || value === null ? value : parseKeyHeader(value, config.headerLabel));
    const tenant = await config.tenant(facts.request);
    const operation = config.operation(facts.request);
    const begun = await config.engine.begin<StoredHttpResponse>({
      tenant,
      operation,
      key,
      input: await facts.input(),
      shouldStore: storeHttpOutcome,
      ...(config.inProgress !== undefined ? { inProgress: config.inProgress } : {}),
      ...(config.waitTimeout !== undefined ? { waitTimeout: config.waitTimeout } : {}),
      ...(config.transactional !== undefined ? { transactional: config.transactional } : {}),
    });
    if (begun.replayed) return { kind: 'answer', answer: answerOf(begun.execution.outcome), replayed: true };
    return { kind: 'run', claim: begun, idempotency: contextFromClaim(begun.context, operation) };
  } catch (error) {
    // A misconfiguration (a tenant callback returning '', a body read before) is thrown, so that
    // the framework logs it, rather than hidden in a 500 problem.
    if (error instanceof IdempotencyError && error.code !== 'IDEMPOTENCY_CONFIGURATION') return { kind: 'answer', answer: problemAnswer(error), replayed: false };
    throw error;
  }
}

/** The answer a replay gives: the stored response, or the problem the core stored instead (too large to store). */
function answerOf(outcome: Outcome<StoredHttpResponse>): HttpAnswer {
  if (outcome.ok) return replayAnswer(outcome.value);
  const error = outcome.error instanceof IdempotencyError ? outcome.error : new ResponseNotStorableError('the stored outcome is not an HTTP response');
  return problemAnswer(error);
}

/**
 * Which answers are stored (src/protocol/answers.ts): 2xx and 3xx, and deterministic 4xx. 5xx,
 * 408, 409, 425, 429, 499, 401, 403 and 423 release the key so that a retry runs. A handler that
 * threw gave no answer: released too.
 */
export function storeHttpOutcome(outcome: Outcome): boolean {
  if (!outcome.ok) return false;
  const status = (outcome.value as StoredHttpResponse | undefined)?.status;
  return typeof status === 'number' && status >= 200 && (status < 400 || isDeterministicClientStatus(status));
}

/** A complete answer of the handler, as the lifecycle stores it. */
export interface CompleteAnswer {
  status: number;
  headers: Iterable<readonly [string, string]>;
  body: Uint8Array;
}

/**
 * The second half: stores the handler's complete answer (or releases the key, by the store
 * policy). An error status counts as failed: in transactional mode the handler's writes are undone.
 */
export function settle<R>(config: HttpConfig<R>, claim: HeldClaim<StoredHttpResponse>, answer: CompleteAnswer): Promise<unknown> {
  const stored = storedResponse(answer.status, answer.headers, answer.body, config.allowlist);
  return claim.commit({ ok: true, value: stored }, { failed: answer.status >= 400 });
}

/** The handler threw, its body stream broke, or the client went away: nothing is stored, a retry runs. */
export function abandon(claim: HeldClaim<StoredHttpResponse>, error?: unknown): Promise<unknown> {
  return error === undefined ? claim.release() : claim.commit({ ok: false, error });
}
