import type { BackendName, SqlBackendName } from './lib/backends.js';
import type { Framework } from './scenarios/http-apps.js';
import type { HttpSizes } from './scenarios/http.js';
import type { PowertoolsSizes } from './scenarios/powertools.js';
import type { StoreSizes } from './scenarios/store.js';

export const SCENARIOS = ['http', 'fetch', 'statements', 'powertools', 'store', 'scale', 'purge'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Everything a run measures and how much: `npm run bench` uses FULL, `--quick` QUICK, the test its own. */
export interface BenchConfig {
  scenarios: Scenario[];
  frameworks: Framework[];
  /** Databases of the HTTP scenarios, Yoga/tRPC and fetch (PostgreSQL first: the one the targets were set on). */
  httpBackends: SqlBackendName[];
  /** Databases whose statements are counted. */
  statementBackends: SqlBackendName[];
  /** Stores of the store, scale and purge scenarios. */
  storeBackends: BackendName[];
  http: HttpSizes;
  statementRequests: number;
  powertools: PowertoolsSizes;
  store: StoreSizes;
}

const common = {
  scenarios: [...SCENARIOS],
  frameworks: ['Yoga', 'tRPC'] as Framework[],
  statementBackends: ['postgresql', 'mariadb', 'sqlite'] as SqlBackendName[],
  storeBackends: ['sqlite', 'postgresql', 'mariadb', 'redis'] as BackendName[],
};

export const FULL: BenchConfig = {
  ...common,
  httpBackends: ['postgresql', 'sqlite', 'mariadb'],
  http: { rounds: 5, latencyRequests: 150, throughputRequests: 480, concurrency: 32, storm: 200, warmup: 20 },
  statementRequests: 10,
  powertools: { rounds: 5, requests: 500, throughputRequests: 2_000, concurrency: 32 },
  store: { rounds: 5, ops: 300, concurrency: 32, scaleSmall: 10_000, scaleLarge: 1_000_000, purgeRecords: 200_000 },
};

export const QUICK: BenchConfig = {
  ...common,
  httpBackends: ['postgresql'],
  http: { rounds: 3, latencyRequests: 30, throughputRequests: 96, concurrency: 32, storm: 50, warmup: 5 },
  statementRequests: 3,
  powertools: { rounds: 3, requests: 100, throughputRequests: 320, concurrency: 32 },
  store: { rounds: 3, ops: 60, concurrency: 32, scaleSmall: 1_000, scaleLarge: 20_000, purgeRecords: 10_000 },
};
