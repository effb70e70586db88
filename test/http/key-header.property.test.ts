import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyInvalidError, MemoryStore, validateKey } from '../../src/index.js';
import { idempotent, parseKeyHeader } from '../../src/http/index.js';

/**
 * An oracle written apart from the parser: the key a header value stands for, or undefined when
 * the request must be refused (400). RFC 8941 sf-string (with parameters) when the value starts
 * with a quote, else the bare value; then the core's key rules.
 */
const SF_STRING = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"((?:;\x20*[a-z*][a-z0-9_\-.*]*(?:=(?:-?\d{1,12}\.\d{1,3}|-?\d{1,15}|"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"|[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*|:[A-Za-z0-9+/=]*:|\?[01]))?)*)$/;

function oracle(value: string): string | undefined {
  const trimmed = value.replace(/^ +| +$/g, '');
  let key = trimmed;
  if (trimmed.startsWith('"')) {
    const match = SF_STRING.exec(trimmed);
    if (!match) return undefined;
    key = match[1]!.replace(/\\(["\\])/g, '$1');
  }
  try {
    return validateKey(key);
  } catch {
    return undefined;
  }
}

const pieces = fc.oneof(
  fc.constantFrom('"', '\\', ' ', '\t', '\0', ';', '=', ',', 'a', 'Z', '9', '-', 'é', '€', '\u{1F600}', '\x7f', '\x1f', ';v=1', ';a="x"', '?1', ':AQ==:', 'k', 'K'),
  fc.string({ unit: 'grapheme-ascii', maxLength: 4 }),
  fc.string({ unit: 'binary', maxLength: 2 }),
  fc.constant('x'.repeat(250)),
);
const headerValue = fc.array(pieces, { maxLength: 12 }).map((parts) => parts.join(''));

function headersAccept(value: string): boolean {
  try {
    new Headers({ 'Idempotency-Key': value });
    return true;
  } catch {
    return false;
  }
}

describe('Idempotency-Key header values, hostile', () => {
  it('parseKeyHeader plus the core agree with the oracle on every value, and fail only with KeyInvalidError', () => {
    fc.assert(
      fc.property(headerValue, (value) => {
        let got: string | undefined;
        try {
          got = validateKey(parseKeyHeader(value));
        } catch (error) {
          expect(error).toBeInstanceOf(KeyInvalidError);
          got = undefined;
        }
        expect(got).toBe(oracle(value));
      }),
      { numRuns: 3000 },
    );
  });

  it('through the handler: never a 500, never an execution for an invalid key, and a valid key is the oracle\'s', async () => {
    let runs = 0;
    const handler = idempotent(async () => {
      runs += 1;
      return new Response('ran', { status: 201 });
    }, { store: new MemoryStore() });
    let sent = 0;
    let refusedByHeaders = 0;
    await fc.assert(
      fc.asyncProperty(headerValue, async (value) => {
        if (!headersAccept(value)) {
          // NUL, CR, LF and characters above U+00FF cannot be sent at all: the runtime refuses them.
          refusedByHeaders += 1;
          expect(() => new Request('http://localhost/', { headers: { 'Idempotency-Key': value } })).toThrow();
          return;
        }
        sent += 1;
        const before = runs;
        const request = new Request('http://localhost/orders', { method: 'POST', headers: { 'Idempotency-Key': value }, body: 'x' });
        const response = await handler(request);
        // Read whole, as a server would: the answer is stored when its body ends.
        await response.text();
        const expected = oracle(request.headers.get('Idempotency-Key')!);
        if (expected === undefined) {
          expect(response.status).toBe(400);
          expect(runs).toBe(before);
          return;
        }
        expect(response.status).toBe(201);
        // The same key sent as a canonical sf-string finds the same record.
        const canonical = `"${expected.replace(/(["\\])/g, '\\$1')}"`;
        const again = await handler(new Request('http://localhost/orders', { method: 'POST', headers: { 'Idempotency-Key': canonical }, body: 'x' }));
        await again.text();
        expect(again.status).toBe(201);
        expect(again.headers.get('idempotent-replayed')).toBe('true');
      }),
      { numRuns: 1500 },
    );
    // Both kinds were generated: the property is not vacuous.
    expect(sent).toBeGreaterThan(500);
    expect(refusedByHeaders).toBeGreaterThan(10);
  });
});
