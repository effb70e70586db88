import type { Plugin } from '@envelop/core';
import { type ExecutionResult, type GraphQLSchema, getOperationAST } from 'graphql';
import type { HeldClaim } from '../core/engine.js';
import { IdempotencyError, KeyInvalidError, KeyMissingError, isIdempotencyError } from '../core/errors.js';
import { type IdempotencyContext, type IdempotencyPluginContext, fromClaim } from './context.js';
import { defaultResultPolicy, errorResult } from './errors.js';
import { type FieldState, collectRootFields, runKeyedField, wrapMutationResolvers } from './field-level.js';
import { readHeader, findOperationKey } from './key-sources.js';
import { operationIdentity, operationInput, printDocument } from './operation-identity.js';
import { type ResolvedOptions, type UseIdempotencyOptions, resolveOptions } from './options.js';
import { REPLAY_HEADER, type StoredResult, fromStoredResult, toStoredResult } from './replay.js';

/** The Yoga-only hooks the plugin uses, typed structurally so that Envelop users need no Yoga. */
export interface YogaHooks {
  onYogaInit?(payload: { yoga: unknown }): void;
  onRequestParse?(payload: { request: Request }): { onRequestParseDone?(payload: { requestParserResult: unknown }): void } | void;
  onExecutionResult?(payload: { result: unknown; setResult(result: any): void; context: any }): Promise<void> | void;
}

export type IdempotencyPlugin = Plugin<IdempotencyPluginContext> & YogaHooks;

const storeCommitted = () => true;

function isAsyncIterable(value: unknown): boolean {
  return typeof (value as { [Symbol.asyncIterator]?: unknown })?.[Symbol.asyncIterator] === 'function';
}

/**
 * Idempotent mutations for Envelop and GraphQL Yoga. Queries and subscriptions pass through.
 *
 * `createYoga({ schema, plugins: [useIdempotency({ store, getTenant })] })`
 */
