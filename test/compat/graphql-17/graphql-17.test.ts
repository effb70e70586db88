import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// package.json claims graphql ^17. The main suite runs on graphql 16 (vitest pins one graphql for
// everything), so this folder's server.mjs runs in its own Node process with this folder's
// graphql 17 and GraphQL Yoga and the built oncely (dist/), and is spoken to over HTTP.
const here = fileURLToPath(new URL('.', import.meta.url));

interface Answer {
  status: number;
  replayed: string | null;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

describe('the Envelop plugin on graphql 17 with GraphQL Yoga', () => {
  let server: ChildProcess;
  let url = '';
  let graphqlVersion = '';

  beforeAll(async () => {
    server = spawn(process.execPath, ['--import', './register.mjs', 'server.mjs'], { cwd: here, stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(server.stdout!, 'data')) as [Buffer];
    ({ url, graphql: graphqlVersion } = JSON.parse(line.toString()) as { url: string; graphql: string });
  });
  afterAll(async () => {
    if (server?.exitCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
  });

  async function post(query: string, variables: Record<string, unknown>, key?: string): Promise<Answer> {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return { status: res.status, replayed: res.headers.get('idempotent-replayed'), body: (await res.json()) as Answer['body'] };
  }
  const calls = async () => (await post('{ calls { pay decline charge } }', {})).body.data!.calls as Record<string, number>;

  it('runs on graphql 17', () => {
    expect(graphqlVersion).toMatch(/^17\./);
  });

  it('runs a keyed mutation once and replays the same answer to the retry', async () => {
    const key = randomUUID();
    const pay = 'mutation Pay($amount: Int!) { pay(amount: $amount) { id amount } }';
    const before = await calls();
    const first = await post(pay, { amount: 5 }, key);
    const retry = await post(pay, { amount: 5 }, key);
    expect(first.status).toBe(200);
    expect(first.replayed).toBeNull();
    expect(retry.status).toBe(200);
    expect(retry.replayed).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect((await calls()).pay).toBe(before.pay! + 1);
  });

  it('refuses the key with other variables (422, IDEMPOTENCY_KEY_REUSED) without running', async () => {
    const key = randomUUID();
    const pay = 'mutation Pay($amount: Int!) { pay(amount: $amount) { id amount } }';
    await post(pay, { amount: 5 }, key);
    const before = await calls();
    const other = await post(pay, { amount: 6 }, key);
    expect(other.status).toBe(422);
    expect(other.body.errors![0]!.extensions).toEqual({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect((await calls()).pay).toBe(before.pay);
  });

  it("replays the resolver's own GraphQLError with its code and status", async () => {
    const key = randomUUID();
    const decline = 'mutation Decline { decline(amount: 1) { id } }';
    const before = await calls();
    const first = await post(decline, {}, key);
    const retry = await post(decline, {}, key);
    expect(first.status).toBe(402);
    expect(first.body.errors![0]!.message).toBe('card declined');
    expect(first.body.errors![0]!.extensions).toEqual({ code: 'CARD_DECLINED' });
    expect(retry.status).toBe(402);
    expect(retry.replayed).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect((await calls()).decline).toBe(before.decline! + 1);
  });

  it('keys a root field by its idempotencyKey argument', async () => {
    const key = randomUUID();
    const charge = 'mutation Charge($key: String) { charge(amount: 7, idempotencyKey: $key) { id amount } }';
    const before = await calls();
    const first = await post(charge, { key });
    const retry = await post(charge, { key });
    expect(first.body.data).toEqual(retry.body.data);
    expect((first.body.data!.charge as { amount: number }).amount).toBe(7);
    expect((await calls()).charge).toBe(before.charge! + 1);
  });
});
