import { AssertionError } from 'node:assert';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/index.js';
import type { HttpStoreOptions } from '../../src/http/index.js';
import { runHttpConformance } from '../../src/testing/index.js';
import { type TestOutcome, collectingRunner, runCollected } from './support/conformance-runner.js';
import { type Mutations, standIn } from './support/conformance-standin.js';
import { serveFetchHandler } from './support/servers.js';
import { conformanceTarget, targetEndpoint } from './support/target.js';

// The suite must be able to fail: each server below breaks one requirement, and the tests named for
// that requirement must fail on an assertion (not on a crash), while they pass on the unbroken server.

interface Mutant {
  mutations: Mutations;
  /** Parts of the names of the tests that must fail. */
  fails: string[];
  /** The mode the suite is told; the stand-in runs in `serverMode` (default the same). */
  mode?: 'reject' | 'wait';
  serverMode?: 'reject' | 'wait';
}

const mutants: Record<string, Mutant> = {
  'never replays (runs every request)': { mutations: { neverReplays: true }, fails: ['a retry replays the status', 'a race of', 'are stored and replayed', 'is stored and replayed'] },
  'replays Set-Cookie and X-Execution': { mutations: { replaysAllHeaders: true }, fails: ['headers outside the allowlist'] },
  'replays Content-Type only (no Location, no ETag)': { mutations: { replaysContentTypeOnly: true }, fails: ['a retry replays the status', 'is stored and replayed'] },
  'replays without Idempotent-Replayed': { mutations: { noReplayMarker: true }, fails: ['a retry replays the status', 'is stored and replayed'] },
  'replays re-encoded JSON instead of the exact bytes': { mutations: { reencodesJson: true }, fails: ['a retry replays the status'] },
  'leaves the body out of the fingerprint': { mutations: { ignoresBody: true }, fails: ['the same key with another body', 'other bodies compare by their bytes'] },
  'leaves the path out of the fingerprint': { mutations: { ignoresPath: true }, fails: ['on another path'] },
  'leaves the method out of the fingerprint': { mutations: { ignoresMethod: true }, fails: ['with another method'] },
  'compares JSON bodies by their bytes': { mutations: { rawJson: true }, fails: ['JSON bodies compare canonically'] },
  'compares only application/json canonically': { mutations: { plainJsonOnly: true }, fails: ['+json media types compare canonically'] },
  'answers 409 to a waiter whose first request released the key': { mutations: { waiterGivesUp: true }, mode: 'wait', fails: ['a duplicate waiting on a first request that ends in a 5xx'] },
  'stores 5xx answers': { mutations: { storesServerErrors: true }, fails: ['a 5xx answer', 'after a 5xx the key is free'] },
  'keeps the key claimed after a 5xx': { mutations: { keepsClaimOnError: true }, fails: ['a 5xx answer'] },
  'stores 408, 409, 425 and 429 answers': { mutations: { storesRetryable: true }, fails: ['an answer a client retries'] },
  'stores 401, 403 and 423 answers': { mutations: { storesAuthErrors: true }, fails: ['an answer a client retries'] },
  'never stores 4xx answers': { mutations: { forgetsClientErrors: true }, fails: ['a deterministic 4xx answer'] },
  'keeps the quotes of an sf-string in the key': { mutations: { quotesInKey: true }, fails: ['the sf-string "k" and the bare k', 'sf-string escapes are decoded'] },
  'compares keys case-insensitively': { mutations: { caseInsensitive: true }, fails: ['keys are case-sensitive'] },
  'has no claim (read, run, write), reject mode': { mutations: { noClaim: true }, fails: ['a duplicate while the first runs', 'a race of'] },
  'has no claim (read, run, write), wait mode': { mutations: { noClaim: true }, mode: 'wait', fails: ['a duplicate while the first runs', 'a race of'] },
  'answers 409 to another body while the first runs': { mutations: { mismatchWaits: true }, fails: ['another body while the first runs'] },
  'makes another body wait for the first before its 422': { mutations: { mismatchWaits: true }, mode: 'wait', fails: ['another body while the first runs'] },
  'rejects duplicates although waiting was promised': { mutations: {}, mode: 'wait', serverMode: 'reject', fails: ['a duplicate while the first runs waits', 'a race of'] },
  'takes a malformed sf-string as a bare key': { mutations: { lenientSyntax: true }, fails: ['a malformed sf-string', 'more than one key field'] },
  'answers errors as application/json': { mutations: { plainErrors: true }, fails: ['a POST without the key', 'the same key with another body', 'a duplicate while the first runs'] },
  'runs requests without a key': { mutations: { optionalKey: true }, fails: ['a POST without the key'] },
  'accepts bare keys outside printable ASCII': { mutations: { anyCharacters: true }, fails: ['a key outside printable ASCII'] },
  'accepts keys of any length': { mutations: { unlimitedKeys: true }, fails: ['a key over 255 characters'] },
  'answers 409 without Retry-After': { mutations: { noRetryAfter: true }, fails: ['a duplicate while the first runs'] },
  'stores a broken or cancelled stream': { mutations: { storesBrokenStreams: true }, fails: ['a stream that fails stores nothing', 'a client that cancels'] },
  'stores the answer after the client got it': { mutations: { storesLate: true }, fails: ['replayed at once'] },
  'buffers the first streamed answer': { mutations: { buffersStreams: true }, fails: ['reaches the client as it is produced'] },
  'puts GET through the idempotency layer': { mutations: { guardsGet: true }, fails: ['GET passes through'] },
  'lets the keys of two clients meet': { mutations: { ignoresClient: true }, fails: ['one key from two clients'] },
};

