import assert from 'node:assert/strict';
import { concat } from '../http/body-tap.js';
import type { ContractRunner } from './contract.js';

/** The test functions of your runner, as the store contract takes them (vitest, jest, node:test). */
export type HttpConformanceRunner = ContractRunner;

/**
 * What the suite needs to reach the server under test. The server implements the "conformance
 * target contract" (docs/http.md, "Conformance test"): a POST endpoint that runs once per
 * execution and answers per the JSON body `{ amount, status?, delayMs?, stream?, chunkDelayMs?, fail? }`.
 */
export interface HttpConformanceOptions extends HttpConformanceRunner {
  /** Shown in the test names. */
  name: string;
  /** The endpoint's absolute URL, or a function giving it (called by each test, after your setup ran). */
  url: string | URL | (() => string | URL | Promise<string | URL>);
  /** The request header carrying the key. Default `Idempotency-Key`. */
  header?: string;
  /** What the server does with a duplicate while the first request runs: `reject` (409, default) or `wait`. */
  inProgress?: 'reject' | 'wait';
  /** How many times the endpoint has executed so far. Default: `GET url`, answering `{ "executions": n }`. */
  executions?: () => number | Promise<number>;
  /** Headers a replay must carry as the first answer had them. Default Content-Type, Location, ETag. */
  replayHeaders?: readonly string[];
  /** How many same-key requests the race test fires at once. Default 20. */
  raceSize?: number;
  /** The longest key the server accepts. Default 255. */
  maxKeyLength?: number;
  /** A method the endpoint takes besides POST (through the idempotency layer), for the method-mismatch test. Default PATCH. */
  otherMethod?: string;
  /**
   * Request headers that identify two different clients (e.g. two Authorization values), when the
   * server scopes keys per client (draft section 5): adds a test that one key from each is two
   * operations. Without it that test is not registered.
   */
  clients?: readonly [Record<string, string>, Record<string, string>];
  /**
   * Also check oncely's problem shape: a `detail`, and the error code in `code`
   * (IDEMPOTENCY_KEY_MISSING, _INVALID, _REUSED, _IN_USE). For servers built on oncely; other
   * servers leave it off. Default false.
   */
  problemCodes?: boolean;
  /** The fetch to use (default globalThis.fetch): lets you run the suite in-process against a handler. */
  fetch?: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
}

/** One answer, read whole. */
interface Answer {
  status: number;
  headers: Headers;
  bytes: Uint8Array;
  text: string;
}

interface Send {
  /** The raw header value (`"k"` or `k`); a list sends the header once per item; null sends none. */
  key: string | readonly string[] | null;
  /** JSON-encoded unless a string (sent as is). */
  body?: unknown;
  method?: string;
  /** Appended to the URL's query. */
  query?: string;
  contentType?: string;
  /** Extra request headers (a client's identity). */
  client?: Record<string, string>;
}

const REPLAYED = 'idempotent-replayed';
/** Headers the target sends that no replay may carry (the target contract). */
const NEVER_REPLAYED = ['x-execution', 'set-cookie'] as const;
const DEFAULT_REPLAY_HEADERS = ['content-type', 'location', 'etag'] as const;
/** How long a retry keeps going while the server still answers 409 for a finished request. */
const SETTLE_MS = 3000;

/**
 * Checks an idempotent HTTP endpoint against draft-ietf-httpapi-idempotency-key-header-07 and
 * oncely's wire behaviour (docs/http.md), over plain fetch:
 *
 *   import { describe, it } from 'vitest';
 *   import { runHttpConformance } from 'oncely/testing';
 *   runHttpConformance({ name: 'orders API', url: 'http://127.0.0.1:3000/orders', describe, it });
 *
 * The tests run one after another (executions are counted as the difference of the endpoint's
 * total), so do not point other traffic at the endpoint meanwhile. Every test uses fresh keys.
 */
