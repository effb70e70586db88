/** Small builders for the in-process specs: requests to a fetch handler, answers read whole. */
export interface Send {
  key?: string | null;
  body?: unknown;
  contentType?: string | null;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
}

export function request({ key = null, body, contentType, method = 'POST', path = '/orders', headers = {} }: Send = {}): Request {
  const init: RequestInit = { method, headers: { ...headers } };
  const out = init.headers as Record<string, string>;
  if (key !== null) out['Idempotency-Key'] = key;
  if (body !== undefined) {
    init.body = typeof body === 'string' || body instanceof Uint8Array ? (body as BodyInit) : JSON.stringify(body);
    const type = contentType === undefined ? (typeof body === 'string' || body instanceof Uint8Array ? 'text/plain' : 'application/json') : contentType;
    if (type !== null) out['Content-Type'] = type;
  }
  return new Request(`http://localhost${path}`, init);
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  bytes: Uint8Array;
  text: string;
  json: any;
}

export async function answer(response: Response): Promise<Answer> {
  const bytes = new Uint8Array(await response.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: Object.fromEntries(response.headers), bytes, text, json };
}

/** A POST over real HTTP to `origin`, its answer read whole. */
export async function post(origin: string, key: string | null, body: unknown, contentType = 'application/json', path = '/orders'): Promise<Answer> {
  const headers: Record<string, string> = { 'Content-Type': contentType };
  if (key !== null) headers['Idempotency-Key'] = key;
  return answer(await fetch(`${origin}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) }));
}

/** An answer's own headers: the transfer's (date, connection...) left out. */
export function answerHeaders(headers: Record<string, string>): Record<string, string> {
  const { date: _d, connection: _c, 'keep-alive': _k, 'content-length': _l, 'transfer-encoding': _t, ...rest } = headers;
  return rest;
}
