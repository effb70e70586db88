// Starts the Worker under test (harness-worker.ts: the example Worker plus test routes) in workerd
// through Miniflare, with an empty D1 database holding oncely's tables.
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';
import { type RunningWorker, startWorker } from '../../examples/worker/miniflare.ts';

export type { RunningWorker };

export const harnessEntry = fileURLToPath(new URL('./harness-worker.ts', import.meta.url));

// The conformance target (test/http/support/target.ts) imports oncely/http from src/; in the
// Worker it gets the package's build like everything else, so one copy of oncely runs there.
export const httpFromPackage: Plugin = {
  name: 'oncely-http-from-package',
  setup(b) {
    b.onResolve({ filter: /\/src\/http\/index\.js$/ }, (args) => b.resolve('oncely/http', { kind: args.kind, resolveDir: args.resolveDir }));
  },
};

export function startHarness(): Promise<RunningWorker> {
  return startWorker({ entry: harnessEntry, plugins: [httpFromPackage] });
}

export interface Charge {
  chargeKey: string;
  amount: number;
  requests: number;
}

/** The fake provider's ledger: every charge key and the requests it received. */
export async function ledger(worker: RunningWorker): Promise<Map<string, Charge>> {
  const response = await fetch(new URL('/provider/charges', worker.url));
  if (response.status !== 200) throw new Error(`GET /provider/charges answered ${response.status}: ${await response.text()}`);
  const charges = (await response.json()) as Charge[];
  return new Map(charges.map((charge) => [charge.chargeKey, charge]));
}

/** POST a checkout with an Idempotency-Key (sent exactly as given). */
export function checkout(worker: RunningWorker, key: string | undefined, body: unknown, path = '/checkout', extraHeaders: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', ...extraHeaders };
  if (key !== undefined) headers['Idempotency-Key'] = key;
  return fetch(new URL(path, worker.url), { method: 'POST', headers, body: JSON.stringify(body), signal });
}
