/**
 * A small in-memory idempotency layer over a fetch handler, written only to be broken on purpose:
 * each mutation makes it violate one requirement, and test/http/conformance-mutants.test.ts checks
 * that runHttpConformance catches it. It is not oncely/http and shares no code with it.
 */
export interface Mutations {
  /** Runs every request: no record at all. */
  neverReplays?: boolean;
  /** Replays every header of the first answer (Set-Cookie, X-Execution). */
  replaysAllHeaders?: boolean;
  /** Replays Content-Type and no other header. */
  replaysContentTypeOnly?: boolean;
  /** Replays a JSON body re-encoded (same value, other bytes). */
  reencodesJson?: boolean;
  /** A 5xx leaves the key claimed (never released). */
  keepsClaimOnError?: boolean;
  /** Replays without Idempotent-Replayed. */
  noReplayMarker?: boolean;
  /** The fingerprint leaves out the body / the path / the method. */
  ignoresBody?: boolean;
  ignoresPath?: boolean;
  ignoresMethod?: boolean;
  /** JSON bodies compared by their bytes. */
  rawJson?: boolean;
  /** Only application/json is compared canonically (not +json types). */
  plainJsonOnly?: boolean;
  /** In wait mode, a waiter whose first request released the key answers 409 instead of running. */
  waiterGivesUp?: boolean;
  /** 5xx answers stored. */
  storesServerErrors?: boolean;
  /** 408, 409, 425 and 429 answers stored. */
  storesRetryable?: boolean;
  /** 401, 403 and 423 answers stored. */
  storesAuthErrors?: boolean;
  /** 4xx answers never stored. */
  forgetsClientErrors?: boolean;
  /** The quotes of an sf-string are part of the key. */
  quotesInKey?: boolean;
  /** Keys compared case-insensitively. */
  caseInsensitive?: boolean;
  /** Reads, runs, then writes: no claim, so concurrent duplicates all run. */
  noClaim?: boolean;
  /** A malformed sf-string is taken as a bare key. */
  lenientSyntax?: boolean;
  /** Errors as application/json instead of problem+json. */
  plainErrors?: boolean;
  /** A request without a key runs (as if the key were optional). */
  optionalKey?: boolean;
  /** Bare keys may hold any character. */
  anyCharacters?: boolean;
  /** No length limit on keys. */
  unlimitedKeys?: boolean;
  /** 409 without Retry-After. */
  noRetryAfter?: boolean;
  /** A broken or cancelled stream stores what was sent so far. */
  storesBrokenStreams?: boolean;
  /** The body is read whole before the first byte goes out. */
  buffersStreams?: boolean;
  /** While the first runs, another body gets 409 (reject) or waits (wait) before its 422. */
  mismatchWaits?: boolean;
  /** The answer is stored 100 ms after the client got its last byte. */
  storesLate?: boolean;
  /** GET goes through the idempotency layer too. */
  guardsGet?: boolean;
  /** Keys of all clients meet (the client header is ignored). */
  ignoresClient?: boolean;
}

export interface StandInOptions {
  header?: string;
  inProgress?: 'reject' | 'wait';
  replayHeaders?: string[];
  /** A request header naming the client: keys of different clients never meet. */
  clientHeader?: string;
  mutations?: Mutations;
}

interface StoredAnswer {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}

interface Entry {
  fingerprint: string;
  answer?: StoredAnswer;
  /** Settles when the running request stored or released the key. */
  settled?: Promise<void>;
}

const DEFAULT_REPLAY = ['content-type', 'content-language', 'location', 'etag', 'last-modified', 'cache-control'];
const NOT_STORED_4XX = new Set([401, 403, 408, 409, 423, 425, 429, 499]);
const RETRYABLE_4XX = new Set([408, 409, 425, 429, 499]);
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/i;

