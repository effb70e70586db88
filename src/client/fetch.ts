import { isRetryableStatus } from '../protocol/answers.js';
import { IDEMPOTENCY_KEY_HEADER, REPLAYED_HEADER } from '../protocol/names.js';
import { createIdempotencyKey } from './key.js';

export interface IdempotentFetchOptions {
  /** The operation's key; default a new UUID per call (one call = one logical operation). */
  key?: string;
  /** Attempts in all, the first included. Default 4. */
  attempts?: number;
  /** First backoff in ms, doubled per attempt (and raised to Retry-After when the server sends one). Default 250. */
  backoffMs?: number;
  /** Longest single wait in ms. Default 5000. */
  maxBackoffMs?: number;
  /** The fetch to use. Default globalThis.fetch. */
  fetch?: typeof fetch;
}

export interface IdempotentResponse extends Response {
  /** Whether the server answered from its idempotency store. */
  readonly replayed: boolean;
  /** The key the request was sent with. */
  readonly idempotencyKey: string;
}

const sleep = (ms: number, signal?: AbortSignal | null) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });

/**
 * fetch with an Idempotency-Key header and retries that keep the key: on network errors, 408, 409,
 * 425, 429, 499 and 5xx (the protocol's retryable statuses) it tries again (honouring Retry-After), up to `attempts`. Any other answer is
 * returned as is. The body must be replayable (a string, Blob, FormData, URLSearchParams...).
 */
export async function idempotentFetch(
  input: string | URL | Request,
  init: RequestInit = {},
  options: IdempotentFetchOptions = {},
): Promise<IdempotentResponse> {
  const key = options.key ?? createIdempotencyKey();
  const attempts = options.attempts ?? 4;
  const doFetch = options.fetch ?? globalThis.fetch;
  let backoff = options.backoffMs ?? 250;
  const maxBackoff = options.maxBackoffMs ?? 5000;
  const headers = new Headers(init.headers);
  headers.set(IDEMPOTENCY_KEY_HEADER, key);

  for (let attempt = 1; ; attempt++) {
    let response: Response | undefined;
    let failure: unknown;
    try {
      response = await doFetch(input, { ...init, headers });
    } catch (error) {
      if (init.signal?.aborted) throw error;
      failure = error;
    }
    if (response && !isRetryableStatus(response.status)) return mark(response, key);
    if (attempt >= attempts) {
      if (response) return mark(response, key);
      throw failure;
    }
    const retryAfter = Number(response?.headers.get('retry-after'));
    const wait = Math.min(Math.max(backoff, Number.isFinite(retryAfter) ? retryAfter * 1000 : 0), maxBackoff);
    await response?.body?.cancel().catch(() => {});
    await sleep(wait, init.signal);
    backoff *= 2;
  }
}

function mark(response: Response, key: string): IdempotentResponse {
  return Object.defineProperties(response, {
    replayed: { value: response.headers.get(REPLAYED_HEADER) === 'true' },
    idempotencyKey: { value: key },
  }) as IdempotentResponse;
}
