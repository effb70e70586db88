import type { TestProject } from 'vitest/node';
import { type ServiceName, portOpen, services, servicesRequired } from './services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    availableServices: ServiceName[];
  }
}

/** Checks the services once; in CI a missing one fails the run, on a laptop it is announced loudly. */
export default async function setup(project: TestProject) {
  const available: ServiceName[] = [];
  const missing: ServiceName[] = [];
  for (const name of Object.keys(services) as ServiceName[]) {
    const { host, port } = services[name];
    ((await portOpen(host, port)) ? available : missing).push(name);
  }
  if (missing.length > 0) {
    const message = `oncely tests: ${missing.join(', ')} not reachable (${missing.map((m) => `${services[m].host}:${services[m].port}`).join(', ')}).`;
    if (servicesRequired) throw new Error(`${message} CI requires every service: start them (see .ci/run).`);
    const line = '!'.repeat(100);
    console.warn(`\n${line}\n${message}\nTHE TESTS FOR ${missing.join(', ').toUpperCase()} WILL NOT RUN. Start the services, or run with CI=true to make this an error.\n${line}\n`);
  }
  project.provide('availableServices', available);
  // The demo shop's tables, created once per server database before test files run in parallel.
  const { applyDemoTables, testDatabases } = await import('./databases.js');
  for (const db of testDatabases(available)) {
    if (db.provider === 'sqlite') continue;
    const client = db.client();
    try {
      await applyDemoTables(client, db.provider);
    } finally {
      await client.$disconnect();
    }
  }
}
