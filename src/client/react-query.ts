import { useState } from 'react';
import { KeyLifecycle } from './lifecycle.js';
import { type IdempotentMutationConfig, type MutationOptionsLike, idempotentMutationOptions } from './tanstack-query.js';

// React Query: the framework-free helper plus a hook. Only this subpath imports `react`; Vue, Solid,
// Svelte and Angular Query users import `oncely/client/tanstack-query` instead.
export { idempotentMutationOptions } from './tanstack-query.js';
export type { IdempotentMutationConfig, MutationOptionsLike } from './tanstack-query.js';

/** React: idempotentMutationOptions with a key lifecycle that lives as long as the component. */
export function useIdempotentMutationOptions<TData, TVariables, TOptions extends MutationOptionsLike<TData, TVariables>>(
  options: TOptions & { mutationFn: (variables: TVariables, context: any) => Promise<TData> },
  config: Omit<IdempotentMutationConfig<TVariables>, 'lifecycle'> = {},
) {
  const [lifecycle] = useState(() => new KeyLifecycle(config));
  return idempotentMutationOptions<TData, TVariables, TOptions>(options, { ...config, lifecycle });
}