export function runHttpConformance(options: HttpConformanceOptions): void {
  const { describe, it } = options;
  const header = options.header ?? 'Idempotency-Key';
  const mode = options.inProgress ?? 'reject';
  const replayHeaders = (options.replayHeaders ?? DEFAULT_REPLAY_HEADERS).map((name) => name.toLowerCase());
  const raceSize = options.raceSize ?? 20;
  const maxKeyLength = options.maxKeyLength ?? 255;
  const otherMethod = options.otherMethod ?? 'PATCH';
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));

  const endpoint = async (): Promise<URL> => {
    const url = typeof options.url === 'function' ? await options.url() : options.url;
    return new URL(url);
  };

  const send = async (request: Send): Promise<Answer> => (await read(await start(request)));

  const start = async (request: Send, signal?: AbortSignal): Promise<Response> => {
    const url = await endpoint();
    if (request.query) url.search = url.search ? `${url.search}&${request.query}` : `?${request.query}`;
    const headers = new Headers(request.client);
    const keys = request.key === null ? [] : typeof request.key === 'string' ? [request.key] : request.key;
    for (const key of keys) headers.append(header, key);
    let body: string | undefined;
    if (request.body !== undefined) {
      const raw = typeof request.body === 'string';
      body = raw ? (request.body as string) : JSON.stringify(request.body);
      headers.set('content-type', request.contentType ?? (raw ? 'text/plain' : 'application/json'));
    }
    // A 3xx answer is what is checked, not where it points.
    return doFetch(url, { method: request.method ?? 'POST', headers, body, signal, redirect: 'manual' });
  };

  const executions = async (): Promise<number> => {
    if (options.executions) return options.executions();
    const answer = await read(await doFetch(await endpoint(), { method: 'GET' }));
    assert.equal(answer.status, 200, `GET ${header}-free count endpoint: status (conformance target contract)`);
    const count = (JSON.parse(answer.text) as { executions?: unknown }).executions;
    assert.equal(typeof count, 'number', 'GET answers { "executions": <number> } (conformance target contract)');
    return count as number;
  };

  /** Runs `work` and returns how many executions happened meanwhile, with its result. */
  const counted = async <T>(work: () => Promise<T>): Promise<[number, T]> => {
    const before = await executions();
    const result = await work();
    return [(await executions()) - before, result];
  };

  /**
   * Sends a retry as a client honouring Retry-After would: while the server answers 409 problem
   * (the first request not yet settled on its side), it tries again, for up to 3 s. So a server
   * that stores late fails only the test named for that ("replayed at once"), not every test.
   */
  const retry = async (request: Send): Promise<Answer> => {
    const deadline = Date.now() + SETTLE_MS;
    for (;;) {
      const answer = await send(request);
      if (answer.status !== 409 || !isProblem(answer) || Date.now() > deadline) return answer;
      await sleep(50);
    }
  };

  const assertReplayOf = (replay: Answer, first: Answer, what: string) => {
    assert.equal(replay.status, first.status, `${what}: the first answer's status`);
    assert.equal(replay.text, first.text, `${what}: the first answer's body`);
    assert.deepEqual(replay.bytes, first.bytes, `${what}: the first answer's body, byte for byte`);
    for (const name of replayHeaders) {
      assert.notEqual(first.headers.get(name), null, `the first answer has ${name} (conformance target contract)`);
      assert.equal(replay.headers.get(name), first.headers.get(name), `${what}: ${name} replayed`);
    }
    assert.equal(replay.headers.get(REPLAYED), 'true', `${what}: Idempotent-Replayed: true`);
  };
  /**
   * Sends `first` and, once the target says it executes, `second`: both answers, and whether the
   * first was still running when the second's answer came.
   */
  const sendWhileRunning = async (first: Send, second: Send) => {
    const before = await executions();
    let settled = false;
    const running = send(first).finally(() => (settled = true));
    await untilExecuting(before);
    const secondAnswer = await send(second);
    const firstWasRunning = !settled;
    return { first: await running, second: secondAnswer, firstWasRunning };
  };

  /** Each status answered first is stored: the retry replays it and the handler ran once. */
  const expectStored = async (statuses: number[], amount: number) => {
    for (const status of statuses) {
      const key = sfString(fresh(`status-${status}`));
      const body = { amount, status };
      const [ran, [first, replay]] = await counted(async () => [await send({ key, body }), await retry({ key, body })]);
      assertFirst(first, status, `first answer ${status}`);
      assertReplayOf(replay, first, `retry of the ${status}`);
      assert.equal(ran, 1, `${status}: one execution`);
    }
  };

  /** Each status answered first is not stored: the retry runs the handler again and gets it again. */
  const expectNotStored = async (statuses: number[], amount: number) => {
    for (const status of statuses) {
      const key = sfString(fresh(`status-${status}`));
      const body = { amount, status };
      const [ran, [first, second]] = await counted(async () => [await send({ key, body }), await retry({ key, body })]);
      assertFirst(first, status, `first answer ${status}`);
      assertFirst(second, status, `retry after the ${status}`);
      assert.equal(ran, 2, `${status}: the retry ran again`);
    }
  };


  const assertFirst = (answer: Answer, status: number, what: string) => {
    assert.equal(answer.status, status, `${what}: status (body ${answer.text.slice(0, 300)})`);
    assert.equal(answer.headers.get(REPLAYED), null, `${what}: the handler's own answer carries no Idempotent-Replayed`);
    const body = JSON.parse(answer.text) as { id?: unknown; execution?: unknown };
    assert.equal(typeof body.id, 'string', `${what}: the handler's body`);
  };

  const fresh = (label: string) => `${label}-${crypto.randomUUID()}`;
  const problemCodes = options.problemCodes ?? false;
  const assertRefused = (answer: Answer, status: number, what: string) => assertProblem(answer, status, what, problemCodes);

  describe(`HTTP idempotency conformance: ${options.name} (${mode})`, () => {
    describe('the key (draft section 2.1, syntax)', () => {
      it('a POST without the key is refused: 400 problem+json, nothing runs', async () => {
        const [ran, answer] = await counted(() => send({ key: null, body: { amount: 1 } }));
        assertRefused(answer, 400, 'missing key');
        assert.equal(ran, 0, 'missing key: the handler did not run');
      });

      it('an empty key is refused with 400, nothing runs', async () => {
        for (const key of ['""', '']) {
          const [ran, answer] = await counted(() => send({ key, body: { amount: 1 } }));
          assertRefused(answer, 400, `key ${JSON.stringify(key)}`);
          assert.equal(ran, 0, `key ${JSON.stringify(key)}: the handler did not run`);
        }
      });

      it('a malformed sf-string is refused with 400, nothing runs', async () => {
        const id = crypto.randomUUID();
        // Unclosed, an escape of neither " nor \, a control character, text after the string.
        for (const key of [`"${id}`, `"${id}\\q"`, `"${id}\tx"`, `"${id}"tail`]) {
          const [ran, answer] = await counted(() => send({ key, body: { amount: 1 } }));
          assertRefused(answer, 400, `key ${JSON.stringify(key)}`);
          assert.equal(ran, 0, `key ${JSON.stringify(key)}: the handler did not run`);
        }
      });

      it('a key outside printable ASCII, quoted or bare, is refused with 400, nothing runs', async () => {
        const id = crypto.randomUUID();
        // obs-text (a Latin-1 byte) is the only non-ASCII a header value can carry.
        for (const key of [`"${id}\u00e9"`, `${id}\u00e9`, `${id}\tx`]) {
          const [ran, answer] = await counted(() => send({ key, body: { amount: 1 } }));
          assertRefused(answer, 400, `key ${JSON.stringify(key)}`);
          assert.equal(ran, 0, `key ${JSON.stringify(key)}: the handler did not run`);
        }
      });

      it('more than one key field (a list of strings) is refused with 400, nothing runs', async () => {
        const key = [sfString(fresh('first')), sfString(fresh('second'))];
        const [ran, answer] = await counted(() => send({ key, body: { amount: 1 } }));
        assertRefused(answer, 400, 'two key fields');
        assert.equal(ran, 0, 'two key fields: the handler did not run');
      });

      it(`a key over ${maxKeyLength} characters is refused with 400; one of ${maxKeyLength} runs`, async () => {
        const long = fresh('k').padEnd(maxKeyLength + 1, 'x');
        const [ran, answer] = await counted(() => send({ key: sfString(long), body: { amount: 1 } }));
        assertRefused(answer, 400, `a key of ${long.length} characters`);
        assert.equal(ran, 0, 'over-long key: the handler did not run');
        const [ranLongest, longest] = await counted(() => send({ key: sfString(long.slice(0, maxKeyLength)), body: { amount: 1 } }));
        assertFirst(longest, 201, `a key of ${maxKeyLength} characters`);
        assert.equal(ranLongest, 1);
      });

      it('the sf-string "k" and the bare k are one key', async () => {
        const key = fresh('same');
        const body = { amount: 7 };
        const [ran, [first, second]] = await counted(async () => [await send({ key: sfString(key), body }), await retry({ key, body })]);
        assertFirst(first, 201, 'quoted key');
        assertReplayOf(second, first, 'the bare form of the same key');
        assert.equal(ran, 1, 'one execution for "k" and k');
      });

      it('sf-string escapes are decoded: "a\\\\b\\"c" and the bare a\\b"c are one key', async () => {
        const key = `${fresh('esc')}\\b"c`;
        const body = { amount: 8 };
        const [ran, [first, second]] = await counted(async () => [await send({ key: sfString(key), body }), await retry({ key, body })]);
        assertFirst(first, 201, 'escaped key');
        assertReplayOf(second, first, 'the bare form of the escaped key');
        assert.equal(ran, 1, 'one execution');
      });

      it('keys are case-sensitive: abc and ABC are two operations', async () => {
        const key = fresh('Case');
        const body = { amount: 9 };
        const [ran, [lower, upper]] = await counted(async () => [
          await send({ key: sfString(key.toLowerCase()), body }),
          await retry({ key: sfString(key.toUpperCase()), body }),
        ]);
        assertFirst(lower, 201, 'lower-case key');
        assertFirst(upper, 201, 'upper-case key');
        assert.equal(ran, 2, 'two executions');
        assert.notEqual(lower.text, upper.text);
      });
    });

    describe('first request and retries (draft section 2.6)', () => {
      it("the first answer is the handler's own, without Idempotent-Replayed", async () => {
        const [ran, answer] = await counted(() => send({ key: sfString(fresh('first')), body: { amount: 10 } }));
        assertFirst(answer, 201, 'first request');
        assert.equal(ran, 1, 'one execution');
        assert.equal((JSON.parse(answer.text) as { amount: unknown }).amount, 10);
      });

      it('a retry replays the status, the exact body bytes and the allowlisted headers, with Idempotent-Replayed: true, without running again', async () => {
        const key = sfString(fresh('retry'));
        const body = { amount: 11 };
        const first = await send({ key, body });
        assertFirst(first, 201, 'first request');
        const [ran, replays] = await counted(async () => [await retry({ key, body }), await send({ key, body }), await send({ key, body })]);
        for (const [i, replay] of replays.entries()) assertReplayOf(replay, first, `retry ${i + 1}`);
        assert.equal(ran, 0, 'the retries did not run the handler');
      });

      it('a retry sent as soon as the whole answer arrived is replayed at once, not refused as in progress', async () => {
        for (const stream of [false, true]) {
          const key = sfString(fresh(stream ? 'at-once-streamed' : 'at-once'));
          const body = { amount: 32, stream };
          const first = await send({ key, body });
          assertFirst(first, 201, `first ${stream ? 'streamed ' : ''}answer`);
          // No patience here: the answer was complete on the client, so it is stored.
          assertReplayOf(await send({ key, body }), first, `immediate retry of the ${stream ? 'streamed ' : ''}answer`);
        }
      });

      it('headers outside the allowlist (X-Execution, Set-Cookie) are never replayed', async () => {
        const key = sfString(fresh('headers'));
        const body = { amount: 12 };
        const first = await send({ key, body });
        assertFirst(first, 201, 'first request');
        for (const name of NEVER_REPLAYED) assert.notEqual(first.headers.get(name), null, `the first answer has ${name} (conformance target contract)`);
        const replay = await retry({ key, body });
        assert.equal(replay.headers.get(REPLAYED), 'true', 'a replay');
        for (const name of NEVER_REPLAYED) assert.equal(replay.headers.get(name), null, `${name} is not replayed`);
      });

      it('other 2xx and 3xx answers (200, 202, 303) are stored and replayed', async () => {
        await expectStored([200, 202, 303], 31);
      });

      it('a deterministic 4xx answer (400, 404, 422) is stored and replayed', async () => {
        await expectStored([400, 404, 422], 13);
      });

      it('a 5xx answer (500, 503) is not stored: the retry runs again', async () => {
        await expectNotStored([500, 503], 14);
      });

      it('after a 5xx the key is free: the retry may succeed', async () => {
        const key = sfString(fresh('recover'));
        const [ran, [failed, recovered, replay]] = await counted(async () => [
          await send({ key, body: { amount: 15, status: 503 } }),
          await retry({ key, body: { amount: 15 } }),
          await retry({ key, body: { amount: 15 } }),
        ]);
        assertFirst(failed, 503, 'first answer');
        assertFirst(recovered, 201, 'retry after the 503');
        assertReplayOf(replay, recovered, 'retry after the success');
        assert.equal(ran, 2, 'the failed run and the successful one');
      });

      it('an answer a client retries (408, 409, 425, 429) or must act on (401, 403, 423) is not stored: the retry runs again', async () => {
        await expectNotStored([408, 409, 425, 429, 401, 403, 423], 16);
      });
    });

    describe('the fingerprint (draft sections 2.2, 2.4, 2.7)', () => {
      it('the same key with another body is refused: 422 problem+json, nothing runs, and it stays refused', async () => {
        const key = sfString(fresh('reuse'));
        const first = await send({ key, body: { amount: 17 } });
        assertFirst(first, 201, 'first request');
        const [ran, [reused, again, original]] = await counted(async () => [
          await retry({ key, body: { amount: 18 } }),
          await send({ key, body: { amount: 18 } }),
          await send({ key, body: { amount: 17 } }),
        ]);
        assertRefused(reused, 422, 'another body');
        assertRefused(again, 422, 'the same mismatch, sent again');
        assertReplayOf(original, first, 'the original request after the mismatches');
        assert.equal(ran, 0, 'nothing ran');
      });

      it('the same key on another path (query) is refused with 422', async () => {
        const key = sfString(fresh('path'));
        const body = { amount: 19 };
        const first = await send({ key, body });
        assertFirst(first, 201, 'first request');
        const [ran, other] = await counted(() => retry({ key, body, query: 'variant=other' }));
        assertRefused(other, 422, 'another path');
        assert.equal(ran, 0, 'nothing ran');
      });

      it(`the same key with another method (${otherMethod}) is refused with 422`, async () => {
        const key = sfString(fresh('method'));
        const body = { amount: 20 };
        const first = await send({ key, body });
        assertFirst(first, 201, 'first request');
        const [ran, other] = await counted(() => retry({ key, body, method: otherMethod }));
        assertRefused(other, 422, `${otherMethod} after POST`);
        assert.equal(ran, 0, 'nothing ran');
      });

      it('JSON bodies compare canonically: another key order, whitespace or string escape replays', async () => {
        const key = sfString(fresh('canonical'));
        const first = await send({ key, body: '{"amount":21,"note":{"a":1,"b":[1,2],"s":"caf\\u00e9"}}', contentType: 'application/json' });
        assertFirst(first, 201, 'first request');
        const [ran, replay] = await counted(() =>
          retry({ key, body: ' {\n  "note": { "s": "café", "b": [1, 2], "a": 1 },\n  "amount": 21\n}\n', contentType: 'application/json' }),
        );
        assertReplayOf(replay, first, 'the same JSON, reordered, re-spaced, an escape written out');
        assert.equal(ran, 0, 'nothing ran');
      });

      it('+json media types compare canonically too', async () => {
        const key = sfString(fresh('plus-json'));
        const contentType = 'application/merge-patch+json';
        const first = await send({ key, body: '{"amount":29,"note":"x"}', contentType });
        assertFirst(first, 201, 'first request');
        const [ran, replay] = await counted(() => retry({ key, body: '{ "note": "x", "amount": 29 }', contentType }));
        assertReplayOf(replay, first, 'the same +json value, reordered');
        assert.equal(ran, 0, 'nothing ran');
      });

      it('other bodies compare by their bytes: the same bytes replay, other bytes are refused with 422', async () => {
        const key = sfString(fresh('bytes'));
        const first = await send({ key, body: 'note: one order' });
        assertFirst(first, 201, 'first request (text/plain)');
        const [ran, [replay, changed]] = await counted(async () => [
          await retry({ key, body: 'note: one order' }),
          await send({ key, body: 'note:  one order' }),
        ]);
        assertReplayOf(replay, first, 'the same bytes');
        assertRefused(changed, 422, 'one space more');
        assert.equal(ran, 0, 'nothing ran');
      });
    });

    const clients = options.clients;
    if (clients) {
      describe('keys per client (draft section 5)', () => {
        it('one key from two clients is two operations: neither gets the other\'s answer', async () => {
          const key = sfString(fresh('client'));
          const body = { amount: 27 };
          const [ran, [a, b, aAgain, bOther]] = await counted(async () => [
            await send({ key, body, client: clients[0] }),
            await send({ key, body, client: clients[1] }),
            await retry({ key, body, client: clients[0] }),
            await retry({ key, body: { amount: 28 }, client: clients[1] }),
          ]);
          assertFirst(a, 201, 'client A');
          assertFirst(b, 201, 'client B, same key');
          assert.notEqual(b.text, a.text, 'client B did not get client A\'s answer');
          assertReplayOf(aAgain, a, 'client A\'s retry');
          assertRefused(bOther, 422, 'client B reusing its key with another body');
          assert.equal(ran, 2, 'one execution per client');
        });
      });
    }

    describe('concurrent requests (draft sections 2.6, 2.7)', () => {
      if (mode === 'reject') {
        it('a duplicate while the first runs is refused: 409 problem+json with Retry-After; the retry after it gets the first answer', async () => {
          const key = sfString(fresh('inflight'));
          const body = { amount: 22, delayMs: 1000 };
          const [ran, [first, duplicate, after]] = await counted(async () => {
            const { first, second } = await sendWhileRunning({ key, body }, { key, body });
            return [first, second, await retry({ key, body })] as const;
          });
          assertFirst(first, 201, 'first request');
          assertRefused(duplicate, 409, 'duplicate in flight');
          const retryAfter = duplicate.headers.get('retry-after');
          assert.ok(retryAfter !== null && (/^\d+$/.test(retryAfter) || !Number.isNaN(Date.parse(retryAfter))), `Retry-After is seconds or a date, got ${retryAfter}`);
          assertReplayOf(after, first, 'retry after the first finished');
          assert.equal(ran, 1, 'one execution');
        });
      } else {
        it('a duplicate while the first runs waits for it and gets its answer, replayed', async () => {
          const key = sfString(fresh('inflight'));
          const body = { amount: 22, delayMs: 1000 };
          const [ran, { first, second: duplicate }] = await counted(() => sendWhileRunning({ key, body }, { key, body }));
          assertFirst(first, 201, 'first request');
          assertReplayOf(duplicate, first, 'duplicate in flight');
          assert.equal(ran, 1, 'one execution');
        });

        it('a duplicate waiting on a first request that ends in a 5xx runs itself (the key was released)', async () => {
          const key = sfString(fresh('inflight-503'));
          const body = { amount: 30, status: 503, delayMs: 600 };
          const [ran, { first, second: duplicate }] = await counted(() => sendWhileRunning({ key, body }, { key, body }));
          assertFirst(first, 503, 'first request');
          assertFirst(duplicate, 503, 'the waiting duplicate, run after the release');
          assert.notEqual(duplicate.text, first.text, 'the duplicate has its own answer');
          assert.equal(ran, 2, 'the duplicate ran');
        });
      }

      it('another body while the first runs is refused with 422 at once (no 409, no waiting)', async () => {
        const key = sfString(fresh('inflight-reuse'));
        const [ran, { first, second: other, firstWasRunning }] = await counted(() =>
          sendWhileRunning({ key, body: { amount: 33, delayMs: 600 } }, { key, body: { amount: 34 } }),
        );
        assertFirst(first, 201, 'first request');
        assertRefused(other, 422, 'another body while the first runs');
        assert.ok(firstWasRunning, 'the 422 came while the first request still ran');
        assert.equal(ran, 1, 'one execution');
      });

      it(`a race of ${raceSize} requests with one key runs once; every 2xx answer is the same`, async () => {
        const key = sfString(fresh('race'));
        const body = { amount: 23, delayMs: 100 };
        const [ran, answers] = await counted(() => Promise.all(Array.from({ length: raceSize }, () => send({ key, body }))));
        assert.equal(ran, 1, 'exactly one execution');
        const successes = answers.filter((a) => a.status >= 200 && a.status < 300);
        const own = successes.filter((a) => a.headers.get(REPLAYED) === null);
        assert.equal(own.length, 1, 'exactly one answer is the handler\'s own; the others are replays or refusals');
        for (const [i, answer] of successes.entries()) if (answer !== own[0]) assertReplayOf(answer, own[0] as Answer, `answer ${i}`);
        for (const answer of answers) {
          if (answer.status >= 200 && answer.status < 300) continue;
          assert.equal(mode, 'reject', `in wait mode every duplicate gets the answer, got ${answer.status}`);
          assertRefused(answer, 409, 'a refused duplicate');
        }
      });
    });

    describe('streamed answers', () => {
      it('a streamed answer reaches the client as it is produced, and is replayed whole', async () => {
        const key = sfString(fresh('stream'));
        const body = { amount: 24, stream: true };
        const [ran, [first, arrival, replay]] = await counted(async () => {
          const [first, arrival] = await readTimed(await start({ key, body }));
          return [first, arrival, await retry({ key, body })] as const;
        });
        assertFirst(first, 201, 'streamed first answer');
        assert.ok(arrival.spanMs >= 15, `the body came in parts as produced (${arrival.reads} reads over ${arrival.spanMs} ms), not buffered whole`);
        assertReplayOf(replay, first, 'retry of the streamed answer');
        assert.equal(ran, 1, 'one execution');
      });

      it('a stream that fails stores nothing: the retry runs again', async () => {
        const key = sfString(fresh('broken'));
        const body = { amount: 25, stream: true, fail: true };
        const [ran, [first, second]] = await counted(async () => [await readBroken(await start({ key, body })), await readBrokenRetry({ key, body })]);
        assert.equal(first.complete, false, 'the client saw a broken body');
        assert.equal(second.response.headers.get(REPLAYED), null, 'the retry is not a replay');
        assert.equal(second.complete, false, 'the retry ran and broke again');
        assert.equal(ran, 2, 'the retry ran again');
      });

      it('a client that cancels a streamed answer leaves nothing stored: the retry runs again', async () => {
        const key = sfString(fresh('cancel'));
        // Chunks 300 ms apart: the server has that long to notice the client left before its
        // answer is complete (a busy machine must not make a correct server look wrong).
        const body = { amount: 26, stream: true, chunkDelayMs: 300 };
        const [ran, second] = await counted(async () => {
          const abort = new AbortController();
          const response = await start({ key, body }, abort.signal);
          assert.equal(response.status, 201);
          const reader = (response.body as ReadableStream<Uint8Array>).getReader();
          await reader.read();
          abort.abort();
          await reader.cancel().catch(() => undefined);
          await sleep(700); // the stream would have finished by now, had the server not stopped it
          return retry({ key, body });
        });
        assertFirst(second, 201, 'retry after the cancelled answer');
        assert.equal(ran, 2, 'the retry ran again');
      });
    });

    describe('methods outside idempotency', () => {
      it('GET passes through without a key and is never replayed', async () => {
        const url = await endpoint();
        const key = sfString(fresh('get'));
        for (const sent of [null, key, key]) {
          const headers = sent === null ? undefined : { [header]: sent };
          const answer = await read(await doFetch(url, { method: 'GET', headers }));
          assert.equal(answer.status, 200, 'GET answers 200');
          assert.equal(answer.headers.get(REPLAYED), null, 'GET is never a replay');
          assert.equal(typeof (JSON.parse(answer.text) as { executions?: unknown }).executions, 'number');
        }
      });
    });
  });

  /** Waits until the endpoint has started more executions than `before` (the first of two requests runs). */
  async function untilExecuting(before: number): Promise<void> {
    const deadline = Date.now() + 5000;
    while ((await executions()) === before) {
      assert.ok(Date.now() < deadline, 'the first request never started executing');
      await sleep(10);
    }
  }

  /** A retry of a broken stream, patient with 409 while the server releases the key. */
  async function readBrokenRetry(request: Send) {
    const deadline = Date.now() + SETTLE_MS;
    for (;;) {
      const response = await start(request);
      if (response.status !== 409 || Date.now() > deadline) return readBroken(response);
      await response.arrayBuffer().catch(() => undefined);
      await sleep(50);
    }
  }
}

