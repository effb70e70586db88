/** oncely/http's idempotent() around a plain fetch handler: Request in, Response out, no server. */
import { MemoryStore } from 'oncely';
import { idempotent } from 'oncely/http';
import { equal, freshKey, gate, ok, spec } from '../harness.js';

interface Problem {
  type: string;
  status: number;
  code: string;
}

function app(options: { inProgress?: 'reject' | 'wait'; hold?: Promise<void> } = {}) {
  let executions = 0;
  const handler = idempotent(
    async (request: Request) => {
      const n = ++executions;
      const body = (await request.json()) as { amount: number; stream?: boolean };
      if (options.hold) await options.hold;
      const text = JSON.stringify({ id: crypto.randomUUID(), amount: body.amount, execution: n });
      const headers = { 'content-type': 'application/json', location: `/orders/${n}`, 'x-execution': String(n), 'set-cookie': `s=${n}` };
      if (!body.stream) return new Response(text, { status: 201, headers });
      // The body in three chunks, 10 ms apart: stored only once the last one went through.
      const bytes = new TextEncoder().encode(text);
      const third = Math.ceil(bytes.length / 3);
      let i = 0;
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 10));
          if (i >= bytes.length) return controller.close();
          controller.enqueue(bytes.slice(i, i + third));
          i += third;
        },
      });
      return new Response(stream, { status: 201, headers });
    },
    { store: new MemoryStore(), ...(options.inProgress ? { inProgress: options.inProgress } : {}) },
  );
  const post = (key: string | undefined, body: unknown, path = '/orders') =>
    handler(
      new Request(`https://shop.test${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { 'idempotency-key': key }) },
        body: JSON.stringify(body),
      }),
    );
  return { post, executions: () => executions };
}

spec('http: first answer stored; the retry gets its status, body and allowlisted headers, marked replayed', async () => {
  const { post, executions } = app();
  const key = freshKey('http');
  const first = await post(`"${key}"`, { amount: 42 });
  const firstText = await first.text();
  equal(first.status, 201);
  // Bare and sf-string forms are the same key; key order of a JSON body does not matter.
  const retry = await post(key, { amount: 42 });
  equal(retry.status, 201, 'replayed status');
  equal(await retry.text(), firstText, 'replayed body');
  equal(retry.headers.get('idempotent-replayed'), 'true');
  equal(retry.headers.get('location'), '/orders/1', 'Location replayed');
  equal(retry.headers.get('content-type'), 'application/json', 'Content-Type replayed');
  equal(retry.headers.get('x-execution'), null, 'a header outside the allowlist is not replayed');
  equal(retry.headers.get('set-cookie'), null, 'Set-Cookie is never replayed');
  equal(executions(), 1);
});

spec('http: the same key with another body gets 422 problem details; a missing key 400', async () => {
  const { post, executions } = app();
  const key = freshKey('http-reuse');
  await (await post(key, { amount: 1 })).text();
  const reused = await post(key, { amount: 2 });
  equal(reused.status, 422);
  equal(reused.headers.get('content-type')?.split(';')[0], 'application/problem+json');
  const problem = (await reused.json()) as Problem;
  equal(problem.code, 'IDEMPOTENCY_KEY_REUSED');
  equal(problem.status, 422);
  const missing = await post(undefined, { amount: 1 });
  equal(missing.status, 400);
  equal(((await missing.json()) as Problem).code, 'IDEMPOTENCY_KEY_MISSING');
  equal(executions(), 1);
});

spec('http: a duplicate while the first runs gets 409 with Retry-After', async () => {
  const hold = gate();
  const { post, executions } = app({ hold: hold.promise });
  const key = freshKey('http-busy');
  const first = post(key, { amount: 7 });
  while (executions() === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  const duplicate = await post(key, { amount: 7 });
  equal(duplicate.status, 409);
  ok(duplicate.headers.get('retry-after'), 'Retry-After set');
  equal(((await duplicate.json()) as Problem).code, 'IDEMPOTENCY_KEY_IN_USE');
  hold.open();
  equal((await first).status, 201);
});

spec('http: a streamed answer reaches the client in chunks and is stored before its end reaches the client', async () => {
  const { post, executions } = app();
  const key = freshKey('http-stream');
  const first = await post(key, { amount: 9, stream: true });
  const reader = first.body!.getReader();
  let chunks = 0;
  let text = '';
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks++;
    text += decoder.decode(value, { stream: true });
  }
  ok(chunks >= 2, `the body came in chunks (${chunks})`);
  const retry = await post(key, { amount: 9, stream: true });
  equal(retry.headers.get('idempotent-replayed'), 'true');
  equal(await retry.text(), text, 'the replay is the whole streamed body');
  equal(executions(), 1);
});
