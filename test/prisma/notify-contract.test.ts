/**
 * The store contract on PostgreSQL with `notify`: completions and releases are then other
 * statements (a CTE NOTIFYing over the UPDATE/DELETE), which must keep every promise the plain
 * ones keep (token fencing, true/false answers).
 */
import { afterAll, describe, it } from 'vitest';
import { PrismaStore } from '../../src/prisma/index.js';
import { runStoreContract } from '../../src/testing/index.js';
import { type PrismaLike, freshStore, testDatabases } from '../support/databases.js';
import { services } from '../support/services.js';

const postgres = testDatabases().find((db) => db.name === 'postgresql');
if (postgres) {
  let ready: Promise<{ client: PrismaLike; store: PrismaStore }> | undefined;
  const store = async () => {
    ready ??= freshStore(postgres).then(({ client, table }) => ({
      client,
      store: new PrismaStore({ client, table, notify: { connectionString: services.postgres.url } }),
    }));
    return (await ready).store;
  };
  runStoreContract({ name: 'PrismaStore on postgresql with notify', store, describe, it });
  afterAll(async () => {
    if (!ready) return;
    const { client, store: opened } = await ready;
    await opened.close();
    await client.$disconnect();
  });
}