export function useIdempotency<TContext = any>(options: UseIdempotencyOptions<TContext>): IdempotencyPlugin {
  const resolved = resolveOptions(options);
  const { plugin } = resolved;
  const marker = Symbol('oncely.envelop.wrapped');
  const fieldStates = new WeakMap<object, FieldState>();
  // Operation-level claims held between onExecute and the result hook, per request context.
  const pending = new WeakMap<object, HeldClaim<StoredResult>>();
  const batched = new WeakSet<object>();
  const wrappedSchemas = new WeakSet<GraphQLSchema>();
  // In Yoga the result is taken in onExecutionResult, after Yoga masked its errors; plain Envelop
  // has no later hook than onExecuteDone.
  let inYoga = false;

  const ensureWrapped = (schema: GraphQLSchema) => {
    if (wrappedSchemas.has(schema)) return;
    wrappedSchemas.add(schema);
    wrapMutationResolvers(schema, marker, (original, source, args, context, info) => {
      const state = info.path.prev === undefined && info.operation.operation === 'mutation' ? fieldStates.get(context as object) : undefined;
      if (!state) return original(source, args, context, info);
      const key = state.keys.get(info.path.key as string);
      if (key === undefined) {
        (context as IdempotencyPluginContext).idempotency = undefined;
        return original(source, args, context, info);
      }
      return runKeyedField(resolved, state, key, original, source, args, context, info);
    });
  };

  const policy = plugin.shouldStoreResult ?? defaultResultPolicy;

  /** Finishes an operation-level claim with the operation's result: stored, or the key released. */
  const settle = async (context: object, result: unknown, setResult: (result: ExecutionResult) => void) => {
    const claim = pending.get(context);
    if (!claim) return;
    pending.delete(context);
    const single = result && !isAsyncIterable(result) && !Array.isArray(result) ? (result as ExecutionResult) : undefined;
    // In transactional mode (the claim carries tx), like field keys and tRPC, any error fails the
    // outcome: the writes through tx and the claim roll back, nothing is stored.
    const failed = single === undefined || (claim.context.tx !== undefined && (single.errors?.length ?? 0) > 0);
    try {
      if (!failed && policy(single)) await claim.commit({ ok: true, value: toStoredResult(single) });
      else await claim.release();
    } catch (error) {
      // Transactional mode: the commit failed, so the mutation's writes are gone. Say so.
      if (isIdempotencyError(error)) setResult(errorResult(error));
      else throw error;
    }
  };

  return {
    onYogaInit() {
      inYoga = true;
    },

    onRequestParse({ request }) {
      return {
        onRequestParseDone({ requestParserResult }) {
          if (Array.isArray(requestParserResult)) batched.add(request);
        },
      };
    },

    onSchemaChange({ schema }) {
      ensureWrapped(schema as GraphQLSchema);
    },

    async onExecute({ args, setResultAndStopExecution, extendContext, executeFn, setExecuteFn }) {
      const operation = getOperationAST(args.document, args.operationName ?? undefined);
      if (operation?.operation !== 'mutation') return;
      ensureWrapped(args.schema);
      const context = args.contextValue as Record<string, unknown> & IdempotencyPluginContext;
      const request = (context as { request?: object }).request;
      const isBatch = request !== undefined && batched.has(request);
      const refuse = (error: IdempotencyError) => setResultAndStopExecution(errorResult(error));

      try {
        if (isBatch && resolved.keySources.includes('header') && readHeader(context, resolved.headerName) !== undefined) {
          return refuse(
            new KeyInvalidError(
              `The ${resolved.headerName} header cannot be used with a batched request: every operation of the batch would share it. Send each operation's key in its extensions.${resolved.extensionName}.`,
            ),
          );
        }
        const operationKey = await findOperationKey(resolved, context);
        const fields = collectRootFields(resolved, args.schema, args.document, operation, args.variableValues);
        const bestFieldRank = Math.min(...(fields ?? []).map((f) => f.found?.rank ?? Number.POSITIVE_INFINITY));

        if (operationKey && operationKey.rank < bestFieldRank) {
          const tenant = await resolved.getTenant(context as TContext);
          const document = printDocument(args.document);
          const operationName = operation.name?.value ?? args.operationName ?? undefined;
          const begun = await resolved.engine.begin<StoredResult>({
            tenant,
            operation: operationIdentity(resolved, { operationName, document, context }),
            key: operationKey.key,
            input: operationInput(document, operationName, args.variableValues),
            // The result policy decides in settle(): what reaches commit() is stored.
            shouldStore: storeCommitted,
            ...(plugin.transactional === undefined ? {} : { transactional: plugin.transactional }),
            ...(plugin.inProgress === undefined ? {} : { inProgress: plugin.inProgress }),
            ...(plugin.waitTimeout === undefined ? {} : { waitTimeout: plugin.waitTimeout }),
          });
          if (begun.replayed) {
            const { outcome, key } = begun.execution;
            if (!outcome.ok) {
              if (isIdempotencyError(outcome.error)) return refuse(outcome.error);
              throw outcome.error;
            }
            return setResultAndStopExecution(replayed(outcome.value, key, isBatch));
          }
          // This request holds the claim: run the operation, settle with its result.
          extendContext({ idempotency: fromClaim(begun.context) satisfies IdempotencyContext });
          pending.set(context, begun);
          if (inYoga) return;
          // Plain Envelop: a throwing executor must still release the claim.
          setExecuteFn(async (executionArgs) => {
            try {
              return await executeFn(executionArgs);
            } catch (error) {
              await settle(context, undefined, () => undefined);
              throw error;
            }
          });
          return { onExecuteDone: ({ result: done, setResult }) => settle(context, done, setResult) };
        }

        if (!fields) return;
        for (const field of fields) {
          if (field.found) {
            // Checked before anything runs: one invalid key refuses the whole operation.
            resolved.engine.validateKey(field.found.key);
            continue;
          }
          const required =
            typeof plugin.required === 'function'
              ? plugin.required({ field: field.coordinate, fieldName: field.fieldName, responseKey: field.responseKey, operationName: operation.name?.value, context: context as TContext })
              : plugin.required === true;
          if (required) return refuse(new KeyMissingError(missingKeyMessage(resolved, field.coordinate)));
        }
        const keys = new Map(fields.flatMap((f) => (f.found ? [[f.responseKey, f.found.key] as const] : [])));
        if (keys.size === 0) return;
        const state: FieldState = { tenant: await resolved.getTenant(context as TContext), keys, replayed: [] };
        fieldStates.set(context, state);
        return {
          onExecuteDone: ({ result, setResult }) => {
            fieldStates.delete(context);
            if (state.replayed.length === 0 || isAsyncIterable(result)) return;
            setResult(markFieldReplays(result as ExecutionResult, state, isBatch));
          },
        };
      } catch (error) {
        if (isIdempotencyError(error)) return refuse(error);
        throw error;
      }
    },

    async onExecutionResult({ result, setResult, context }) {
      await settle(context, result, setResult);
    },
  };
}

/** A replayed operation: headers for a single request; in a batch (one set of headers) a body marker. */
function replayed(stored: StoredResult, key: string, isBatch: boolean): ExecutionResult {
  if (!isBatch) return fromStoredResult(stored, { [REPLAY_HEADER]: 'true', 'Idempotency-Key': key });
  const result = fromStoredResult(stored, undefined);
  return { ...result, extensions: { ...result.extensions, idempotency: { replayed: true, key } } };
}

/** Field replays are listed in `extensions.idempotency.replayedFields`; headers when every keyed field replayed. */
function markFieldReplays(result: ExecutionResult, state: FieldState, isBatch: boolean): ExecutionResult {
  const extensions: Record<string, unknown> = { ...result.extensions, idempotency: { replayedFields: [...state.replayed] } };
  if (!isBatch && state.replayed.length === state.keys.size) {
    const http = (extensions.http ?? {}) as { headers?: Record<string, string> };
    const keys = new Set(state.keys.values());
    const echo = keys.size === 1 && typeof [...keys][0] === 'string' ? { 'Idempotency-Key': [...keys][0] as string } : {};
    extensions.http = { ...http, headers: { ...http.headers, [REPLAY_HEADER]: 'true', ...echo } };
  }
  return { ...result, extensions };
}

function missingKeyMessage(options: ResolvedOptions, coordinate: string): string {
  const where = options.keySources.map((source) => {
    switch (source) {
      case 'header':
        return `the ${options.headerName} header`;
      case 'extensions':
        return `extensions.${options.extensionName}`;
      case 'argument':
        return `the ${options.argumentName} argument`;
      case 'directive':
        return `@${options.directiveName}(key: "...")`;
      default:
        return 'the getKey source';
    }
  });
  return `${coordinate} needs an idempotency key; send one in ${where.join(', ')}.`;
}
