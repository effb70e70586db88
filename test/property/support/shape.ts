/**
 * An exact, library-independent description of JavaScript values, for comparing what a store
 * replays with what the work returned. It deliberately does not use oncely's encoding (the thing
 * under test): own keys such as `__proto__` are read with Reflect.ownKeys, -0/NaN/undefined,
 * Dates, BigInts, Maps, Sets and errors are told apart, and the prototype of each object is noted.
 */

export type Shape = null | boolean | string | Shape[] | { [key: string]: Shape };

function protoName(value: object): string {
  const proto = Object.getPrototypeOf(value);
  if (proto === null) return 'null';
  if (proto === Object.prototype) return 'Object';
  if (proto === Error.prototype) return 'Error';
  return `other:${(proto as { constructor?: { name?: string } }).constructor?.name ?? '?'}`;
}

function number(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (Object.is(n, -0)) return '-0';
  return String(n);
}

function ownEntries(value: object, skip: (key: string) => boolean = () => false): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key === 'symbol' || skip(key)) continue;
    const desc = Object.getOwnPropertyDescriptor(value, key);
    if (!desc?.enumerable) continue;
    out.push([key, 'value' in desc ? desc.value : '<accessor>']);
  }
  return out;
}

export interface ShapeOptions {
  /** Canonical: object keys sorted, undefined-valued properties dropped, Map/Set order ignored. */
  canonical?: boolean;
}

/** The description of `value`; equal descriptions mean equal values (exactly, or canonically). */
export function shape(value: unknown, options: ShapeOptions = {}): Shape {
  const canonical = options.canonical ?? false;
  const sortBy = (list: Shape[]) => (canonical ? [...list].sort((a, b) => cmp(JSON.stringify(a), JSON.stringify(b))) : list);
  const walk = (v: unknown): Shape => {
    switch (typeof v) {
      case 'undefined':
        return { t: 'undefined' };
      case 'boolean':
        return v;
      case 'string':
        // JSON.stringify keeps lone surrogates distinct (escaped) from U+FFFD.
        return `s:${JSON.stringify(v)}`;
      case 'number':
        return `n:${number(v)}`;
      case 'bigint':
        return `b:${v}`;
      case 'function':
      case 'symbol':
        return { t: typeof v };
    }
    if (v === null) return null;
    const obj = v as object;
    if (Array.isArray(obj)) return { t: 'array', items: obj.map(walk) };
    if (obj instanceof Date) return { t: 'date', time: number(obj.getTime()) };
    if (obj instanceof Map) return { t: 'map', entries: sortBy([...obj.entries()].map(([k, val]) => [walk(k), walk(val)])) };
    if (obj instanceof Set) return { t: 'set', items: sortBy([...obj].map(walk)) };
    if (obj instanceof Error) {
      const props = ownEntries(obj, (k) => k === 'stack' || k === 'message' || k === 'cause');
      return {
        t: 'error',
        name: String(obj.name),
        message: String(obj.message),
        props: entries(props),
        cause: 'cause' in obj && obj.cause !== undefined ? walk(obj.cause) : null,
      };
    }
    return { t: 'object', proto: protoName(obj), entries: entries(ownEntries(obj)) };
  };
  const entries = (list: [string, unknown][]): Shape => {
    let kept = canonical ? list.filter(([, val]) => val !== undefined) : list;
    if (canonical) kept = [...kept].sort(([a], [b]) => cmp(a, b));
    return kept.map(([k, val]) => [`k:${JSON.stringify(k)}`, walk(val)]);
  };
  return walk(value);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Exact equality (what a replay must give back). */
export function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(shape(a)) === JSON.stringify(shape(b));
}

/**
 * Equality of inputs as the fingerprint documents it: key order, Map and Set order do not matter,
 * properties set to undefined count as absent; everything else (types, -0, own `__proto__`) does.
 */
export function sameInput(a: unknown, b: unknown): boolean {
  return JSON.stringify(shape(a, { canonical: true })) === JSON.stringify(shape(b, { canonical: true }));
}
