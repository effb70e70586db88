import { base64ToBytes, bytesToBase64 } from '../core/encoding.js';
import { REPLAYED_HEADER } from '../protocol/names.js';
import type { HttpAnswer } from './answer.js';

/**
 * The first answer as stored: status, the allowlisted headers, and the body as text (UTF-8) or
 * base64 (other bytes). Plain JSON, so any serializer keeps it and `oncely inspect` shows it.
 */
export interface StoredHttpResponse {
  status: number;
  headers: Array<[string, string]>;
  body: string;
  encoding: 'utf8' | 'base64';
}

/** Headers replayed by default (any case); `replayHeaders` adds to them. */
export const DEFAULT_REPLAY_HEADERS: readonly string[] = ['Content-Type', 'Content-Language', 'Location', 'ETag', 'Last-Modified', 'Cache-Control'];

// Never stored, whatever the allowlist says: per-client secrets, and headers that describe this
// transfer rather than the answer (the replay computes its own).
const NEVER_REPLAYED: ReadonlySet<string> = new Set(['set-cookie', 'set-cookie2', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'content-encoding', 'idempotent-replayed']);

/** The allowlist, lower-cased, without the headers that are never replayed. */
export function replayAllowlist(extra: readonly string[] = []): ReadonlySet<string> {
  return new Set([...DEFAULT_REPLAY_HEADERS, ...extra].map((name) => name.toLowerCase()).filter((name) => !NEVER_REPLAYED.has(name)));
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** What is stored of an answer: only the allowlisted headers, in the order they came. */
export function storedResponse(status: number, headers: Iterable<readonly [string, string]>, body: Uint8Array, allowlist: ReadonlySet<string>): StoredHttpResponse {
  const kept: Array<[string, string]> = [];
  for (const [name, value] of headers) if (allowlist.has(name.toLowerCase())) kept.push([name.toLowerCase(), value]);
  let text: string | undefined;
  try {
    text = utf8.decode(body);
  } catch {
    text = undefined;
  }
  return text === undefined ? { status, headers: kept, body: bytesToBase64(body), encoding: 'base64' } : { status, headers: kept, body: text, encoding: 'utf8' };
}

const encoder = new TextEncoder();

/** The replay of a stored answer: its status, headers and body bytes, marked `Idempotent-Replayed: true`. */
export function replayAnswer(stored: StoredHttpResponse): HttpAnswer {
  if (!isStoredHttpResponse(stored)) throw new TypeError('oncely/http: the stored outcome is not an HTTP response (was the key used by another adapter with the same operation?).');
  const body = stored.encoding === 'base64' ? base64ToBytes(stored.body) : encoder.encode(stored.body);
  return { status: stored.status, headers: [...stored.headers, [REPLAYED_HEADER, 'true']], body };
}

export function isStoredHttpResponse(value: unknown): value is StoredHttpResponse {
  const candidate = value as Partial<StoredHttpResponse> | null;
  return (
    typeof candidate === 'object' && candidate !== null &&
    typeof candidate.status === 'number' && Array.isArray(candidate.headers) &&
    typeof candidate.body === 'string' && (candidate.encoding === 'utf8' || candidate.encoding === 'base64')
  );
}
