import { useState } from 'react';
import { KeyLifecycle } from './lifecycle.js';
import { type IdempotentMutationConfig, type IdempotentMutationContext, type MutationOptionsLike, idempotentMutationOptions } from './tanstack-query.js';

// React Query: the framework-free helper plus a hook. Only this subpath imports `react`; Vue, Solid,
// Svelte and Angular Query users import `oncely/client/tanstack-query` instead.
export { idempotentMutationOptions } from './tanstack-query.js';
export type { IdempotentMutationConfig, IdempotentMutationContext, MutationOptionsLike } from './tanstack-query.js';

/** React: idempotentMutationOptions with a key lifecycle that lives as long as the component. */
export function useIdempotentMutationOptions<
  TData,
  TVariables,
  TOptions extends MutationOptionsLike<TData, TVariables>,
  TContext = IdempotentMutationContext,
>(
  options: TOptions & { mutationFn: (variables: TVariables, context: TContext) => Promise<TData> },
  config: Omit<IdempotentMutationConfig<TVariables>, 'lifecycle'> = {},
) {
  const [lifecycle] = useState(() => new KeyLifecycle(config));
  return idempotentMutationOptions<TData, TVariables, TOptions, TContext>(options, { ...config, lifecycle });
}
