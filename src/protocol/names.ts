/**
 * The names on the wire between oncely's clients and servers. HTTP header names are
 * case-insensitive; they are written here as the docs spell them.
 */

/** Request header with the key of one operation (one GraphQL request, one tRPC call). */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
/** Request header with the keys of a tRPC batch (see batch-header.ts). */
export const IDEMPOTENCY_KEYS_HEADER = 'Idempotency-Keys';
/** Response header `true` on a replayed answer; the key is echoed in the key header. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';
/** Response header of a tRPC batch: the batch indexes of the replayed calls (see batch-header.ts). */
export const REPLAYED_CALLS_HEADER = 'Idempotent-Replayed-Calls';

/**
 * The field that carries a key wherever it is not a header: the GraphQL request's `extensions`,
 * the tRPC input, the GraphQL argument of field-level keys, and a client link's operation context.
 */
export const IDEMPOTENCY_KEY_FIELD = 'idempotencyKey';
/** GraphQL request `extensions` field (per operation, survives Yoga batching). */
export const IDEMPOTENCY_KEY_EXTENSION = IDEMPOTENCY_KEY_FIELD;
/** Field of a client link's / exchange's operation context that carries a caller-chosen key. */
export const IDEMPOTENCY_KEY_CONTEXT = IDEMPOTENCY_KEY_FIELD;

/**
 * GraphQL response `extensions` namespace of oncely: on the result, the replay marker of batches
 * (`{ replayed: true, key }`) and of field keys (`{ replayedFields }`); on an error of a stored
 * answer, the stored mark `{ stored: true }` (see answers.ts).
 */
export const IDEMPOTENCY_EXTENSION = 'idempotency';
