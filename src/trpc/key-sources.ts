import { KeyInvalidError } from '../core/errors.js';
import { BatchHeaderError, parseBatchKeysHeader } from './batch-header.js';
import { requestShape } from './http.js';
import type { CallOptions, Resolved } from './options.js';

/**
 * Finds the raw key of one call. Sources, first match wins:
 * 1. `getKey(opts)`, when given and not undefined;
 * 2. the input field (default `idempotencyKey`) of the raw input;
 * 3. this call's entry in the batch header (`Idempotency-Keys`);
 * 4. the single-call header (`Idempotency-Key`), unless the request is a batch of several calls:
 *    one key for several operations would be ambiguous.
 * Returns undefined when no source has a key. Validation of the key itself is the engine's job.
 */
export async function findKey(opts: CallOptions, rawInput: unknown, config: Resolved): Promise<unknown> {
  if (config.getKey) {
    const key = await config.getKey(opts);
    if (key !== undefined) return key;
  }
  if (config.inputField !== false && isRecord(rawInput) && rawInput[config.inputField] !== undefined) {
    return rawInput[config.inputField];
  }
  if (config.batchHeader !== false) {
    const value = config.getHeader(opts, config.batchHeader);
    if (value !== undefined && value !== null) {
      let keys: Map<number, string>;
      try {
        keys = parseBatchKeysHeader(value);
      } catch (error) {
        // A malformed header is the client's mistake: BAD_REQUEST, like an invalid key.
        throw new KeyInvalidError(error instanceof BatchHeaderError ? error.message : 'Malformed Idempotency-Keys header.');
      }
      const key = keys.get(opts.batchIndex);
      if (key !== undefined) return key;
    }
  }
  if (config.header !== false) {
    const value = config.getHeader(opts, config.header);
    if (value !== undefined && value !== null) {
      const shape = requestShape(opts);
      if (shape.batch && (shape.calls ?? 1) > 1) {
        throw new KeyInvalidError(
          'One Idempotency-Key header cannot serve a batch of several calls; send Idempotency-Keys with one key per batch index.',
        );
      }
      return value;
    }
  }
  return undefined;
}

/** The input as fingerprinted: the key field left out, since the key is not part of the payload. */
export function fingerprintInput(rawInput: unknown, config: Resolved): unknown {
  if (config.inputField === false || !isRecord(rawInput) || !(config.inputField in rawInput)) return rawInput;
  const { [config.inputField]: _key, ...rest } = rawInput;
  return rest;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
