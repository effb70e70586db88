// A fake payment provider, served over HTTP like a real one. It never deduplicates: every charge
// request is a new charge, counted per provider key (the Idempotency-Key the shop sends it) and
// per order. A count above 1 is a second charge oncely did not prevent.

export interface ProviderCounts {
  /** Charge requests received per provider key. */
  byKey: Record<string, number>;
  /** Charge requests received per order. */
  byOrder: Record<string, number>;
  /** Charge requests received in all. */
  total: number;
}

export interface ChargeRequest {
  order: string;
  /** Cents. */
  amount: number;
}

export interface Charge extends ChargeRequest {
  id: string;
  providerKey: string;
}

/**
 * `POST /charges` (header `Idempotency-Key`, body `{ order, amount }`) charges and answers the
 * charge; `GET /charges` answers the counts. Test hook: `X-Delay-Ms` holds the answer back after
 * the charge is counted, so a caller can die while its charge is in flight.
 */
export function createProvider(): (request: Request) => Promise<Response> {
  const counts: ProviderCounts = { byKey: {}, byOrder: {}, total: 0 };
  return async (request) => {
    const { pathname } = new URL(request.url);
    if (pathname !== '/charges') return new Response('not found', { status: 404 });
    if (request.method === 'GET') return Response.json(counts);
    if (request.method !== 'POST') return new Response('method not allowed', { status: 405 });
    const providerKey = request.headers.get('Idempotency-Key');
    const body = (await request.json()) as ChargeRequest;
    if (!providerKey || typeof body.order !== 'string' || !Number.isInteger(body.amount)) {
      return Response.json({ error: 'Idempotency-Key header, order and amount are required' }, { status: 400 });
    }
    counts.byKey[providerKey] = (counts.byKey[providerKey] ?? 0) + 1;
    counts.byOrder[body.order] = (counts.byOrder[body.order] ?? 0) + 1;
    counts.total++;
    const delayMs = Number(request.headers.get('X-Delay-Ms') ?? 0);
    if (delayMs > 0) await new Promise((done) => setTimeout(done, delayMs));
    const charge: Charge = { id: `ch_${crypto.randomUUID().slice(0, 8)}`, providerKey, order: body.order, amount: body.amount };
    return Response.json(charge, { status: 201 });
  };
}

/** The shop's side: one charge request to the provider at `baseUrl`. */
export async function requestCharge(baseUrl: string, providerKey: string, charge: ChargeRequest, delayMs?: number): Promise<Charge> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'Idempotency-Key': providerKey };
  if (delayMs) headers['X-Delay-Ms'] = String(delayMs);
  const response = await fetch(new URL('/charges', baseUrl), { method: 'POST', headers, body: JSON.stringify(charge) });
  if (response.status !== 201) throw new Error(`the provider answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as Charge;
}

/** The provider's counts. */
export async function providerCounts(baseUrl: string): Promise<ProviderCounts> {
  const response = await fetch(new URL('/charges', baseUrl));
  if (response.status !== 200) throw new Error(`the provider answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as ProviderCounts;
}
