import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { GraphQLError } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { classifyFailure } from '../../src/client/failure.js';
import { MemoryStore } from '../../src/core/memory-store.js';
import { GLOBAL_TENANT } from '../../src/core/engine.js';
import { useIdempotency } from '../../src/envelop/index.js';
import { RPC_ERROR_STATUS, isRetryableStatus } from '../../src/protocol/index.js';

// The invariant of the wire contract for GraphQL, with the real Yoga plugin in process: for any
// operation whose root fields succeed, fail as the resolver meant (any code, any HTTP status) or
// fail unexpectedly (masked INTERNAL_SERVER_ERROR), what a client retries the server did not store.
// "Stored" is observed, not assumed: the same request again with the same key is replayed.

type Behaviour = { kind: 'ok' } | { kind: 'unexpected' } | { kind: 'expected'; code?: string; status?: number };

const CODES = [...Object.keys(RPC_ERROR_STATUS), 'IDEMPOTENCY_KEY_IN_USE', 'IDEMPOTENCY_STORE_UNAVAILABLE', 'BAD_USER_INPUT', 'DECLINED'];

const behaviour: fc.Arbitrary<Behaviour> = fc.oneof(
  fc.constant({ kind: 'ok' as const }),
  fc.constant({ kind: 'unexpected' as const }),
  fc.record(
    { kind: fc.constant('expected' as const), code: fc.constantFrom(...CODES), status: fc.integer({ min: 400, max: 599 }) },
    { requiredKeys: ['kind'] },
  ),
);

function app() {
  let runs = 0;
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: /* GraphQL */ `
        type Query { hello: String }
        type Mutation { act(behaviour: String!): String }
      `,
      resolvers: {
        Mutation: {
          act: (_: unknown, args: { behaviour: string }) => {
            runs++;
            const b = JSON.parse(args.behaviour) as Behaviour;
            if (b.kind === 'ok') return 'done';
            if (b.kind === 'unexpected') throw new Error('database hiccup');
            const extensions: Record<string, unknown> = {};
            if (b.code) extensions.code = b.code;
            if (b.status) extensions.http = { status: b.status };
            throw new GraphQLError('refused', { extensions });
          },
        },
      },
    }),
    logging: false,
    plugins: [useIdempotency({ store: new MemoryStore(), getTenant: () => GLOBAL_TENANT })],
  });
  return { yoga, runs: () => runs };
}

async function send(yoga: ReturnType<typeof createYoga>, key: string, behaviours: Behaviour[]) {
  const fields = behaviours.map((b, i) => `r${i}: act(behaviour: ${JSON.stringify(JSON.stringify(b))})`).join('\n');
  const response = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', 'idempotency-key': key },
    body: JSON.stringify({ query: `mutation {\n${fields}\n}` }),
  });
  const body = (await response.json()) as { data?: Record<string, unknown> | null; errors?: Array<{ extensions?: Record<string, unknown> }> };
  return { status: response.status, replayed: response.headers.get('idempotent-replayed') === 'true', body };
}

describe('protocol, GraphQL: whatever a client retries, the Yoga plugin never stored', () => {
  it('holds for operations of one to three root fields with any mix of outcomes', async () => {
    const { yoga } = app();
    await fc.assert(
      fc.asyncProperty(fc.array(behaviour, { minLength: 1, maxLength: 3 }), async (behaviours) => {
        const key = randomUUID();
        const first = await send(yoga, key, behaviours);
        const again = await send(yoga, key, behaviours);
        const stored = again.replayed;
        if (stored) expect(again.body).toEqual(first.body);
        if (!first.body.errors?.length) return;
        // How the failure reaches the app: Apollo 4 (CombinedGraphQLErrors: errors and data, no
        // status), urql (CombinedError: graphQLErrors and the Response), plain fetch (the status).
        const views = [
          { errors: first.body.errors, data: first.body.data },
          { graphQLErrors: first.body.errors, response: { status: first.status } },
        ];
        for (const view of views) {
          if (classifyFailure(view) === 'retryable') expect({ stored, view }).toMatchObject({ stored: false });
        }
        if (isRetryableStatus(first.status)) expect({ stored, status: first.status }).toMatchObject({ stored: false });
      }),
      { numRuns: 150 },
    );
  });

  it('a stored partial result (one root completed, one failed unexpectedly) is definitive for clients, and replayed as sent', async () => {
    const { yoga, runs } = app();
    const key = randomUUID();
    const behaviours: Behaviour[] = [{ kind: 'ok' }, { kind: 'unexpected' }];
    const first = await send(yoga, key, behaviours);
    expect(first.body.data).toEqual({ r0: 'done', r1: null });
    expect(first.body.errors).toEqual([
      expect.objectContaining({ path: ['r1'], extensions: { code: 'INTERNAL_SERVER_ERROR', idempotency: { stored: true } } }),
    ]);
    expect(classifyFailure({ errors: first.body.errors, data: first.body.data })).toBe('definitive');
    expect(classifyFailure({ graphQLErrors: first.body.errors, response: { status: first.status } })).toBe('definitive');
    const again = await send(yoga, key, behaviours);
    expect(again.replayed).toBe(true);
    expect(again.body).toEqual(first.body);
    expect(runs()).toBe(2);

    // Every root failed unexpectedly: released, and the client retries it (the retry runs again).
    const released = await send(yoga, randomUUID(), [{ kind: 'unexpected' }]);
    expect(released.body.errors?.[0]?.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(classifyFailure({ errors: released.body.errors, data: released.body.data })).toBe('retryable');
  });
});
