/** Where oncely's servers look for keys; the client helpers write the same places. */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
/** GraphQL request `extensions` field (per operation, survives Yoga batching). */
export const IDEMPOTENCY_KEY_EXTENSION = 'idempotencyKey';
/** Field of a link's / exchange's operation context that carries a caller-chosen key. */
export const IDEMPOTENCY_KEY_CONTEXT = 'idempotencyKey';
/** Response header set on replayed answers. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';
