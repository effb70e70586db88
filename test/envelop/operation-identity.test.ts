import fc from 'fast-check';
import { parse, print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/index.js';
import { newKey, post, startYogaApp, type GqlRequest, type YogaApp } from './helpers.js';

// The class behind issue 11, defect 4: an operation-level key names one logical operation. Whatever
// two requests a client sends with one key, the second either replays (same operation name, same
// printed document, same variables), is refused with 422 (same operation name, anything else
// differs) or, under another operation name, is another record and runs. It never runs the same
// named operation twice.

interface Form {
  name: 'Pay' | 'PayAgain' | undefined;
  inline: boolean;
  orderId: string;
  amount: number;
  selection: string[];
  /** Separators between tokens: whitespace, commas and comments, all insignificant in GraphQL. */
  noise: string[];
}

const SEPARATORS = [' ', '\n  ', ' , ', '\t', ' # a comment\n', '\n# another, with "quotes"\n'];

function render(form: Form): GqlRequest {
  const head = form.name === undefined ? ['mutation'] : ['mutation', form.name];
  const definitions = form.inline ? [] : ['(', '$orderId', ':', 'String!', ',', '$amount', ':', 'Int!', ')'];
  const args = form.inline ? [JSON.stringify(form.orderId), String(form.amount)] : ['$orderId', '$amount'];
  const tokens = [
    ...head,
    ...definitions,
    '{',
    'pay',
    '(',
    'input',
    ':',
    '{',
    'orderId',
    ':',
    args[0]!,
    'amount',
    ':',
    args[1]!,
    '}',
    ')',
    '{',
    ...form.selection,
    '}',
    '}',
  ];
  const query = tokens.map((token, i) => `${token}${form.noise[i % form.noise.length] ?? ' '}`).join('');
  return form.inline ? { query } : { query, variables: { orderId: form.orderId, amount: form.amount } };
}

const form: fc.Arbitrary<Form> = fc.record({
  name: fc.constantFrom('Pay' as const, 'PayAgain' as const, undefined),
  inline: fc.boolean(),
  orderId: fc.constantFrom('o1', 'o2'),
  amount: fc.constantFrom(1, 2),
  selection: fc.shuffledSubarray(['id', 'orderId', 'amount', 'chargeKey'], { minLength: 1 }),
  noise: fc.array(fc.constantFrom(...SEPARATORS), { minLength: 1, maxLength: 6 }),
});

const noise = fc.array(fc.constantFrom(...SEPARATORS), { minLength: 1, maxLength: 6 });

/** Two requests: unrelated, the same one reformatted, or the same one with arguments inlined/lifted. */
const pair: fc.Arbitrary<[Form, Form]> = form.chain((a) =>
  fc.tuple(
    fc.constant(a),
    fc.oneof(
      form,
      noise.map((n) => ({ ...a, noise: n })),
      noise.map((n) => ({ ...a, inline: !a.inline, noise: n })),
    ),
  ),
);

/** What the fingerprint covers, computed from the request as the spec states it. */
function logical(request: GqlRequest) {
  const document = parse(request.query);
  // render() always writes the variables in the same key order.
  return JSON.stringify({ document: print(document), variables: request.variables ?? {} });
}

describe('property: one key, two requests, the default operation identity', () => {
  // The identity is the adapter's: in process, on MemoryStore.
  let server: YogaApp;
  beforeAll(async () => {
    server = await startYogaApp({ store: new MemoryStore(), getTenant: () => 'shop' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('replays the same operation however it is formatted, refuses any other document under the same name, never runs a name twice', async () => {
    await fc.assert(
      fc.asyncProperty(pair, async ([a, b]) => {
        const key = newKey('prop');
        const first = render(a);
        const second = render(b);
        const before = server.calls.pay;
        const ran = await post(server, first, { 'Idempotency-Key': key });
        expect(ran.status, first.query).toBe(200);
        expect(server.calls.pay).toBe(before + 1);
        const retry = await post(server, second, { 'Idempotency-Key': key });
        const context = `${first.query} / ${second.query}`;
        if (a.name !== b.name) {
          expect(retry.status, context).toBe(200);
          expect(retry.headers.get('idempotent-replayed'), context).toBeNull();
          expect(server.calls.pay).toBe(before + 2);
        } else if (logical(first) === logical(second)) {
          expect(retry.text, context).toBe(ran.text);
          expect(retry.headers.get('idempotent-replayed'), context).toBe('true');
          expect(server.calls.pay).toBe(before + 1);
        } else {
          expect(retry.status, context).toBe(422);
          expect(retry.json.errors[0].extensions, context).toEqual({ code: 'IDEMPOTENCY_KEY_REUSED' });
          expect(server.calls.pay).toBe(before + 1);
        }
      }),
      { numRuns: 40 },
    );
  });
});
