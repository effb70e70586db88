import { afterAll, beforeAll, describe, it } from 'vitest';
import { GLOBAL_TENANT, MemoryStore } from '../../src/index.js';
import { runHttpConformance } from '../../src/testing/index.js';
import { type PrismaLike, freshStore, testDatabases } from '../support/databases.js';
import { expressTarget } from './support/express-target.js';
import { honoTarget } from './support/hono-target.js';
import { type Served, serveExpress, serveFetchHandler, serveHono } from './support/servers.js';
import { conformanceTarget } from './support/target.js';

// runHttpConformance against oncely/http (a fetch handler on node:http) with PrismaStore on SQLite
// and PostgreSQL, and oncely/hono and oncely/express with PrismaStore on SQLite, each in reject and
// in wait mode; keys scoped per client by the X-Client header, so the per-client test runs too.
// Two runs with MemoryStore exercise the suite's own options (another header, in process). The
// targets are the shared ones of test/http/support (target.ts, hono-target.ts, express-target.ts).

const CLIENTS = [{ 'x-client': 'alice' }, { 'x-client': 'bob' }] as const;
const MODES = ['reject', 'wait'] as const;

// The suite's own options: another key header, a bigger race, the executions read in process.
describe('oncely/http with header X-Idempotency-Key, MemoryStore', () => {
  const target = conformanceTarget({ store: new MemoryStore(), header: 'X-Idempotency-Key' });
  let served: Served | undefined;
  beforeAll(async () => {
    served = await serveFetchHandler(target.fetch);
  });
  afterAll(async () => served?.close());
  runHttpConformance({
    name: 'oncely/http, X-Idempotency-Key',
    url: () => `${served?.origin}/orders`,
    header: 'X-Idempotency-Key',
    executions: target.executions,
    raceSize: 50,
    problemCodes: true,
    describe,
    it,
  });
});

// No socket: the `fetch` option hands each request straight to the handler (how a Worker or any
// fetch handler can be checked in process).
describe('oncely/http in process, MemoryStore', () => {
  const target = conformanceTarget({ store: new MemoryStore(), inProgress: 'wait' });
  runHttpConformance({
    name: 'oncely/http in process',
    url: 'http://conformance.test/orders',
    fetch: async (input, init) => target.fetch(new Request(input, init)),
    inProgress: 'wait',
    problemCodes: true,
    describe,
    it,
  });
});

/** One suite: its own store table and server, started before its tests and closed after. */
function conformance(name: string, db: ReturnType<typeof testDatabases>[number], inProgress: (typeof MODES)[number], serve: (store: Awaited<ReturnType<typeof freshStore>>['store']) => Promise<Served>) {
  describe(name, () => {
    let served: Served | undefined;
    let client: PrismaLike | undefined;
    beforeAll(async () => {
      const fresh = await freshStore(db);
      client = fresh.client;
      served = await serve(fresh.store);
    });
    afterAll(async () => {
      await served?.close();
      await client?.$disconnect();
    });
    runHttpConformance({ name, url: () => `${served?.origin}/orders`, inProgress, clients: CLIENTS, problemCodes: true, describe, it });
  });
}

const databases = testDatabases().filter((db) => db.name === 'sqlite' || db.name === 'postgresql');
const sqlite = databases.find((db) => db.name === 'sqlite');
if (!sqlite) throw new Error('SQLite is always available');

for (const db of databases) {
  for (const inProgress of MODES) {
    conformance(`oncely/http on node:http, PrismaStore on ${db.name}`, db, inProgress, (store) =>
      serveFetchHandler(conformanceTarget({ store, inProgress, tenant: (request) => request.headers.get('x-client') ?? GLOBAL_TENANT }).fetch),
    );
  }
}

for (const inProgress of MODES) {
  conformance('oncely/hono on @hono/node-server, PrismaStore on sqlite', sqlite, inProgress, (store) =>
    serveHono(honoTarget({ store, inProgress, tenant: (c) => c.req.header('x-client') ?? GLOBAL_TENANT }).app),
  );
  // With express.json() in front in reject mode, the middleware reading the body itself in wait mode.
  const parseJson = inProgress === 'reject';
  conformance(`oncely/express ${parseJson ? 'after express.json()' : 'without a body parser'}, PrismaStore on sqlite`, sqlite, inProgress, (store) =>
    serveExpress(expressTarget({ store, inProgress, tenant: (req) => req.get('x-client') ?? GLOBAL_TENANT }, { parseJson }).app),
  );
}
