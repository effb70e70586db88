import type { HeldClaim } from '../core/call.js';
import { ConfigurationError } from '../core/errors.js';
import { toResponse } from './answer.js';
import { type BodyStart, concat, readAvailable, tapBody } from './body-tap.js';
import { attachContext } from './context.js';
import { type CompleteAnswer, type RequestFacts, abandon, openRequest, settle } from './lifecycle.js';
import { type HttpConfig, type HttpIdempotencyOptions, resolveHttpOptions } from './options.js';
import { pathOf, requestInput } from './request-input.js';
import type { StoredHttpResponse } from './stored-response.js';

/** A Web-standard handler; `rest` (a Worker's env and ctx, a route's params...) is passed through. */
export type FetchHandler<A extends unknown[] = unknown[]> = (request: Request, ...rest: A) => Response | Promise<Response>;

/**
 * Makes a fetch handler idempotent: a guarded request (POST, PATCH) with an `Idempotency-Key` runs
 * once; retries get the first answer replayed with `Idempotent-Replayed: true`.
 */
export function idempotent<A extends unknown[], Tx = unknown>(handler: FetchHandler<A>, options: HttpIdempotencyOptions<Request, Tx>): (request: Request, ...rest: A) => Promise<Response> {
  const config = resolveHttpOptions<Request>('oncely/http', options as HttpIdempotencyOptions<Request, unknown>);
  return async (request, ...rest) => {
    const opened = await openRequest(config, factsOf(request));
    if (opened.kind === 'pass') return handler(request, ...rest);
    if (opened.kind === 'answer') return toResponse(opened.answer);
    attachContext(request, opened.idempotency);
    let response: Response;
    try {
      response = await handler(request, ...rest);
    } catch (error) {
      await abandon(opened.claim, error);
      throw error;
    }
    return finishResponse(config, opened.claim, response, request.signal);
  };
}

/** The facts of a fetch Request; the body is read from a clone, so the handler still reads the original. */
export function factsOf(request: Request): RequestFacts<Request> {
  return {
    request,
    method: request.method,
    header: (name) => request.headers.get(name),
    input: async () => {
      if (request.bodyUsed) throw new ConfigurationError('oncely/http: the request body was read before idempotent() could fingerprint it; wrap the handler before anything reads the body.');
      const bytes = request.body === null ? new Uint8Array(0) : new Uint8Array(await request.clone().arrayBuffer());
      return requestInput(request.method, pathOf(request.url), request.headers.get('content-type'), bytes);
    },
  };
}

/**
 * The handler's response, passed on with its body tapped: stored (or the key released, by status)
 * once the body is complete; released if it breaks or the client cancels.
 */
export async function finishResponse<R>(config: HttpConfig<R>, claim: HeldClaim<StoredHttpResponse>, response: Response, signal?: AbortSignal): Promise<Response> {
  // A network error (Response.error(), status 0) is no answer: it could not be replayed. The key is
  // given back and the response passed on as it is.
  if (response.type === 'error' || response.status < 200 || response.status > 599) {
    await abandon(claim);
    return response;
  }
  const answer = (body: Uint8Array): CompleteAnswer => ({ status: response.status, headers: response.headers, body });
  if (response.body === null) {
    await settle(config, claim, answer(new Uint8Array(0)));
    return response;
  }
  let start: BodyStart;
  try {
    start = await readAvailable(response.body);
  } catch (error) {
    // A body already read or locked (a Response object returned twice): nothing to store.
    await abandon(claim, error);
    throw error;
  }
  if (start.done) {
    // Whole already: stored now, and sent as a fixed body (faster than a stream on every server).
    const bytes = concat(start.chunks);
    await settle(config, claim, answer(bytes));
    return new Response(bytes.byteLength === 0 ? null : (bytes as BodyInit), { status: response.status, statusText: response.statusText, headers: response.headers });
  }
  const body = tapBody(start, (bytes) => settle(config, claim, answer(bytes)), (error) => abandon(claim, error), signal);
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
