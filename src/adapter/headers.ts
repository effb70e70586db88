/** Request headers as adapters meet them: a fetch `Headers`, or Node's lower-cased record. */
interface HeadersLike {
  get(name: string): string | null;
}

function isHeaders(value: unknown): value is HeadersLike {
  return typeof (value as HeadersLike | undefined)?.get === 'function';
}

/**
 * One request header from a fetch `Headers` or a Node headers record; undefined when absent or
 * when `headers` is neither. Node keeps a few repeated headers as arrays: joined with ", " as
 * HTTP joins the others.
 */
export function readRequestHeader(headers: unknown, name: string): string | undefined {
  if (isHeaders(headers)) return headers.get(name) ?? undefined;
  if (!headers || typeof headers !== 'object') return undefined;
  const value = (headers as Record<string, unknown>)[name.toLowerCase()];
  if (Array.isArray(value)) return value.join(', ');
  return value === undefined || value === null ? undefined : String(value);
}

/** Whether `headers` is something readRequestHeader can read. */
export function isHeaderSource(headers: unknown): boolean {
  return typeof headers === 'object' && headers !== null;
}
