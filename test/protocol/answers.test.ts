import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY, type TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyFailure } from '../../src/client/failure.js';
import { IdempotencyError, type IdempotencyErrorCode, httpStatusOf } from '../../src/core/errors.js';
import { defaultStorePolicy } from '../../src/core/outcome.js';
import { defaultFieldPolicy, toGraphQLError } from '../../src/envelop/errors.js';
import { IDEMPOTENCY_ERROR_STATUS, RPC_ERROR_STATUS, isDeterministicClientStatus, isRetryableStatus, statusOfCode } from '../../src/protocol/index.js';
import { STORED_ERROR_CODES, storeTrpcOutcome, toTRPCError } from '../../src/trpc/errors.js';

// The invariant of the wire contract: whatever a client retries with the same key, the server did
// not store (a retry of a stored answer only replays it, and the key would never settle).

const TRPC_CODES = Object.keys(TRPC_ERROR_CODES_BY_KEY) as TRPC_ERROR_CODE_KEY[];
const CORE_CODES = Object.keys(httpStatusOf) as IdempotencyErrorCode[];
const trpcStatus = (code: TRPC_ERROR_CODE_KEY) => getHTTPStatusCodeFromError(new TRPCError({ code }));
/** What @trpc/client's TRPCClientError carries: `data.code` and `data.httpStatus`. */
const trpcClientError = (code: TRPC_ERROR_CODE_KEY) => ({ name: 'TRPCClientError', data: { code, httpStatus: trpcStatus(code) } });
const retried = (error: unknown) => classifyFailure(error) === 'retryable';

describe('protocol: whatever a client retries, the server never stored', () => {
  it('for every HTTP status 100-599 (fetch answers, errors with a status)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), (status) => {
        const stored = defaultStorePolicy({ ok: false, error: Object.assign(new Error('x'), { status }) });
        for (const client of [{ status }, { statusCode: status }, { response: { status } }, { networkError: { statusCode: status } }]) {
          if (retried(client)) expect(stored).toBe(false);
        }
        if (isRetryableStatus(status)) expect(stored).toBe(false);
        // Both sides agree on every status that is not a "change something first" one.
        if (![401, 403, 423].includes(status) && status >= 400) expect(stored).toBe(!isRetryableStatus(status));
      }),
      { numRuns: 500 },
    );
    for (let status = 100; status <= 599; status++) {
      if (isRetryableStatus(status)) expect(isDeterministicClientStatus(status), String(status)).toBe(false);
    }
  });

  it.each(TRPC_CODES)('for the tRPC code %s (stored by the middleware vs retried by @trpc/client users)', (code) => {
    const stored = storeTrpcOutcome({ ok: false, error: new TRPCError({ code }) });
    expect(STORED_ERROR_CODES.has(code)).toBe(stored);
    if (retried(trpcClientError(code))) expect(stored).toBe(false);
    // A GraphQL server may use the same code in extensions.code.
    if (retried({ graphQLErrors: [{ extensions: { code } }] })) expect(stored).toBe(false);
  });

  it.each(CORE_CODES)('for the core code %s, through every adapter', (code) => {
    const error = new IdempotencyError(code, 'x');
    const stored = [
      defaultStorePolicy({ ok: false, error }),
      storeTrpcOutcome({ ok: false, error: toTRPCError(error) }),
      defaultFieldPolicy({ ok: false, error: toGraphQLError(error) }),
    ];
    const trpc = toTRPCError(error);
    const clientViews = [
      { graphQLErrors: [{ extensions: { code } }] },
      { errors: [{ extensions: { code } }] },
      trpcClientError(trpc.code),
      { status: error.status },
    ];
    if (clientViews.some(retried)) expect(stored).toEqual([false, false, false]);
    expect(statusOfCode(code)).toBe(error.status);
  });
});

describe('protocol: derived tables', () => {
  it("tRPC's stored codes, derived from tRPC's statuses and the protocol's rule, are the list they always were", () => {
    expect([...STORED_ERROR_CODES].sort()).toEqual(
      [
        'PARSE_ERROR',
        'BAD_REQUEST',
        'PAYMENT_REQUIRED',
        'NOT_FOUND',
        'METHOD_NOT_SUPPORTED',
        'PRECONDITION_FAILED',
        'PAYLOAD_TOO_LARGE',
        'UNSUPPORTED_MEDIA_TYPE',
        'UNPROCESSABLE_CONTENT',
        'PRECONDITION_REQUIRED',
      ].sort(),
    );
  });

  it("the protocol's RPC code table (clients cannot load @trpc/server) is tRPC v11's", () => {
    expect(Object.keys(RPC_ERROR_STATUS).sort()).toEqual([...TRPC_CODES].sort());
    for (const code of TRPC_CODES) expect(RPC_ERROR_STATUS[code], code).toBe(trpcStatus(code));
  });

  it("the core's statuses are the protocol's", () => {
    expect(httpStatusOf).toEqual(IDEMPOTENCY_ERROR_STATUS);
  });

  it('the codes a client retries: the two core codes and the RPC codes of retryable statuses', () => {
    const all = [...CORE_CODES, ...TRPC_CODES];
    expect(all.filter((code) => retried({ graphQLErrors: [{ extensions: { code } }] })).sort()).toEqual(
      [
        'IDEMPOTENCY_KEY_IN_USE',
        'IDEMPOTENCY_STORE_UNAVAILABLE',
        'IDEMPOTENCY_RESPONSE_NOT_STORABLE',
        'IDEMPOTENCY_CONFIGURATION',
        'IDEMPOTENCY_STEP_MISMATCH',
        'TIMEOUT',
        'CONFLICT',
        'TOO_MANY_REQUESTS',
        'CLIENT_CLOSED_REQUEST',
        'INTERNAL_SERVER_ERROR',
        'NOT_IMPLEMENTED',
        'BAD_GATEWAY',
        'SERVICE_UNAVAILABLE',
        'GATEWAY_TIMEOUT',
      ].sort(),
    );
  });
});
