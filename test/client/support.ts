import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

export interface SentRequest {
  method: string;
  url: string;
  headers: Headers;
  body: string;
  /** The answer's Idempotent-Replayed header (undefined when the answer was dropped). */
  replayed?: boolean;
}

/**
 * A real fetch that records what was sent and can lose answers: `dropNext` responses are thrown
 * away after the server handled the request, as a dropped connection would.
 */
export function flakyFetch() {
  const sent: SentRequest[] = [];
  const state = { dropNext: 0 };
  const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const body = request.body ? await request.clone().text() : '';
    const entry: SentRequest = { method: request.method, url: request.url, headers: new Headers(request.headers), body };
    sent.push(entry);
    const response = await fetch(request);
    if (state.dropNext > 0) {
      state.dropNext--;
      await response.arrayBuffer();
      throw new TypeError('fetch failed (dropped by the test)');
    }
    entry.replayed = response.headers.get('idempotent-replayed') === 'true';
    return response;
  };
  return { fetch: fetchImpl as typeof fetch, sent, state };
}
