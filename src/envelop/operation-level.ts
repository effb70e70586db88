import type { DocumentNode, ExecutionResult } from 'graphql';
import type { HeldClaim, Tenant } from '../core/engine.js';
import { isIdempotencyError } from '../core/errors.js';
import { type IdempotencyContext, contextFromClaim } from '../adapter/context.js';
import { defaultResultPolicy, errorResult } from './errors.js';
import { operationIdentity, operationInput, printDocument } from './operation-identity.js';
import type { PluginLogger } from './logger.js';
import { type ResolvedOptions, echoHeader } from './options.js';
import { REPLAY_HEADER, type StoredResult, fromStoredResult, markStored, toStoredResult } from './replay.js';

export type Begin = { replay: ExecutionResult } | { idempotency: IdempotencyContext };

// The result policy decides in settle(): what reaches commit() is stored.
const storeCommitted = () => true;

/**
 * Operation-level keys (getKey, header, extension): one record for the whole operation's result.
 * The claim begins in onExecute and is committed or released when the result is known (Yoga's
 * onExecutionResult, after masking; plain Envelop's onExecuteDone).
 */
export class OperationClaims {
  private readonly held = new WeakMap<object, HeldClaim<StoredResult>>();

  constructor(
    private readonly options: ResolvedOptions,
    private readonly logger: () => PluginLogger | undefined = () => undefined,
  ) {}

  /** A replay to answer with, or the context of the claim this request now holds. Throws refusals. */
  async begin(
    context: object,
    request: { tenant: Tenant; key: unknown; document: DocumentNode; operationName: string | undefined; variables: unknown; isBatch: boolean },
  ): Promise<Begin> {
    const { plugin, engine } = this.options;
    const document = printDocument(request.document);
    const begun = await engine.begin<StoredResult>({
      tenant: request.tenant,
      operation: operationIdentity(this.options, { operationName: request.operationName, document, context }),
      key: request.key,
      input: operationInput(document, request.operationName, request.variables),
      shouldStore: storeCommitted,
      ...(plugin.transactional === undefined ? {} : { transactional: plugin.transactional }),
      ...(plugin.inProgress === undefined ? {} : { inProgress: plugin.inProgress }),
      ...(plugin.waitTimeout === undefined ? {} : { waitTimeout: plugin.waitTimeout }),
    });
    if (begun.replayed) {
      const { outcome, key } = begun.execution;
      if (!outcome.ok) throw outcome.error;
      return { replay: replayed(outcome.value, key, request.isBatch, echoHeader(this.options)) };
    }
    this.held.set(context, begun);
    return { idempotency: contextFromClaim(begun.context) };
  }

  /** Finishes the request's claim with the operation's result: stored, or the key released. */
  async settle(context: object, result: ExecutionResult | undefined, setResult: (result: ExecutionResult) => void): Promise<void> {
    const claim = this.held.get(context);
    if (!claim) return;
    this.held.delete(context);
    const policy = this.options.plugin.shouldStoreResult ?? defaultResultPolicy;
    // Transactional mode (the claim carries tx): a result with any error is a failed outcome, whose
    // writes through tx are undone, like a thrown error of a field key or a tRPC procedure. It is
    // stored only if no root field completed: a replay must not report writes that were undone.
    const transactional = claim.context.tx !== undefined;
    const failed = transactional && result !== undefined && (result.errors?.length ?? 0) > 0;
    const storable = result !== undefined && policy(result) && (!failed || !someRootFieldCompleted(result));
    try {
      if (storable) {
        // What is stored must not look retryable to clients (src/protocol/answers.ts): see markStored.
        const answer = markStored(result);
        const execution = await claim.commit({ ok: true, value: toStoredResult(answer) }, { failed });
        if (answer !== result) setResult(answer);
        if (!execution.stored) {
          // The store failed or the claim was lost: a retry with this key runs the mutation again.
          this.logger()?.warn(`oncely: the result of ${claim.context.operation} (key ${claim.context.key}) could not be stored; a retry with this key will run it again.`);
        }
      } else await claim.release();
    } catch (error) {
      // Transactional mode: the commit failed, so the mutation's writes are gone. Say so.
      if (!isIdempotencyError(error)) throw error;
      this.logger()?.warn(`oncely: committing ${claim.context.operation} (key ${claim.context.key}) failed; its writes were rolled back.`, error);
      setResult(errorResult(error));
    }
  }
}

/** A replayed operation: headers for a single request; in a batch (one set of headers) a body marker. */
function replayed(stored: StoredResult, key: string, isBatch: boolean, headerName: string): ExecutionResult {
  if (!isBatch) return fromStoredResult(stored, { [REPLAY_HEADER]: 'true', [headerName]: key });
  const result = fromStoredResult(stored, undefined);
  return { ...result, extensions: { ...result.extensions, idempotency: { replayed: true, key } } };
}

/** Whether a root field of the result completed (has no error of its own). */
function someRootFieldCompleted(result: ExecutionResult): boolean {
  const failedRoots = new Set((result.errors ?? []).map((e) => e.path?.[0]));
  return Object.keys(result.data ?? {}).some((responseKey) => !failedRoots.has(responseKey));
}
