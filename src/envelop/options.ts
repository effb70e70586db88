import type { ExecutionResult } from 'graphql';
import { Idempotency, type IdempotencyOptions, type InProgressMode, type Tenant } from '../core/engine.js';
import { ConfigurationError } from '../core/errors.js';
import type { Duration } from '../core/duration.js';
import type { StorePolicy } from '../core/outcome.js';
import type { IdempotencyStore } from '../core/store.js';

/** Where a key may come from. The first three key the whole operation, the last two single root fields. */
export type KeySource = 'header' | 'extensions' | 'getKey' | 'argument' | 'directive';

/** What `required` is asked about: one root mutation field that no operation-level key covers. */
export interface RequiredTarget<TContext = any> {
  /** "Mutation.pay" */
  field: string;
  fieldName: string;
  /** The alias, or the field name. */
  responseKey: string;
  operationName: string | undefined;
  context: TContext;
}

/** How an operation is identified in the store; see operation-identity.ts for the default. */
export interface OperationIdentityInput<TContext = any> {
  operationName: string | undefined;
  /** The printed (normalized) document. */
  document: string;
  context: TContext;
}

export interface PluginOptions<TContext = any> {
  /**
   * Scope of every key: the caller's account or user id. Required; return GLOBAL_TENANT (from
   * 'oncely') to share keys between all callers on purpose.
   */
  getTenant: (context: TContext) => Tenant | Promise<Tenant>;
  /** Which sources are read, in this order; the first one that gives a key decides. Default all five, in the order below. */
  keySources?: KeySource[];
  /** Request header with the operation's key. Default "Idempotency-Key". */
  headerName?: string;
  /** Property of the GraphQL request's `extensions` with the operation's key. Default "idempotencyKey". */
  extensionName?: string;
  /** Field argument with a root field's key, top level or inside `inputArgumentName`. Default "idempotencyKey". */
  argumentName?: string;
  /** Input-object argument that may carry `argumentName`. Default "input". */
  inputArgumentName?: string;
  /** Operation directive with a root field's key (declare it with `idempotentDirectiveTypeDefs`). Default "idempotent". */
  directiveName?: string;
  /** Custom key source for the whole operation (source "getKey"). */
  getKey?: (context: TContext) => unknown;
  /** Whether a root mutation field must carry a key (a missing one is a 400). Default false. */
  required?: boolean | ((target: RequiredTarget<TContext>) => boolean);
  /** Store record name of an operation-level key. Default: the operation name, or "anonymous" (the document is fingerprinted, not part of the name). */
  operationIdentity?: (input: OperationIdentityInput<TContext>) => string;
  /** Operation-level keys: which execution results are stored. Default: see defaultResultPolicy. */
  shouldStoreResult?: (result: ExecutionResult) => boolean;
  /** Field-level keys: which resolver outcomes are stored. Default: see defaultFieldPolicy. */
  shouldStoreField?: StorePolicy;
  /** Claim, resolver writes (through `context.idempotency.tx`) and the stored outcome in one transaction. Default false. */
  transactional?: boolean;
  /** Per-call override of the engine's in-progress mode ("reject": 409, "wait": wait then replay). */
  inProgress?: InProgressMode;
  /** Per-call override of the engine's wait timeout. */
  waitTimeout?: Duration;
}

/**
 * Either `store` (plus any engine option: retention, lease, keyRules, ...) and the plugin builds the
 * engine, or `idempotency`: an engine you built and may share with other adapters.
 */
export type UseIdempotencyOptions<TContext = any> = PluginOptions<TContext> &
  Partial<Omit<IdempotencyOptions, 'store' | 'transactional' | 'inProgress' | 'waitTimeout'>> & {
    store?: IdempotencyStore;
    idempotency?: Idempotency;
  };

export interface ResolvedOptions<TContext = any> extends Required<
  Pick<
    PluginOptions<TContext>,
    'getTenant' | 'keySources' | 'headerName' | 'extensionName' | 'argumentName' | 'inputArgumentName' | 'directiveName'
  >
> {
  engine: Idempotency;
  /** Known only when the plugin built the engine; lets it check every key before any field runs. */
  ownEngine: boolean;
  plugin: PluginOptions<TContext>;
}

export const DEFAULT_KEY_SOURCES: readonly KeySource[] = ['header', 'extensions', 'argument', 'directive', 'getKey'];

export function resolveOptions<TContext>(options: UseIdempotencyOptions<TContext>): ResolvedOptions<TContext> {
  if (!options || typeof options !== 'object') throw new ConfigurationError('useIdempotency needs options: { store, getTenant }.');
  if (typeof options.getTenant !== 'function') {
    throw new ConfigurationError(
      'useIdempotency: `getTenant(context)` is required. Return the caller\'s account or user id, or `() => GLOBAL_TENANT` (from "oncely") to share keys between all callers.',
    );
  }
  const { getTenant, keySources, headerName, extensionName, argumentName, inputArgumentName, directiveName, idempotency, ...rest } =
    options;
  let engine: Idempotency;
  if (idempotency) {
    if (!(idempotency instanceof Idempotency)) throw new ConfigurationError('useIdempotency: `idempotency` must be an Idempotency engine.');
    if (options.store) throw new ConfigurationError('useIdempotency: pass either `idempotency` or `store`, not both.');
    engine = idempotency;
  } else {
    if (!options.store) throw new ConfigurationError('useIdempotency needs `store` (e.g. a PrismaStore) or an `idempotency` engine.');
    const engineOptions = pickEngineOptions(rest as Record<string, unknown>);
    engine = new Idempotency(engineOptions as unknown as IdempotencyOptions);
  }
  const sources = keySources ?? [...DEFAULT_KEY_SOURCES];
  for (const source of sources) {
    if (!DEFAULT_KEY_SOURCES.includes(source)) throw new ConfigurationError(`useIdempotency: unknown key source "${String(source)}".`);
  }
  if (sources.includes('getKey') && keySources && typeof options.getKey !== 'function') {
    throw new ConfigurationError('useIdempotency: key source "getKey" needs a `getKey(context)` option.');
  }
  return {
    engine,
    ownEngine: !idempotency,
    plugin: options,
    getTenant,
    keySources: sources,
    headerName: headerName ?? 'Idempotency-Key',
    extensionName: extensionName ?? 'idempotencyKey',
    argumentName: argumentName ?? 'idempotencyKey',
    inputArgumentName: inputArgumentName ?? 'input',
    directiveName: directiveName ?? 'idempotent',
  };
}

// Plugin-only options are not engine options; everything else is handed to the engine untouched.
const PLUGIN_ONLY = new Set([
  'getKey',
  'required',
  'operationIdentity',
  'shouldStoreResult',
  'shouldStoreField',
  'transactional',
  'inProgress',
  'waitTimeout',
]);

function pickEngineOptions(rest: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(rest)) if (!PLUGIN_ONLY.has(name)) out[name] = value;
  // These two are also engine defaults: when the plugin builds the engine, set them there too.
  if (rest.inProgress !== undefined) out.inProgress = rest.inProgress;
  if (rest.waitTimeout !== undefined) out.waitTimeout = rest.waitTimeout;
  return out;
}