/** `value` as an RFC 8941 sf-string. */
function sfString(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

async function read(response: Response): Promise<Answer> {
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, bytes, text: new TextDecoder().decode(bytes) };
}

/** Reads the body chunk by chunk: how many reads it took and the time between the first and the last. */
async function readTimed(response: Response): Promise<[Answer, { reads: number; spanMs: number }]> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const parts: Uint8Array[] = [];
  const times: number[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    times.push(performance.now());
  }
  const bytes = concat(parts);
  const answer = { status: response.status, headers: response.headers, bytes, text: new TextDecoder().decode(bytes) };
  return [answer, { reads: parts.length, spanMs: Math.round((times.at(-1) ?? 0) - (times[0] ?? 0)) }];
}

/** Reads a body that should break: whether it came complete (valid JSON of the target's shape). */
async function readBroken(response: Response): Promise<{ response: Response; complete: boolean }> {
  try {
    const text = await response.text();
    const body = JSON.parse(text) as { id?: unknown };
    return { response, complete: typeof body.id === 'string' };
  } catch {
    return { response, complete: false };
  }
}

function isProblem(answer: Answer): boolean {
  return /^application\/problem\+json\b/i.test(answer.headers.get('content-type') ?? '');
}

/** oncely's error code (problem member `code`) for each refusal status the suite provokes. */
const CODES: Record<number, string> = { 400: 'IDEMPOTENCY_KEY_(MISSING|INVALID)', 409: 'IDEMPOTENCY_KEY_IN_USE', 422: 'IDEMPOTENCY_KEY_REUSED' };

/** An RFC 9457 problem: its media type, and the members type, title and status (= the HTTP status). */
function assertProblem(answer: Answer, status: number, what: string, codes = false): void {
  assert.equal(answer.status, status, `${what}: status ${status} (body ${answer.text.slice(0, 300)})`);
  assert.ok(isProblem(answer), `${what}: Content-Type application/problem+json, got ${answer.headers.get('content-type')}`);
  const problem = JSON.parse(answer.text) as Record<string, unknown>;
  assert.equal(typeof problem.type, 'string', `${what}: problem member "type"`);
  assert.equal(typeof problem.title, 'string', `${what}: problem member "title"`);
  assert.equal(problem.status, status, `${what}: problem member "status" is the HTTP status`);
  if ('detail' in problem) assert.equal(typeof problem.detail, 'string', `${what}: problem member "detail" is a string`);
  assert.equal(answer.headers.get(REPLAYED), null, `${what}: a refusal is not a replay`);
  if (!codes) return;
  assert.match(String(problem.code), new RegExp(`^${CODES[status] ?? '-'}$`), `${what}: problem member "code"`);
  assert.equal(typeof problem.detail, 'string', `${what}: problem member "detail"`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
