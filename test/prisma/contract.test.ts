import { afterAll, describe, it } from 'vitest';
import { MemoryStore } from '../../src/index.js';
import type { PrismaStore } from '../../src/prisma/index.js';
import { runStoreContract } from '../../src/testing/index.js';
import { type PrismaLike, freshStore, testDatabases } from '../support/databases.js';

runStoreContract({ name: 'MemoryStore', store: () => new MemoryStore(), describe, it });

for (const db of testDatabases()) {
  let ready: Promise<{ client: PrismaLike; store: PrismaStore }> | undefined;
  const store = async () => {
    ready ??= freshStore(db);
    return (await ready).store;
  };
  runStoreContract({ name: `PrismaStore on ${db.name}`, store, describe, it });
  afterAll(async () => {
    if (ready) await (await ready).client.$disconnect();
  });
}
