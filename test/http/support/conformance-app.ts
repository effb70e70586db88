/**
 * The endpoint of the conformance target contract (docs/http.md, "Conformance test"), as a plain
 * fetch handler with no idempotency of its own: wrap it in the layer under test.
 */
export interface OrdersApp {
  handle(request: Request): Promise<Response>;
  /** How many times a POST (or other non-GET) request ran. */
  executions(): number;
}

interface OrderInput {
  amount?: unknown;
  status?: unknown;
  delayMs?: unknown;
  stream?: unknown;
  fail?: unknown;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/i;

export function createOrdersApp(): OrdersApp {
  let executions = 0;

  async function handle(request: Request): Promise<Response> {
    if (request.method === 'GET') return Response.json({ executions });
    const input = await inputOf(request);
    const execution = ++executions;
    if (typeof input.delayMs === 'number' && input.delayMs > 0) await sleep(input.delayMs);
    const id = crypto.randomUUID();
    const amount = typeof input.amount === 'number' ? input.amount : 0;
    const body = JSON.stringify({ id, amount, execution });
    const status = typeof input.status === 'number' ? input.status : 201;
    const headers = {
      'content-type': 'application/json',
      location: `/orders/${id}`,
      etag: `"${id}"`,
      'x-execution': String(execution),
      'set-cookie': `s=${id}`,
    };
    if (input.stream !== true) return new Response(body, { status, headers });
    return new Response(chunked(body, input.fail === true), { status, headers });
  }

  return { handle, executions: () => executions };
}

async function inputOf(request: Request): Promise<OrderInput> {
  const text = await request.text();
  if (!JSON_TYPE.test(request.headers.get('content-type') ?? '')) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' ? (parsed as OrderInput) : {};
  } catch {
    return {};
  }
}

/** The body in 3 chunks 20 ms apart; with `fail`, the stream errors after the first chunk. */
function chunked(body: string, fail: boolean): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(body);
  const third = Math.ceil(bytes.length / 3);
  const chunks = [bytes.slice(0, third), bytes.slice(third, 2 * third), bytes.slice(2 * third)];
  let next = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (next > 0) await sleep(20);
      if (fail && next === 1) {
        controller.error(new Error('the order stream failed'));
        return;
      }
      controller.enqueue(chunks[next] as Uint8Array);
      next += 1;
      if (next === chunks.length) controller.close();
    },
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
