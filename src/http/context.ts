import type { IdempotencyContext } from '../adapter/context.js';

// The context of each request whose key is held, for the handler to find (idempotencyOf).
const contexts = new WeakMap<object, IdempotencyContext>();

export function attachContext(request: object, context: IdempotencyContext): void {
  contexts.set(request, context);
}

/**
 * The idempotency context of a request the handler runs for with a held key: key, fence,
 * `deriveKey`, `step`, `databaseStep`, and `tx` in transactional mode. Undefined for requests
 * that pass through (unguarded methods, no key where none is required).
 */
export function idempotencyOf<Tx = unknown>(request: object): IdempotencyContext<Tx> | undefined {
  return contexts.get(request) as IdempotencyContext<Tx> | undefined;
}
