import { isHeaderSource, readRequestHeader } from '../adapter/headers.js';
import type { CallOptions } from './options.js';

/** The two operations the middleware needs on response headers. */
export interface ResponseHeaders {
  get(name: string): string | null | undefined;
  set(name: string, value: string): void;
}

/**
 * Default request-header reader. Works with what tRPC's adapters hand to createContext when the
 * context keeps it: `ctx.req` (fetch Request, Node IncomingMessage, Express Request), or a
 * `ctx.headers` of either kind. Names arrive lower-cased.
 */
export function defaultRequestHeader(opts: CallOptions, name: string): string | null | undefined {
  const ctx = opts.ctx as { req?: { headers?: unknown }; headers?: unknown } | undefined;
  for (const headers of [ctx?.req?.headers, ctx?.headers]) {
    if (isHeaderSource(headers)) return readRequestHeader(headers, name);
  }
  return undefined;
}

/**
 * Whether the context carries request headers the default reader can see (`ctx.req.headers` or
 * `ctx.headers`). When it does not, a key sent in a header is invisible to the middleware.
 */
export function hasRequestHeaders(opts: CallOptions): boolean {
  const ctx = opts.ctx as { req?: { headers?: unknown }; headers?: unknown } | undefined;
  return [ctx?.req?.headers, ctx?.headers].some(isHeaderSource);
}

/**
 * Default response headers: `ctx.resHeaders` (fetch adapter) or `ctx.res` (Node adapters, before
 * the response is written). Undefined when the context has neither: then no marker is sent.
 */
export function defaultResponseHeaders(opts: CallOptions): ResponseHeaders | undefined {
  const ctx = opts.ctx as { resHeaders?: unknown; res?: unknown } | undefined;
  const fetchHeaders = ctx?.resHeaders as { get?: unknown; set?: unknown } | undefined;
  if (typeof fetchHeaders?.get === 'function' && typeof fetchHeaders.set === 'function') {
    return fetchHeaders as unknown as ResponseHeaders;
  }
  const res = ctx?.res as
    | { getHeader?: (name: string) => unknown; setHeader?: (name: string, value: string) => unknown; headersSent?: boolean }
    | undefined;
  if (typeof res?.setHeader === 'function' && typeof res.getHeader === 'function') {
    return {
      get: (name) => {
        const value = res.getHeader!(name);
        return value === undefined ? undefined : String(value);
      },
      set: (name, value) => {
        // Streaming responses may have sent their headers already; the marker is then lost, not fatal.
        if (!res.headersSent) res.setHeader!(name, value);
      },
    };
  }
  return undefined;
}

/** How many calls the HTTP request carries, as far as the context tells; undefined when unknown. */
export function requestShape(opts: CallOptions): { batch: boolean; calls?: number } {
  const ctx = opts.ctx as { info?: { isBatchCall?: unknown; calls?: unknown[] }; req?: { url?: unknown } } | undefined;
  const info = ctx?.info;
  if (info && typeof info.isBatchCall === 'boolean') {
    return { batch: info.isBatchCall, ...(Array.isArray(info.calls) ? { calls: info.calls.length } : {}) };
  }
  // Without tRPC's `info` in the context, fall back to the URL: batch requests carry `batch=1`.
  const url = typeof ctx?.req?.url === 'string' ? ctx.req.url : undefined;
  if (url !== undefined && /[?&]batch=1(&|$)/.test(url)) return { batch: true };
  return { batch: opts.batchIndex > 0 };
}
