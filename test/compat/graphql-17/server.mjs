// A GraphQL Yoga server on graphql 17 with the built oncely Envelop plugin and a memory store,
// started by graphql-17.test.ts (node --import ./register.mjs server.mjs). It prints one JSON
// line with its URL and the graphql version oncely was given, and counts resolver executions.
import { createServer } from 'node:http';
import { GraphQLError, version } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { GLOBAL_TENANT, MemoryStore } from '../../../dist/index.js';
import { idempotentDirectiveTypeDefs, useIdempotency } from '../../../dist/envelop.js';

const calls = { pay: 0, decline: 0, charge: 0 };
let seq = 0;

const typeDefs = /* GraphQL */ `
  type Query { calls: Calls! }
  type Calls { pay: Int!, decline: Int!, charge: Int! }
  type Payment { id: ID!, amount: Int! }
  type Mutation {
    pay(amount: Int!): Payment!
    decline(amount: Int!): Payment
    charge(amount: Int!, idempotencyKey: String): Payment!
  }
`;

const resolvers = {
  Query: { calls: () => ({ ...calls }) },
  Mutation: {
    pay: (_, { amount }) => {
      calls.pay++;
      return { id: `pay_${++seq}`, amount };
    },
    decline: () => {
      calls.decline++;
      throw new GraphQLError('card declined', { extensions: { code: 'CARD_DECLINED', http: { status: 402 } } });
    },
    charge: (_, { amount }) => {
      calls.charge++;
      return { id: `charge_${++seq}`, amount };
    },
  },
};

const yoga = createYoga({
  schema: createSchema({ typeDefs: [idempotentDirectiveTypeDefs, typeDefs], resolvers }),
  // Only keyed mutations here; an unkeyed one simply runs.
  plugins: [useIdempotency({ store: new MemoryStore(), getTenant: () => GLOBAL_TENANT, required: false })],
  logging: false,
});

const server = createServer(yoga);
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/graphql`, graphql: version })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
