// Framework-free TanStack Query (v5) helper: works with @tanstack/query-core and every adapter
// built on it (React, Vue, Solid, Svelte, Angular Query). Imports no framework.
import { classifyFailure } from './failure.js';
import { KeyLifecycle, type KeyLifecycleOptions } from './lifecycle.js';

/** TanStack Query's mutationFn second argument, kept loose so any v5 minor fits. */
type MutationFnContext = Record<string, unknown> | undefined;

/**
 * What your mutationFn receives as its second argument (without `inject`): TanStack's mutationFn
 * context with the key added as `idempotencyKey`. With `inject`, TanStack's context as it is.
 */
export type IdempotentMutationContext = Record<string, unknown> & { idempotencyKey: string };

export interface IdempotentMutationConfig<TVariables> extends KeyLifecycleOptions {
  /** The lifecycle that owns the key. Default: a new one per options object (per hook with the hook). */
  lifecycle?: KeyLifecycle;
  /**
   * Puts the key into the variables instead of the mutationFn context: for mutationFns you don't
   * write yourself, such as `trpc.x.mutationOptions()` (the tRPC middleware reads the
   * `idempotencyKey` input field). Give the field name, or a function that returns new variables.
   */
  inject?: string | ((variables: TVariables, key: string) => TVariables);
  /**
   * How many times TanStack Query retries a retryable failure (network error, 409, 429, 5xx) with
   * the same key. Definitive failures are never retried. Default 3.
   */
  retries?: number;
}

export interface MutationOptionsLike<TData, TVariables> {
  /** Any mutationFn of these variables and data, whatever its second parameter. */
  mutationFn?: (variables: TVariables, context: never) => Promise<TData>;
  retry?: unknown;
  [option: string]: unknown;
}

/**
 * Wraps TanStack Query mutation options so that every attempt of one logical operation carries
 * the same idempotency key: TanStack's own retries, a re-submit of the same variables after a
 * retryable failure, a resumed paused mutation. The key changes once the operation succeeded or
 * failed for good, or when the variables change. Your mutationFn receives it as
 * `context.idempotencyKey` (or in the variables, with `inject`).
 */
export function idempotentMutationOptions<
  TData,
  TVariables,
  TOptions extends MutationOptionsLike<TData, TVariables>,
  TContext = IdempotentMutationContext,
>(
  options: TOptions & { mutationFn: (variables: TVariables, context: TContext) => Promise<TData> },
  config: IdempotentMutationConfig<TVariables> = {},
): TOptions & { mutationFn: (variables: TVariables, context?: MutationFnContext) => Promise<TData>; retry: (failureCount: number, error: unknown) => boolean } {
  const lifecycle = config.lifecycle ?? new KeyLifecycle(config);
  const retries = config.retries ?? 3;
  const inner = options.mutationFn;
  const inject =
    typeof config.inject === 'string'
      ? (variables: TVariables, key: string) => ({ ...(variables as object), [config.inject as string]: key }) as TVariables
      : config.inject;
  // TanStack calls mutationFn again for each retry of one mutate() with the same context object
  // (and the same variables object). Such a retry keeps the key its first attempt took, even when a
  // sibling mutate() of the same operation (a double click) got the answer meanwhile and the
  // lifecycle handed its key back: otherwise the retry would run the operation a second time.
  // Kept per lifecycle, not per options object: the hook builds new options on every render, and
  // TanStack's retry calls the latest mutationFn.
  let keysInFlight = inFlightByLifecycle.get(lifecycle);
  if (!keysInFlight) inFlightByLifecycle.set(lifecycle, (keysInFlight = new WeakMap()));
  const inFlight = keysInFlight;
  return {
    ...options,
    mutationFn: (variables: TVariables, context?: MutationFnContext) => {
      const handle = isObject(context) ? context : isObject(variables) ? variables : undefined;
      const key = (handle && inFlight.get(handle)) ?? lifecycle.keyFor(variables);
      if (handle) inFlight.set(handle, key);
      return lifecycle.run(
        variables,
        // TContext is the mutationFn's own declaration of what it gets: TanStack's context, with the key unless injected.
        (k) => (inject ? inner(inject(variables, k), context as TContext) : inner(variables, { ...context, idempotencyKey: k } as TContext)),
        key,
      );
    },
    retry: (failureCount: number, error: unknown) => failureCount < retries && classifyFailure(error) === 'retryable',
  };
}

const inFlightByLifecycle = new WeakMap<KeyLifecycle, WeakMap<object, string>>();

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}
