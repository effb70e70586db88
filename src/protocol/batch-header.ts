/**
 * The batch key header format between a tRPC client (oncely/client/trpc) and the oncely middleware.
 *
 * - One call (httpLink, or a batch of one): `Idempotency-Key: <key>`.
 * - A batch (httpBatchLink): `Idempotency-Keys: {"0":"key-a","2":"key-c"}`, a JSON object from
 *   the call's batch index (a canonical decimal: "0", "1", "12", never "01") to its key. Calls
 *   left out have no key from the header (queries need none). JSON because keys may contain any
 *   printable ASCII, commas and quotes included.
 * - Replay marker: `Idempotent-Replayed: true` on a single-call request whose call was replayed,
 *   with its key echoed in `Idempotency-Key`; on a batch request `Idempotent-Replayed-Calls: 0,2`,
 *   the sorted batch indexes of the calls that were replayed, with their keys echoed in
 *   `Idempotency-Keys` (the request header's format, replayed calls only; both absent when no
 *   call was replayed).
 */

/** A malformed `Idempotency-Keys` or `Idempotent-Replayed-Calls` value. */
export class BatchHeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BatchHeaderError';
  }
}

const INDEX = /^(0|[1-9][0-9]{0,5})$/;

/** Builds the `Idempotency-Keys` value from keys by batch index (an array may have holes). */
export function formatBatchKeysHeader(keys: ReadonlyArray<string | undefined> | ReadonlyMap<number, string>): string {
  const out: Record<string, string> = {};
  const entries = keys instanceof Map ? [...keys.entries()] : [...(keys as ReadonlyArray<string | undefined>).entries()];
  for (const [index, key] of entries) {
    if (key === undefined) continue;
    if (!Number.isInteger(index) || index < 0) throw new BatchHeaderError(`Batch index ${index} is not a non-negative integer.`);
    out[String(index)] = key;
  }
  return JSON.stringify(out);
}

/**
 * Parses an `Idempotency-Keys` value into keys by batch index. Strict: anything but a JSON object
 * of canonical indexes to strings throws BatchHeaderError (the server answers BAD_REQUEST). Key
 * syntax itself (length, characters) is checked later by the engine, like any other key.
 */
export function parseBatchKeysHeader(value: string): Map<number, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new BatchHeaderError('The Idempotency-Keys header must be a JSON object from batch index to key, e.g. {"0":"key-a"}.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BatchHeaderError('The Idempotency-Keys header must be a JSON object from batch index to key, e.g. {"0":"key-a"}.');
  }
  const keys = new Map<number, string>();
  for (const [index, key] of Object.entries(parsed)) {
    if (!INDEX.test(index)) throw new BatchHeaderError(`Idempotency-Keys: "${index.slice(0, 20)}" is not a batch index.`);
    if (typeof key !== 'string') throw new BatchHeaderError(`Idempotency-Keys: the key of call ${index} must be a string.`);
    keys.set(Number(index), key);
  }
  return keys;
}

/** Builds the `Idempotent-Replayed-Calls` value. */
export function formatReplayedCallsHeader(indexes: Iterable<number>): string {
  return [...new Set(indexes)].sort((a, b) => a - b).join(',');
}

/** Parses `Idempotent-Replayed-Calls` into the set of replayed batch indexes ('' or null: none). */
export function parseReplayedCallsHeader(value: string | null | undefined): Set<number> {
  const out = new Set<number>();
  if (!value) return out;
  for (const part of value.split(',')) {
    const index = part.trim();
    if (!INDEX.test(index)) throw new BatchHeaderError(`Idempotent-Replayed-Calls: "${index.slice(0, 20)}" is not a batch index.`);
    out.add(Number(index));
  }
  return out;
}