const CLIENTS = [{ 'x-client': 'alice' }, { 'x-client': 'bob' }] as const;

interface Target {
  fetch: (request: Request) => Promise<Response>;
  executions: () => number;
}

/** The target endpoint (no idempotency of its own) behind the stand-in layer with the mutant's breakage. */
function standInTarget(mutant: Mutant): Target {
  const endpoint = targetEndpoint();
  const mode = mutant.serverMode ?? mutant.mode ?? 'reject';
  return { fetch: standIn(endpoint.fetch, { inProgress: mode, mutations: mutant.mutations, clientHeader: 'x-client' }), executions: endpoint.executions };
}

/** Runs the suite (or only the tests `mutant.fails` names) against the target on a node:http server. */
async function outcomesOf(mutant: Mutant, onlyFailing: boolean, target = standInTarget(mutant), clients: typeof CLIENTS | undefined = CLIENTS) {
  const served = await serveFetchHandler(target.fetch);
  try {
    const runner = collectingRunner();
    runHttpConformance({ name: 'mutant', url: `${served.origin}/orders`, inProgress: mutant.mode ?? 'reject', executions: target.executions, clients, ...runner });
    const tests = onlyFailing ? runner.tests.filter((t) => mutant.fails.some((part) => t.name.includes(part))) : runner.tests;
    return await runCollected(tests);
  } finally {
    await served.close();
  }
}

function expectFailures(mutant: Mutant, outcomes: TestOutcome[]) {
  for (const part of mutant.fails) {
    const matching = outcomes.filter((o) => o.name.includes(part));
    expect(matching.length, `tests named "${part}"`).toBeGreaterThan(0);
    for (const outcome of matching) {
      expect(outcome.error, `"${outcome.name}" must fail`).toBeDefined();
      expect(outcome.error, `"${outcome.name}" fails on an assertion: ${String(outcome.error)}`).toBeInstanceOf(AssertionError);
    }
  }
}

// oncely/http itself, misconfigured: the same suite must catch these too.
const misconfigured: Record<string, { options: Partial<HttpStoreOptions<Request>>; mutant: Mutant }> = {
  'replays Set-Cookie and X-Execution (replayHeaders)': {
    options: { replayHeaders: ['Set-Cookie', 'X-Execution'] },
    mutant: { mutations: {}, fails: ['headers outside the allowlist'] },
  },
  'guards PATCH only (POST unprotected)': {
    options: { methods: ['PATCH'] },
    mutant: { mutations: {}, fails: ['a POST without the key', 'a retry replays the status', 'a race of'] },
  },
  'runs requests without a key (required: false)': { options: { required: false }, mutant: { mutations: {}, fails: ['a POST without the key'] } },
  'rejects duplicates although the suite expects waiting': {
    options: { inProgress: 'reject' },
    mutant: { mutations: {}, mode: 'wait', fails: ['a duplicate while the first runs waits', 'a race of'] },
  },
};

describe('runHttpConformance can fail', () => {
  it('passes whole on the unbroken stand-in, in reject and in wait mode (the baseline of the mutants)', async () => {
    for (const mode of ['reject', 'wait'] as const) {
      const outcomes = await outcomesOf({ mutations: {}, mode, fails: [] }, false);
      expect(outcomes.length).toBeGreaterThan(20);
      expect(outcomes.filter((o) => o.error).map((o) => `${o.name}: ${String(o.error)}`)).toEqual([]);
    }
  });

  for (const [name, mutant] of Object.entries(mutants)) {
    it(`catches a server that ${name}`, async () => {
      expectFailures(mutant, await outcomesOf(mutant, true));
    });
  }

  for (const [name, { options, mutant }] of Object.entries(misconfigured)) {
    it(`catches oncely/http that ${name}`, async () => {
      const target = conformanceTarget({ store: new MemoryStore(), inProgress: mutant.mode ?? 'reject', ...options });
      // Keys are not scoped per client here: no per-client test.
      expectFailures(mutant, await outcomesOf(mutant, true, target, undefined));
    });
  }
});
