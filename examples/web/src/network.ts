import { IDEMPOTENCY_KEY_HEADER, REPLAYED_HEADER } from 'oncely/client';

/** What the "flaky network" switch asks the demo server to do with answers of mutations that ran. */
export type NetworkMode = 'ok' | 'drop' | 'slow';

/** One HTTP attempt as the page saw it. */
export interface Attempt {
  id: number;
  api: 'tRPC' | 'GraphQL';
  operation: string;
  key: string | undefined;
  outcome: 'fresh' | 'replayed' | 'dropped' | 'error';
  status?: number;
  ms: number;
}

type Listener = () => void;

/** A tiny external store (useSyncExternalStore) for the attempt log and the network mode. */
class NetworkLog {
  mode: NetworkMode = 'ok';
  attempts: readonly Attempt[] = [];
  private listeners = new Set<Listener>();
  private nextId = 1;

  subscribe = (listener: Listener) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
  getAttempts = () => this.attempts;
  getMode = () => this.mode;

  setMode(mode: NetworkMode) {
    this.mode = mode;
    this.emit();
  }

  add(attempt: Omit<Attempt, 'id'>) {
    this.attempts = [{ ...attempt, id: this.nextId++ }, ...this.attempts].slice(0, 200);
    this.emit();
  }

  /** Whether the last answer received for this key was a replay. */
  lastAnswerReplayed(key: string): boolean {
    return this.attempts.find((a) => a.key === key && a.outcome !== 'dropped')?.outcome === 'replayed';
  }

  private emit() {
    for (const listener of this.listeners) listener();
  }
}

export const network = new NetworkLog();

/**
 * The fetch both API clients use: adds the network-mode header the demo server reads and logs
 * every attempt with its idempotency key (header, or GraphQL `extensions.idempotencyKey`) and
 * whether the answer was a replay (`Idempotent-Replayed: true`).
 */
export const demoFetch: typeof fetch = async (input, init) => {
  const request = new Request(input, init);
  if (network.mode !== 'ok') request.headers.set('x-demo-network', network.mode);
  const url = new URL(request.url);
  const api = url.pathname.startsWith('/trpc/') ? 'tRPC' : 'GraphQL';
  let key = request.headers.get(IDEMPOTENCY_KEY_HEADER) ?? undefined;
  let operation = api === 'tRPC' ? url.pathname.slice('/trpc/'.length) : 'query';
  if (api === 'GraphQL' && request.method === 'POST') {
    try {
      const body = JSON.parse(await request.clone().text()) as { operationName?: string; extensions?: { idempotencyKey?: string } };
      operation = body.operationName ?? operation;
      key ??= body.extensions?.idempotencyKey;
    } catch {
      // not JSON: log it without details
    }
  }
  const started = performance.now();
  const base = { api, operation, key } as const;
  try {
    const fetched = await fetch(request);
    // Read the whole answer here, so that a connection lost mid-answer counts as a failed attempt.
    const response = new Response(await fetched.arrayBuffer(), { status: fetched.status, statusText: fetched.statusText, headers: fetched.headers });
    if (key) {
      const replayed = response.headers.get(REPLAYED_HEADER) === 'true';
      network.add({ ...base, outcome: response.ok ? (replayed ? 'replayed' : 'fresh') : 'error', status: response.status, ms: performance.now() - started });
    }
    return response;
  } catch (error) {
    if (key) network.add({ ...base, outcome: 'dropped', ms: performance.now() - started });
    throw error;
  }
};