export function standIn(handler: (request: Request) => Promise<Response>, options: StandInOptions = {}) {
  const m = options.mutations ?? {};
  const header = options.header ?? 'Idempotency-Key';
  const replayHeaders = new Set([...DEFAULT_REPLAY, ...(options.replayHeaders ?? []).map((h) => h.toLowerCase())]);
  const entries = new Map<string, Entry>();

  return async function idempotent(request: Request): Promise<Response> {
    if (!['POST', 'PATCH'].includes(request.method) && !m.guardsGet) return handler(request);
    const raw = request.headers.get(header);
    if (raw === null) return m.optionalKey ? handler(request) : problem(400, 'Idempotency-Key is missing');
    const parsed = parseKey(raw, m);
    if (parsed === undefined) return problem(400, 'Idempotency-Key is invalid');
    const client = options.clientHeader && !m.ignoresClient ? (request.headers.get(options.clientHeader) ?? '') : '';
    const key = JSON.stringify([client, parsed]);
    const body = new Uint8Array(await request.arrayBuffer());
    const fingerprint = fingerprintOf(request, body, m);
    const rerun = () => handler(new Request(request.url, { method: request.method, headers: request.headers, body: body.byteLength ? body : undefined }));

    if (m.neverReplays) return rerun();
    for (;;) {
      if (m.noClaim) await sleep(5); // the read-then-write gap a missing claim leaves open
      const entry = entries.get(key);
      if (entry) {
        if (m.mismatchWaits && !entry.answer && !m.noClaim) {
          if (options.inProgress !== 'wait') return problem(409, 'A request is outstanding for this Idempotency-Key', { 'retry-after': '1' });
          await entry.settled;
          continue;
        }
        if (entry.fingerprint !== fingerprint) return problem(422, 'Idempotency-Key is already used');
        if (entry.answer) return replay(entry.answer);
        if (!m.noClaim) {
          if (options.inProgress === 'wait') {
            await entry.settled;
            if (m.waiterGivesUp && !entries.get(key)?.answer) return problem(409, 'A request is outstanding for this Idempotency-Key', { 'retry-after': '1' });
            continue;
          }
          return problem(409, 'A request is outstanding for this Idempotency-Key', m.noRetryAfter ? {} : { 'retry-after': '1' });
        }
      }
      let settle = () => {};
      const claim: Entry = { fingerprint, settled: new Promise<void>((resolve) => (settle = resolve)) };
      if (!m.noClaim) entries.set(key, claim);
      const release = () => {
        if (entries.get(key) === claim) entries.delete(key);
        settle();
      };
      const store = (answer: StoredAnswer) => {
        const write = () => {
          entries.set(key, { fingerprint, answer });
          settle();
        };
        if (m.storesLate) setTimeout(write, 100);
        else write();
      };
      let response: Response;
      try {
        response = await rerun();
      } catch (error) {
        release();
        throw error;
      }
      if (!storable(response.status, m)) {
        if (!m.keepsClaimOnError) release();
        return response;
      }
      const kept = m.replaysContentTypeOnly ? new Set(['content-type']) : replayHeaders;
      const headers = [...response.headers].filter(([name]) => m.replaysAllHeaders || kept.has(name));
      if (m.replaysAllHeaders) for (const cookie of response.headers.getSetCookie()) headers.push(['set-cookie', cookie]);
      const answerOf = (body: Uint8Array) => ({ status: response.status, headers: dedupe(headers), body });
      if (!response.body) {
        store(answerOf(new Uint8Array()));
        return response;
      }
      if (m.buffersStreams) {
        let bytes: Uint8Array;
        try {
          bytes = new Uint8Array(await response.arrayBuffer());
        } catch (error) {
          release();
          throw error;
        }
        store(answerOf(bytes));
        return new Response(bytes as BodyInit, { status: response.status, headers: response.headers });
      }
      const parts: Uint8Array[] = [];
      let ended = false;
      const broken = () => {
        if (ended) return;
        ended = true;
        if (m.storesBrokenStreams) store(answerOf(concat(parts)));
        else release();
      };
      const reader = response.body.getReader();
      const tee = new ReadableStream<Uint8Array>({
        async pull(controller) {
          let chunk: ReadableStreamReadResult<Uint8Array>;
          try {
            chunk = await reader.read();
          } catch (error) {
            broken();
            controller.error(error);
            return;
          }
          if (chunk.done) {
            // A read pending when the client cancelled ends "done" too: that is no complete body.
            if (!ended) store(answerOf(concat(parts)));
            ended = true;
            controller.close();
            return;
          }
          parts.push(chunk.value);
          controller.enqueue(chunk.value);
        },
        cancel(reason) {
          broken();
          return reader.cancel(reason);
        },
      });
      return new Response(tee, { status: response.status, headers: response.headers });
    }
  };

  function replay(answer: StoredAnswer): Response {
    const headers = new Headers();
    for (const [name, value] of answer.headers) headers.append(name, value);
    if (!m.noReplayMarker) headers.set('idempotent-replayed', 'true');
    let body = answer.body;
    if (m.reencodesJson && JSON_TYPE.test(headers.get('content-type') ?? '')) {
      body = new TextEncoder().encode(JSON.stringify(JSON.parse(new TextDecoder().decode(body)), null, 1));
    }
    return new Response(body.byteLength ? (body as BodyInit) : null, { status: answer.status, headers });
  }

  function problem(status: number, title: string, extra: Record<string, string> = {}): Response {
    const body = JSON.stringify({ type: 'https://example.test/idempotency', title, status, detail: title });
    const type = m.plainErrors ? 'application/json' : 'application/problem+json';
    return new Response(body, { status, headers: { 'content-type': type, ...extra } });
  }
}

