import { validateKey } from '../core/key.js';
import { GLOBAL_TENANT, type Tenant, toRecordScope } from '../core/scope.js';
import { UsageError } from './usage.js';

export interface ScopeArgs {
  tenant: Tenant;
  operation: string;
  key: string;
}

/** --tenant / --global-tenant, --operation, --key: exactly as the calls passed them. */
export function scopeArgs(values: { tenant?: string; 'global-tenant'?: boolean; operation?: string; key?: string }): ScopeArgs {
  if (values.tenant !== undefined && values['global-tenant']) throw new UsageError('give --tenant or --global-tenant, not both');
  if (values.tenant === undefined && !values['global-tenant']) throw new UsageError('--tenant (or --global-tenant) is required');
  if (values.operation === undefined) throw new UsageError('--operation is required');
  if (values.key === undefined) throw new UsageError('--key is required');
  const args: ScopeArgs = { tenant: values['global-tenant'] ? GLOBAL_TENANT : values.tenant!, operation: values.operation, key: values.key };
  try {
    // The engine checks them again; here a bad one is a usage error before anything is opened.
    toRecordScope(args.tenant, args.operation, validateKey(args.key));
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^oncely: /, ''));
  }
  return args;
}
