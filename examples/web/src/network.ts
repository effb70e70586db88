import { IDEMPOTENCY_KEY_HEADER } from 'oncely/client';
import { type Answer, readAnswer } from './answer.js';

/** What the "flaky network" switch asks the demo server to do with answers of mutations that ran. */
export type NetworkMode = 'ok' | 'drop' | 'slow';

/** How long the page waits for an answer before it gives up (and its client retries with the same key). */
export const ANSWER_TIMEOUT_MS = 1500;

/**
 * One HTTP attempt (a POST: a mutation) as the page saw it. Numbered and listed when it is sent,
 * so a retry always comes after the attempt it retries, whatever order the answers arrive in.
 */
export interface Attempt {
  id: number;
  api: 'tRPC' | 'GraphQL';
  operation: string;
  key: string | undefined;
  /** `waiting` until the answer arrives; `lost`: the connection died mid-answer; `timed-out`: the page gave up. */
  state: 'waiting' | 'answered' | 'lost' | 'timed-out';
  answer?: Answer;
  /** Order in which answers arrived (1, 2, ...): which answer a caller just got. */
  answeredAs?: number;
  ms?: number;
}

type Listener = () => void;

/** A tiny external store (useSyncExternalStore) for the attempt log and the network mode. */
class NetworkLog {
  mode: NetworkMode = 'ok';
  attempts: readonly Attempt[] = [];
  private listeners = new Set<Listener>();
  private nextId = 1;
  private nextAnswer = 1;

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

  /** Logs an attempt as it leaves; returns its number. */
  sent(attempt: Pick<Attempt, 'api' | 'operation' | 'key'>): number {
    const id = this.nextId++;
    this.attempts = [...this.attempts, { ...attempt, id, state: 'waiting' as const }].slice(-200);
    this.emit();
    return id;
  }

  settled(id: number, result: Pick<Attempt, 'state' | 'answer' | 'ms'>) {
    const answeredAs = result.state === 'answered' ? this.nextAnswer++ : undefined;
    this.attempts = this.attempts.map((a) => (a.id === id ? { ...a, ...result, ...(answeredAs ? { answeredAs } : {}) } : a));
    this.emit();
  }

  /** Whether the latest answer that arrived for this key was a replay. */
  lastAnswerReplayed(key: string): boolean {
    let last: Attempt | undefined;
    for (const a of this.attempts) if (a.key === key && a.answeredAs && (!last || a.answeredAs > last.answeredAs!)) last = a;
    return last?.answer?.replay ?? false;
  }

  /** The key of the latest attempt of this operation through this API: for the "reuse a key" button. */
  lastKey(api: Attempt['api'], operation: string): string | undefined {
    for (let i = this.attempts.length - 1; i >= 0; i--) {
      const a = this.attempts[i]!;
      if (a.api === api && a.operation === operation && a.key) return a.key;
    }
    return undefined;
  }

  private emit() {
    for (const listener of this.listeners) listener();
  }
}

export const network = new NetworkLog();

/** The idempotency key of a request: the header, or GraphQL's `extensions.idempotencyKey`. */
function describe(request: Request, body: string) {
  const url = new URL(request.url);
  const api = url.pathname.startsWith('/trpc/') ? ('tRPC' as const) : ('GraphQL' as const);
  let key = request.headers.get(IDEMPOTENCY_KEY_HEADER) ?? undefined;
  let operation = api === 'tRPC' ? url.pathname.slice('/trpc/'.length) : 'mutation';
  if (api === 'GraphQL') {
    try {
      const parsed = JSON.parse(body) as { operationName?: string; extensions?: { idempotencyKey?: string } };
      operation = parsed.operationName ?? operation;
      key ??= parsed.extensions?.idempotencyKey;
    } catch {
      // not JSON: log it without details
    }
  }
  return { api, operation, key };
}

/**
 * The fetch both API clients use: adds the network-mode header the demo server reads, gives up
 * after ANSWER_TIMEOUT_MS, and logs every POST (the mutations) when it is sent, then its answer.
 */
export const demoFetch: typeof fetch = async (input, init) => {
  const request = new Request(input, init);
  if (network.mode !== 'ok') request.headers.set('x-demo-network', network.mode);
  const timeout = AbortSignal.timeout(ANSWER_TIMEOUT_MS);
  const signal = AbortSignal.any([request.signal, timeout]);
  if (request.method !== 'POST') return fetch(request, { signal });

  const body = await request.clone().text();
  const id = network.sent(describe(request, body));
  const started = performance.now();
  try {
    // The body as text, not the request's stream: the browser then shows it (DevTools, tests).
    const fetched = await fetch(request, { body, signal });
    // Read the whole answer here, so that a connection lost mid-answer counts as a failed attempt.
    const text = await fetched.text();
    const answer = readAnswer(fetched.status, fetched.headers, text);
    network.settled(id, { state: 'answered', answer, ms: performance.now() - started });
    return new Response(text, { status: fetched.status, statusText: fetched.statusText, headers: fetched.headers });
  } catch (error) {
    network.settled(id, { state: timeout.aborted ? 'timed-out' : 'lost', ms: performance.now() - started });
    throw error;
  }
};
