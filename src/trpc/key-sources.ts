import { isRecord, withoutField } from '../adapter/fingerprint-input.js';
import { ConfigurationError, KeyInvalidError } from '../core/errors.js';
import { BatchHeaderError, parseBatchKeysHeader } from '../protocol/batch-header.js';
import { hasRequestHeaders, requestShape } from './http.js';
import type { CallOptions, Resolved } from './options.js';

/**
 * Finds the raw key of one call. Sources, first match wins:
 * 1. `getKey(opts)`, when given and not undefined or null;
 * 2. the input field (default `idempotencyKey`) of the raw input;
 * 3. this call's entry in the batch header (`Idempotency-Keys`);
 * 4. the single-call header (`Idempotency-Key`), unless the request is a batch of several calls:
 *    one key for several operations would be ambiguous.
 * Returns undefined when no source has a key. Validation of the key itself is the engine's job.
 */
export async function findKey(opts: CallOptions, rawInput: unknown, config: Resolved): Promise<unknown> {
  if (config.getKey) {
    const key = await config.getKey(opts);
    if (key !== undefined && key !== null) return key;
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
      // Strict, like the header's syntax: a key for a call the request does not have is a client
      // mistake (an off-by-one batch index would otherwise leave a call unprotected).
      const calls = requestShape(opts).calls;
      const stray = calls === undefined ? undefined : [...keys.keys()].find((index) => index >= calls);
      if (stray !== undefined) {
        throw new KeyInvalidError(`Idempotency-Keys names call ${stray}, but the request has ${calls} call${calls === 1 ? '' : 's'} (indexes from 0).`);
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

/**
 * When no key was found for a call that needs one: a configuration error if the key headers are
 * a source but the context gives the default reader no request headers at all. The client may
 * well have sent the key; answering "key required" would blame it for the server's createContext.
 */
export function unreadableKeyError(opts: CallOptions, config: Resolved): ConfigurationError | undefined {
  const headers = [config.header, config.batchHeader].filter((name): name is string => name !== false);
  if (headers.length === 0 || !config.defaultHeaderReader || hasRequestHeaders(opts)) return undefined;
  const alternatives = [
    ...(config.inputField === false ? [] : [`send the key in the \`${config.inputField}\` input field`]),
    'pass `getKey(opts)` (or `getHeader(opts, name)`) to the middleware',
  ];
  return new ConfigurationError(
    `oncely/trpc: cannot read the idempotency key of "${opts.path}": the context has no request headers (neither ctx.req.headers nor ctx.headers), so its ${headers.join(' and ')} headers are invisible to the middleware. ` +
      `Return \`req\` (or \`headers\`) from createContext, e.g. \`createContext: ({ req, res, info }) => ({ req, res, info, ... })\`; or ${alternatives.join(', or ')}.`,
  );
}

/** The input as fingerprinted: the key field left out, since the key is not part of the payload. */
export function fingerprintInput(rawInput: unknown, config: Resolved): unknown {
  return withoutField(rawInput, config.inputField);
}
