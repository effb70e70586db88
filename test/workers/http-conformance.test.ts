// runHttpConformance (oncely/testing) over HTTP against oncely/http running in workerd
// (Miniflare), with PrismaStore on D1: the conformance target contract, in reject and wait mode.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { runHttpConformance } from 'oncely/testing';
import { type RunningWorker, startHarness } from './worker-under-test.js';

const CLIENTS = [{ 'x-client': 'alice' }, { 'x-client': 'bob' }] as const;

// workerd gzips JSON answers for clients that accept gzip, and its gzip stream holds small chunks
// back until the end: a streamed answer would reach this client in one piece (and a cancel after
// the first chunk would come too late), whatever oncely does. Asking for no encoding lets the
// streaming tests see the chunks as the Worker sends them.
const identityFetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const headers = new Headers(init?.headers);
  headers.set('Accept-Encoding', 'identity');
  return fetch(input, { ...init, headers });
};

// workerd never calls a streamed answer's cancel() when its client leaves; it stops the request
// instead. With the compatibility flag enable_request_signal (examples/worker/miniflare.ts) it
// aborts request.signal, which oncely/http listens to: the key is given back at once and the
// "client cancels a streamed answer" test passes here too. Without the flag the key stays held
// until its lease ends (docs/workers.md).

let worker: RunningWorker | undefined;

beforeAll(async () => {
  worker = await startHarness();
});

afterAll(async () => {
  await worker?.dispose();
});

for (const inProgress of ['reject', 'wait'] as const) {
  describe(`oncely/http in workerd, PrismaStore on D1 (${inProgress})`, () => {
    runHttpConformance({
      name: `workerd + D1, ${inProgress}`,
      url: () => {
        if (!worker) throw new Error('the Worker did not start');
        return new URL(`/conformance/${inProgress}`, worker.url);
      },
      inProgress,
      clients: CLIENTS,
      problemCodes: true,
      fetch: identityFetch,
      describe,
      it,
    });
  });
}
