// The Yoga quickstart of docs/envelop.md, from the installed package, on the database of --url=
// (SQLite, PostgreSQL or MariaDB). The shipped migration is applied by reading
// node_modules/oncely/prisma/<provider>/migrations/*/migration.sql, as a user without the Prisma
// CLI's migrate would (on MariaDB that migration is what makes the table utf8mb4_bin).
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { createSchema, createYoga, type YogaInitialContext } from 'graphql-yoga';
import { idempotentDirectiveTypeDefs, useIdempotency } from 'oncely/envelop';
import { PrismaStore } from 'oncely/prisma';
import { argument, openDatabase } from './db.js';

const { prisma, provider } = await openDatabase(argument('url'));
const migrations = join(dirname(createRequire(import.meta.url).resolve('oncely/package.json')), 'prisma', provider, 'migrations');
for (const name of readdirSync(migrations).filter((entry) => !entry.endsWith('.toml')).sort()) {
  const sql = readFileSync(join(migrations, name, 'migration.sql'), 'utf8');
  for (const statement of sql.split(';').map((s) => s.replace(/^\s*--.*$/gm, '').trim()).filter(Boolean)) {
    await prisma.$executeRawUnsafe(statement);
  }
}

const typeDefs = /* GraphQL */ `
  type Payment { id: Int!, orderId: String!, amount: Int! }
  type Query { paymentCount: Int! }
  type Mutation { payOrder(orderId: String!, amount: Int!): Payment! }
`;
const resolvers = {
  Query: { paymentCount: () => prisma.payment.count() },
  Mutation: {
    payOrder: (_: unknown, { orderId, amount }: { orderId: string; amount: number }) =>
      prisma.payment.create({ data: { orderId, amount } }),
  },
};

const yoga = createYoga({
  schema: createSchema({ typeDefs: [idempotentDirectiveTypeDefs, typeDefs], resolvers }),
  logging: false,
  plugins: [
    useIdempotency<YogaInitialContext>({
      store: new PrismaStore({ client: prisma }),
      getTenant: ({ request }) => request.headers.get('x-tenant') ?? 'acme',
      required: true,
    }),
  ],
});
const server = createServer(yoga).listen(0, '127.0.0.1', () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});
