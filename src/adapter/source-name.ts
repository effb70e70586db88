import { ConfigurationError } from '../core/errors.js';

// What each key source's name must look like: an HTTP header token, a GraphQL name, or any
// non-empty property name (a JSON field).
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
export const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;
export const ANY_NAME = /^.+$/s;

/**
 * A key source option, as both adapters spell it: its default when absent, false when turned
 * off, else a name matching `pattern`. Anything else fails at creation, naming the option.
 */
export function sourceName(
  adapter: string,
  options: Record<string, unknown>,
  option: string,
  fallback: string,
  pattern: RegExp,
  what: string,
): string | false {
  const value = options[option];
  if (value === undefined) return fallback;
  if (value === false) return false;
  if (typeof value === 'string' && pattern.test(value)) return value;
  throw new ConfigurationError(`${adapter}: \`${option}\` must be ${what}, or false to turn the source off; got ${describeValue(value)}.`);
}

/** A value as an error message shows it. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
