/**
 * A runtime-neutral spec runner: no vitest, no node:assert (workerd has it only with
 * nodejs_compat), nothing but the language and Web globals. Spec files register with spec();
 * an entry (entries/*.ts) runs them with runSpecs() and hands the results to its runtime's way out.
 */

export interface SpecResult {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
}

export interface RuntimeInfo {
  /** node, bun, deno or workerd: what the code found itself running on. */
  runtime: string;
  version: string;
}

/** What every entry reports: the runtime as seen from inside, and one result per spec. */
export interface SpecReport extends RuntimeInfo {
  results: SpecResult[];
}

type SpecFn = () => Promise<void> | void;

const registered: { name: string; fn: SpecFn }[] = [];

export function spec(name: string, fn: SpecFn): void {
  if (registered.some((s) => s.name === name)) throw new Error(`two specs named "${name}"`);
  registered.push({ name, fn });
}

const SPEC_TIMEOUT_MS = 10_000;

/** Runs every registered spec one after the other; a spec that hangs fails after 10 s. */
export async function runSpecs(): Promise<SpecResult[]> {
  const results: SpecResult[] = [];
  for (const { name, fn } of registered) {
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(fn),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${SPEC_TIMEOUT_MS} ms`)), SPEC_TIMEOUT_MS);
        }),
      ]);
      results.push({ name, ok: true, ms: performance.now() - started });
    } catch (error) {
      const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      results.push({ name, ok: false, ms: performance.now() - started, error: text });
    } finally {
      clearTimeout(timer);
    }
  }
  return results;
}

/** The runtime this code runs on, from the globals each one defines (checked in this order). */
export function runtimeInfo(): RuntimeInfo {
  const g = globalThis as {
    Bun?: { version: string };
    Deno?: { version: { deno: string } };
    navigator?: { userAgent?: string };
    process?: { versions?: { node?: string } };
  };
  if (g.Bun) return { runtime: 'bun', version: g.Bun.version };
  if (g.Deno) return { runtime: 'deno', version: g.Deno.version.deno };
  if (g.navigator?.userAgent === 'Cloudflare-Workers') return { runtime: 'workerd', version: 'unknown (the driver reads it from the workerd package)' };
  if (g.process?.versions?.node) return { runtime: 'node', version: g.process.versions.node };
  return { runtime: 'unknown', version: 'unknown' };
}

// --- assertions --------------------------------------------------------------------------------

export class AssertionError extends Error {
  override name = 'AssertionError';
}

const show = (value: unknown): string => {
  try {
    return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value);
  } catch {
    return String(value);
  }
};

export function ok(value: unknown, message = 'expected a truthy value'): asserts value {
  if (!value) throw new AssertionError(`${message} (got ${show(value)})`);
}

export function equal<T>(actual: T, expected: T, message = 'values differ'): void {
  if (!Object.is(actual, expected)) throw new AssertionError(`${message}: expected ${show(expected)}, got ${show(actual)}`);
}

/** Structural equality of JSON-like values (plain objects, arrays, primitives, Dates by instant). */
export function deepEqual(actual: unknown, expected: unknown, message = 'values differ'): void {
  if (!same(actual, expected)) throw new AssertionError(`${message}: expected ${show(expected)}, got ${show(actual)}`);
}

function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Awaits `promise`, expecting it to reject; returns the rejection for further checks. */
export async function rejects(promise: Promise<unknown>, message = 'expected a rejection'): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new AssertionError(message);
}

/** A promise with its resolve function outside: a gate a test opens when it wants. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A fresh key per spec: each spec stands alone even on a shared store. */
export const freshKey = (label: string) => `${label}-${crypto.randomUUID()}`;
