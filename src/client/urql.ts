import { type Exchange, type Operation, makeOperation, mapExchange } from '@urql/core';
import { IDEMPOTENCY_KEY_CONTEXT, IDEMPOTENCY_KEY_EXTENSION, IDEMPOTENCY_KEY_HEADER } from '../protocol/names.js';
import { createIdempotencyKey } from './key.js';
import { type GraphQLClientKeyOptions, usesExtensions, usesHeader } from './transport.js';

/**
 * An urql exchange that gives every mutation an idempotency key, and nothing else one. Put it
 * before retryExchange and fetchExchange: retryExchange re-dispatches the operation it saw, which
 * already carries the key in its context, so retries keep it. A key passed as
 * `executeMutation(vars, { idempotencyKey })` is used as is.
 */
export function idempotencyExchange(options: GraphQLClientKeyOptions = {}): Exchange {
  const generateKey = options.generateKey ?? createIdempotencyKey;
  return mapExchange({
    onOperation(operation: Operation) {
      if (operation.kind !== 'mutation') return operation;
      const context = operation.context as Operation['context'] & { [IDEMPOTENCY_KEY_CONTEXT]?: string };
      const key = context[IDEMPOTENCY_KEY_CONTEXT] ?? generateKey();
      const nextContext: Operation['context'] = { ...context, [IDEMPOTENCY_KEY_CONTEXT]: key };
      if (usesHeader(options.transport)) {
        const base = typeof context.fetchOptions === 'function' ? context.fetchOptions() : (context.fetchOptions ?? {});
        const headers = new Headers(base.headers);
        headers.set(IDEMPOTENCY_KEY_HEADER, key);
        nextContext.fetchOptions = { ...base, headers: Object.fromEntries(headers) };
      }
      const request = usesExtensions(options.transport)
        ? { ...operation, extensions: { ...operation.extensions, [IDEMPOTENCY_KEY_EXTENSION]: key } }
        : operation;
      return makeOperation(operation.kind, request, nextContext);
    },
  });
}
