import { ApolloLink } from '@apollo/client';
import { IDEMPOTENCY_KEY_CONTEXT, IDEMPOTENCY_KEY_EXTENSION, IDEMPOTENCY_KEY_HEADER } from '../protocol/names.js';
import { createIdempotencyKey } from './key.js';
import { type GraphQLClientKeyOptions, usesExtensions, usesHeader } from './transport.js';

/**
 * An Apollo Client 4 link that gives every mutation an idempotency key, and nothing else one.
 * A key passed as `mutate({ context: { idempotencyKey } })` is used as is (re-submits of the same
 * form); otherwise each mutate() call gets a new key. RetryLink re-sends the same operation, whose
 * context already holds the key, so retries keep it wherever this link sits in the chain.
 */
export function createIdempotencyLink(options: GraphQLClientKeyOptions = {}): ApolloLink {
  const generateKey = options.generateKey ?? createIdempotencyKey;
  return new ApolloLink((operation, forward) => {
    if (operation.operationType !== 'mutation') return forward(operation);
    const context = operation.getContext() as { headers?: Record<string, string>; [IDEMPOTENCY_KEY_CONTEXT]?: string };
    const key = context[IDEMPOTENCY_KEY_CONTEXT] ?? generateKey();
    operation.setContext({
      [IDEMPOTENCY_KEY_CONTEXT]: key,
      ...(usesHeader(options.transport) ? { headers: { ...context.headers, [IDEMPOTENCY_KEY_HEADER]: key } } : {}),
    });
    if (usesExtensions(options.transport)) operation.extensions[IDEMPOTENCY_KEY_EXTENSION] = key;
    return forward(operation);
  });
}
