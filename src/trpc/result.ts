import type { TRPCMiddlewareFunction } from '@trpc/server';

/** What `next()` resolves to, for a middleware that adds `TOverrides` to the context. */
export type MiddlewareResultOf<TOverrides> = Awaited<ReturnType<TRPCMiddlewareFunction<unknown, unknown, unknown, TOverrides, unknown>>>;

/**
 * THE ONE PLACE that knows tRPC's internal middleware-result shape. Returning a stored value
 * without calling `next()` needs a result like the one `next()` returns; tRPC exports no helper
 * for it (trpc issue #4066). In 11.x that is `{ marker: 'middlewareMarker', ok: true, data }`,
 * and the procedure caller only reads `ok` and `data`. test/trpc/unit.test.ts (the guard test) compares it
 * with a real `next()` result and fails loudly when tRPC changes the shape.
 */
export const MIDDLEWARE_MARKER = 'middlewareMarker';

export function storedResult<TOverrides>(data: unknown): MiddlewareResultOf<TOverrides> {
  return { marker: MIDDLEWARE_MARKER, ok: true, data } as unknown as MiddlewareResultOf<TOverrides>;
}
