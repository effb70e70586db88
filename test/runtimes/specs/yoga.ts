/** The Envelop plugin in GraphQL Yoga, driven through yoga.fetch (no server, no socket). */
import { createSchema, createYoga } from 'graphql-yoga';
import { GLOBAL_TENANT, MemoryStore } from 'oncely';
import { useIdempotency } from 'oncely/envelop';
import { equal, freshKey, ok, spec } from '../harness.js';

function yogaApp() {
  const runs = { pay: 0 };
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: /* GraphQL */ `
        type Query { hello: String! }
        type Payment { id: ID!, amount: Int! }
        type Mutation { pay(amount: Int!): Payment! }
      `,
      resolvers: {
        Query: { hello: () => 'world' },
        Mutation: { pay: (_: unknown, { amount }: { amount: number }) => ({ id: `pay_${++runs.pay}`, amount }) },
      },
    }),
    plugins: [useIdempotency({ store: new MemoryStore(), getTenant: () => GLOBAL_TENANT })],
    logging: false,
  });
  const pay = (key: string, amount: number) =>
    yoga.fetch('http://yoga.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ query: 'mutation Pay($amount: Int!) { pay(amount: $amount) { id amount } }', variables: { amount } }),
    });
  return { runs, pay };
}

interface GraphQLBody {
  data?: { pay?: { id: string; amount: number } } | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

spec('yoga: a mutation runs once; the retry with the same key replays it', async () => {
  const { runs, pay } = yogaApp();
  const key = freshKey('yoga');
  const first = await pay(key, 4200);
  equal(first.status, 200, 'first status');
  const firstBody = (await first.json()) as GraphQLBody;
  equal(firstBody.data?.pay?.id, 'pay_1');
  equal(first.headers.get('idempotent-replayed'), null, 'first answer is not marked replayed');
  const retry = await pay(key, 4200);
  equal(retry.status, 200, 'retry status');
  equal(retry.headers.get('idempotent-replayed'), 'true', 'retry marked replayed');
  const retryBody = (await retry.json()) as GraphQLBody;
  equal(retryBody.data?.pay?.id, 'pay_1', 'retry got the first payment');
  equal(runs.pay, 1, 'resolver runs');
});

spec('yoga: the same key with other variables gets 422 (IDEMPOTENCY_KEY_REUSED)', async () => {
  const { runs, pay } = yogaApp();
  const key = freshKey('yoga-reuse');
  await (await pay(key, 1)).text();
  const reused = await pay(key, 2);
  equal(reused.status, 422, 'status');
  const body = (await reused.json()) as GraphQLBody;
  ok(body.errors?.some((e) => e.extensions?.code === 'IDEMPOTENCY_KEY_REUSED'), `errors name the code: ${JSON.stringify(body.errors)}`);
  equal(runs.pay, 1, 'resolver runs');
});
