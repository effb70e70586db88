import { describe, expect, it } from 'vitest';
import { StoredOutcomes } from '../../src/core/stored-outcome.js';
import { defaultSerializer } from '../../src/core/serializer.js';
import type { IdempotencyRecord } from '../../src/core/record.js';

const scope = { tenant: 't', operation: 'op', key: 'k' };
const record = (response: string): IdempotencyRecord => ({
  ...scope, status: 'completed', fingerprint: 'f', token: 'x', fence: 1, leaseExpiresAt: null, response, createdAt: 0, updatedAt: 0, expiresAt: 1,
});
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('trace context in the stored outcome', () => {
  const outcomes = new StoredOutcomes(defaultSerializer, undefined, 1024);

  it('is kept before the outcome and read back with it', async () => {
    const text = await outcomes.encode(scope, { ok: true, value: { paid: 5 } }, TRACEPARENT);
    expect(text.startsWith(`c${TRACEPARENT}\nv`)).toBe(true);
    expect(await outcomes.decodeStored(record(text))).toEqual({ outcome: { ok: true, value: { paid: 5 } }, traceContext: TRACEPARENT });
    expect(await outcomes.decode(record(text))).toEqual({ ok: true, value: { paid: 5 } });
  });

  it('reads records written without one (older versions, telemetry off) as before', async () => {
    const old = await outcomes.encode(scope, { ok: true, value: 'x' });
    expect(old).toBe(`v${defaultSerializer.serialize('x')}`);
    expect(await outcomes.decodeStored(record(old))).toEqual({ outcome: { ok: true, value: 'x' } });
  });

  it('drops a context that could break the format (newline, space, too long) instead of storing it', async () => {
    for (const bad of ['a\nb', 'a b', 'x'.repeat(513), '']) {
      expect(await outcomes.encode(scope, { ok: true, value: 1 }, bad)).toBe(`v${defaultSerializer.serialize(1)}`);
    }
  });

  it('goes through the codec with the outcome, and counts toward the size limit', async () => {
    const reversed = new StoredOutcomes(defaultSerializer, { encode: (t) => [...t].reverse().join(''), decode: (t) => [...t].reverse().join('') }, 1024);
    const text = await reversed.encode(scope, { ok: false, error: Object.assign(new Error('declined'), { status: 402 }) }, TRACEPARENT);
    expect(text.includes(TRACEPARENT)).toBe(false);
    const decoded = await reversed.decodeStored(record(text));
    expect(decoded.traceContext).toBe(TRACEPARENT);
    expect(decoded.outcome.ok).toBe(false);
    const tight = new StoredOutcomes(defaultSerializer, undefined, 60);
    const big = await tight.decodeStored(record(await tight.encode(scope, { ok: true, value: 'y'.repeat(10) }, TRACEPARENT)));
    expect(big.outcome).toMatchObject({ ok: false, error: { code: 'IDEMPOTENCY_RESPONSE_NOT_STORABLE' } });
    expect(big.traceContext).toBe(TRACEPARENT);
  });
});
