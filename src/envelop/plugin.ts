import type { Plugin } from '@envelop/core';
import { type ExecutionResult, type GraphQLSchema, getOperationAST } from 'graphql';
import { IdempotencyError, KeyInvalidError, KeyMissingError, isIdempotencyError } from '../core/errors.js';
import type { IdempotencyPluginContext } from './context.js';
import { errorResult } from './errors.js';
import { type FieldState, collectRootFields, markFieldReplays, runKeyedField, wrapMutationResolvers } from './field-level.js';
import { readHeader, findOperationKey } from './key-sources.js';
import { type PluginLogger, loggerOf } from './logger.js';
import { OperationClaims } from './operation-level.js';
import { type ResolvedOptions, type UseIdempotencyOptions, type YogaContextLike, echoHeader, resolveOptions } from './options.js';

/** The Yoga-only hooks the plugin uses, typed structurally so that Envelop users need no Yoga. */
export interface YogaHooks {
  onYogaInit?(payload: { yoga: unknown }): void;
  onRequestParse?(payload: { request: Request }): { onRequestParseDone?(payload: { requestParserResult: unknown }): void } | void;
  onExecutionResult?(payload: { result: unknown; setResult(result: ExecutionResult): void; context: object }): Promise<void> | void;
}

export type IdempotencyPlugin = Plugin<IdempotencyPluginContext> & YogaHooks;

function isAsyncIterable(value: unknown): boolean {
  return typeof (value as { [Symbol.asyncIterator]?: unknown })?.[Symbol.asyncIterator] === 'function';
}

/**
 * Idempotent mutations for Envelop and GraphQL Yoga. Queries and subscriptions pass through.
 *
 * `createYoga({ schema, plugins: [useIdempotency({ store, getTenant })] })`
 */
export function useIdempotency<TContext = YogaContextLike, TTx = unknown>(options: UseIdempotencyOptions<TContext, TTx>): IdempotencyPlugin {
  // The callbacks are typed for TContext, the type the user declared for the execution's context;
  // the plugin hands them that context as it finds it, without knowing its type.
  const resolved = resolveOptions(options as unknown as UseIdempotencyOptions<unknown, TTx>);
  const { plugin } = resolved;
  const marker = Symbol('oncely.envelop.wrapped');
  const fieldStates = new WeakMap<object, FieldState>();
  // Yoga's logger once Yoga initialised the plugin; plain Envelop has none, and nothing is logged.
  let logger: PluginLogger | undefined;
  const operations = new OperationClaims(resolved, () => logger);
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

  const settle = (context: object, result: unknown, setResult: (result: ExecutionResult) => void) =>
    operations.settle(context, result && !isAsyncIterable(result) && !Array.isArray(result) ? (result as ExecutionResult) : undefined, setResult);

  return {
    onYogaInit({ yoga }) {
      inYoga = true;
      logger = loggerOf(yoga);
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
        if (isBatch && resolved.header !== false && readHeader(context, resolved.header) !== undefined) {
          return refuse(
            new KeyInvalidError(
              `The ${resolved.header} header cannot be used with a batched request: every operation of the batch would share it. Send each operation's key in ${batchAlternative(resolved)}.`,
            ),
          );
        }
        // Fixed precedence: an operation-level key (getKey, header, extension) keys the whole
        // operation; only without one are root fields keyed by their own argument or directive.
        const operationKey = await findOperationKey(resolved, context);
        if (operationKey !== undefined) {
          const begun = await operations.begin(context, {
            tenant: await resolved.getTenant(context),
            key: operationKey,
            document: args.document,
            operationName: operation.name?.value ?? args.operationName ?? undefined,
            variables: args.variableValues,
            isBatch,
          });
          if ('replay' in begun) return setResultAndStopExecution(begun.replay);
          extendContext({ idempotency: begun.idempotency });
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

        const fields = collectRootFields(resolved, args.schema, args.document, operation, args.variableValues);
        if (!fields) return;
        for (const field of fields) {
          if (field.key !== undefined) {
            // Checked before anything runs: one invalid key refuses the whole operation.
            resolved.engine.validateKey(field.key);
            continue;
          }
          const required =
            typeof plugin.required === 'function'
              ? plugin.required({ field: field.coordinate, fieldName: field.fieldName, responseKey: field.responseKey, operationName: operation.name?.value, context: context })
              : plugin.required !== false;
          if (required) return refuse(new KeyMissingError(missingKeyMessage(resolved, field.coordinate)));
        }
        const keys = new Map(fields.flatMap((f) => (f.key !== undefined ? [[f.responseKey, f.key] as const] : [])));
        if (keys.size === 0) return;
        const state: FieldState = { tenant: await resolved.getTenant(context), keys, replayed: [] };
        fieldStates.set(context, state);
        return {
          onExecuteDone: ({ result, setResult }) => {
            fieldStates.delete(context);
            if (state.replayed.length === 0 || isAsyncIterable(result)) return;
            setResult(markFieldReplays(result as ExecutionResult, state, isBatch, echoHeader(resolved)));
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

/** Where a client can send a key for one root field: the enabled client sources, in precedence order. */
function clientSources(options: ResolvedOptions): string[] {
  return [
    ...(options.header === false ? [] : [`the ${options.header} header`]),
    ...(options.extension === false ? [] : [`extensions.${options.extension}`]),
    ...(options.argument === false ? [] : [`the ${options.argument} argument`]),
    ...(options.directive === false ? [] : [`@${options.directive}(key: "...")`]),
  ];
}

function missingKeyMessage(options: ResolvedOptions, coordinate: string): string {
  const where = clientSources(options);
  if (where.length === 0) return `${coordinate} needs an idempotency key, and the server's getKey gave none.`;
  return `${coordinate} needs an idempotency key; send one in ${where.join(', ')}.`;
}

/** Per-operation key sources of a batch: the extension, else the field sources. */
function batchAlternative(options: ResolvedOptions): string {
  if (options.extension !== false) return `its extensions.${options.extension}`;
  const fieldSources = clientSources({ ...options, header: false });
  return fieldSources.length > 0 ? fieldSources.join(' or ') : 'getKey';
}