function storable(status: number, m: Mutations): boolean {
  if (status >= 500) return m.storesServerErrors === true;
  if (RETRYABLE_4XX.has(status) && m.storesRetryable) return true;
  if ([401, 403, 423].includes(status) && m.storesAuthErrors) return true;
  if (status >= 400 && m.forgetsClientErrors) return false;
  return !NOT_STORED_4XX.has(status);
}

/** The key of a header value: an RFC 8941 sf-string or the bare form; undefined when invalid. */
function parseKey(raw: string, m: Mutations): string | undefined {
  const value = raw.trim();
  let key = value;
  if (value.startsWith('"') && !m.quotesInKey) {
    const parsed = parseSfString(value);
    if (parsed === undefined && !m.lenientSyntax) return undefined;
    key = parsed ?? value;
  }
  const max = m.unlimitedKeys ? Infinity : 255;
  if (key.length < 1 || key.length > max || (!m.anyCharacters && !/^[\x20-\x7e]+$/.test(key)) || key.startsWith(' ') || key.endsWith(' ')) return undefined;
  return m.caseInsensitive ? key.toLowerCase() : key;
}

function parseSfString(value: string): string | undefined {
  let key = '';
  for (let at = 1; at < value.length; at++) {
    const char = value[at] as string;
    if (char === '\\') {
      const next = value[at + 1];
      if (next !== '"' && next !== '\\') return undefined;
      key += next;
      at++;
    } else if (char === '"') {
      return at === value.length - 1 ? key : undefined;
    } else if (char < ' ' || char > '~') {
      return undefined;
    } else {
      key += char;
    }
  }
  return undefined;
}

function fingerprintOf(request: Request, body: Uint8Array, m: Mutations): string {
  const url = new URL(request.url);
  const method = m.ignoresMethod ? '' : request.method;
  const path = m.ignoresPath ? '' : url.pathname + url.search;
  let content = '';
  if (!m.ignoresBody) {
    content = Buffer.from(body).toString('base64');
    const type = request.headers.get('content-type') ?? '';
    if (!m.rawJson && (m.plainJsonOnly ? /^application\/json\b/i : JSON_TYPE).test(type)) {
      try {
        content = canonical(JSON.parse(new TextDecoder().decode(body)));
      } catch {
        // not JSON after all: its bytes
      }
    }
  }
  return JSON.stringify([method, path, content]);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function dedupe(headers: [string, string][]): [string, string][] {
  const seen = new Set<string>();
  return headers.filter(([name, value]) => {
    const id = `${name}\n${value}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
