/**
 * The conformance target (docs: /work/notes/http-design.md, "The conformance target contract"):
 * a fetch handler wrapped by `idempotent` that counts its executions. Web-standard only, so the
 * runtime specs can mount it on Bun, Deno and workerd as well as Node.
 *
 * POST (guarded, key required), per JSON body `{ amount, status?, delayMs?, stream?, chunkDelayMs?, fail? }`:
 * one execution increments the counter, waits `delayMs`, answers `status` (default 201) with
 * Content-Type application/json, Location /orders/<id>, ETag "<id>", X-Execution <n> (not
 * replayed), Set-Cookie s=<id> (never replayed) and `{"id","amount","execution"}`; `stream` sends
 * that body in 3 chunks `chunkDelayMs` (default 20) apart; `fail` errors the stream after its first chunk. Bodies that
 * are not JSON are answered 201 with amount 0. GET answers 200 `{"executions": <total>}`.
 */
import { type HttpIdempotencyOptions, idempotent } from '../../../src/http/index.js';

export interface ConformanceTarget {
  /** The endpoint: mount it at any URL (every path answers the same). */
  fetch: (request: Request) => Promise<Response>;
  /** Executions so far (the GET answer's number). */
  executions(): number;
}

export interface Order {
  amount?: unknown;
  status?: unknown;
  delayMs?: unknown;
  stream?: unknown;
  chunkDelayMs?: unknown;
  fail?: unknown;
}

export const CHUNKS = 3;
export const CHUNK_GAP_MS = 20;

/** The gap between the chunks of a streamed answer: `chunkDelayMs`, default 20 ms. */
export function chunkGapOf(order: Order): number {
  return typeof order.chunkDelayMs === 'number' && order.chunkDelayMs >= 0 ? order.chunkDelayMs : CHUNK_GAP_MS;
}

export function conformanceTarget(options: HttpIdempotencyOptions<Request, unknown>): ConformanceTarget {
  const endpoint = targetEndpoint();
  const guarded = idempotent(endpoint.fetch, options);
  return { fetch: (request) => guarded(request), executions: endpoint.executions };
}

/** The endpoint's own logic without idempotency (for the Hono and Express targets, which add their middleware). */
export function targetEndpoint(): ConformanceTarget {
  let executions = 0;
  const fetch = async (request: Request) => {
    if (request.method === 'GET') return json(200, { executions });
    executions += 1;
    const execution = executions;
    const order = await orderOf(request);
    const { status, headers, text } = await executeOrder(order, execution);
    if (order.stream !== true && order.fail !== true) return new Response(text, { status, headers });
    return new Response(chunked(text, order.fail === true, chunkGapOf(order)), { status, headers });
  };
  return { fetch, executions: () => executions };
}

/** One execution's answer: waits `delayMs`, then the status, headers and body text of the contract. */
export async function executeOrder(order: Order, execution: number): Promise<{ status: number; headers: Headers; text: string }> {
  const delayMs = typeof order.delayMs === 'number' ? order.delayMs : 0;
  if (delayMs > 0) await sleep(delayMs);
  const id = crypto.randomUUID();
  const amount = typeof order.amount === 'number' ? order.amount : 0;
  const status = typeof order.status === 'number' ? order.status : 201;
  const text = JSON.stringify({ id, amount, execution });
  const headers = new Headers({
    'Content-Type': 'application/json',
    Location: `/orders/${id}`,
    ETag: `"${id}"`,
    'X-Execution': String(execution),
    'Set-Cookie': `s=${id}`,
  });
  return { status, headers, text };
}

async function orderOf(request: Request): Promise<Order> {
  try {
    const value = (await request.json()) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Order) : {};
  } catch {
    return {};
  }
}

/** The body in 3 pieces `gapMs` apart; with `fail`, an error right after the first. */
function chunked(text: string, fail: boolean, gapMs: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  const size = Math.ceil(bytes.length / CHUNKS);
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent > 0) await sleep(gapMs);
      if (fail && sent === 1) {
        controller.error(new Error('conformance target: the stream failed on purpose'));
        return;
      }
      controller.enqueue(bytes.subarray(sent * size, (sent + 1) * size));
      sent += 1;
      if (sent === CHUNKS) controller.close();
    },
  });
}

function json(status: number, value: unknown): Response {
  return new Response(JSON.stringify(value), { status, headers: { 'Content-Type': 'application/json' } });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
