import type { ExecutionResult } from 'graphql';
import { Idempotency, type IdempotencyOptions, type InProgressMode, type Tenant } from '../core/engine.js';
import { engineFromOptions } from '../adapter/engine.js';
import { ConfigurationError } from '../core/errors.js';
import type { Duration } from '../core/duration.js';
import type { StorePolicy } from '../core/outcome.js';
import type { IdempotencyStore, TransactionalStore } from '../core/store.js';
import { IDEMPOTENCY_KEY_EXTENSION, IDEMPOTENCY_KEY_FIELD, IDEMPOTENCY_KEY_HEADER } from '../protocol/names.js';

/** Where a key may come from. The first three key the whole operation, the last two single root fields. */
export type KeySource = 'header' | 'extensions' | 'getKey' | 'argument' | 'directive';

/**
 * The context the plugin's callbacks see unless you name yours: GraphQL Yoga's initial context,
 * structurally (so `getTenant: ({ request }) => ...` compiles without Yoga's types). Pass your own
 * for more, e.g. `useIdempotency<YogaInitialContext & { user: User }>({...})`, or annotate the
 * callback's parameter; Envelop users pass their context type.
 */
export interface YogaContextLike {
  request: Request;
}

/** What `required` is asked about: one root mutation field that no operation-level key covers. */
export interface RequiredTarget<TContext = YogaContextLike> {
  /** "Mutation.pay" */
  field: string;
  fieldName: string;
  /** The alias, or the field name. */
  responseKey: string;
  operationName: string | undefined;
  context: TContext;
}

/** How an operation is identified in the store; see operation-identity.ts for the default. */
export interface OperationIdentityInput<TContext = YogaContextLike> {
  operationName: string | undefined;
  /** The printed (normalized) document. */
  document: string;
  context: TContext;
}

export interface PluginOptions<TContext = YogaContextLike> {
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
  /** Whether a root mutation field must carry a key (a missing one is a 400). Default true, as in oncely/trpc: fail closed; opt fields out with a function. */
  required?: boolean | ((target: RequiredTarget<TContext>) => boolean);
  /** Store record name of an operation-level key. Default: the operation name, or "anonymous" (the document is fingerprinted, not part of the name). */
  operationIdentity?: (input: OperationIdentityInput<TContext>) => string;
  /** Operation-level keys: which execution results are stored. Default: see defaultResultPolicy. */
  shouldStoreResult?: (result: ExecutionResult) => boolean;
  /** Field-level keys: which resolver outcomes are stored (the same policy type as the engine's and tRPC's). Default: see defaultFieldPolicy. */
  shouldStore?: StorePolicy;
  /** Claim, resolver writes (through `context.idempotency.tx`) and the stored outcome in one transaction. Default false. */
  transactional?: boolean;
  /** Per-call override of the engine's in-progress mode ("reject": 409, "wait": wait then replay). */
  inProgress?: InProgressMode;
  /** Per-call override of the engine's wait timeout. */
  waitTimeout?: Duration;
}

/**
 * Either `store` (plus any engine option: retention, lease, keyRules, ...) and the plugin builds the
 * engine, or `engine`: one you built and may share with other adapters (as in oncely/trpc).
 */
export type UseIdempotencyOptions<TContext = YogaContextLike, TTx = unknown> = PluginOptions<TContext> &
  Partial<Omit<IdempotencyOptions, 'store' | 'transactional' | 'inProgress' | 'waitTimeout' | 'shouldStore'>> & {
    store?: IdempotencyStore | TransactionalStore<TTx>;
    engine?: Idempotency<TTx>;
  };

/** Internal: the callbacks take the execution's context, whose type the plugin does not know. */
export interface ResolvedOptions<TContext = unknown> extends Required<
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

export function resolveOptions<TContext, TTx>(options: UseIdempotencyOptions<TContext, TTx>): ResolvedOptions<TContext> {
  if (!options || typeof options !== 'object') throw new ConfigurationError('useIdempotency needs options: { store, getTenant }.');
  if (typeof options.getTenant !== 'function') {
    throw new ConfigurationError(
      'useIdempotency: `getTenant(context)` is required. Return the caller\'s account or user id, or `() => GLOBAL_TENANT` (from "oncely") to share keys between all callers.',
    );
  }
  if ('idempotency' in options) {
    throw new ConfigurationError('useIdempotency: the `idempotency` option is now called `engine` (as in oncely/trpc).');
  }
  const { getTenant, keySources, headerName, extensionName, argumentName, inputArgumentName, directiveName } = options;
  const engine = engineFromOptions('useIdempotency', options as unknown as Record<string, unknown>, PLUGIN_ONLY);
  const sources = keySources ?? [...DEFAULT_KEY_SOURCES];
  for (const source of sources) {
    if (!DEFAULT_KEY_SOURCES.includes(source)) throw new ConfigurationError(`useIdempotency: unknown key source "${String(source)}".`);
  }
  if (sources.includes('getKey') && keySources && typeof options.getKey !== 'function') {
    throw new ConfigurationError('useIdempotency: key source "getKey" needs a `getKey(context)` option.');
  }
  return {
    engine,
    ownEngine: options.engine === undefined,
    plugin: options,
    getTenant,
    keySources: sources,
    headerName: headerName ?? IDEMPOTENCY_KEY_HEADER,
    extensionName: extensionName ?? IDEMPOTENCY_KEY_EXTENSION,
    argumentName: argumentName ?? IDEMPOTENCY_KEY_FIELD,
    inputArgumentName: inputArgumentName ?? 'input',
    directiveName: directiveName ?? 'idempotent',
  };
}

// The plugin's own options; everything else is handed to the engine it builds. inProgress,
// waitTimeout and transactional travel with each call, so they work with a shared engine too.
const PLUGIN_ONLY: ReadonlySet<string> = new Set([
  'getTenant',
  'keySources',
  'headerName',
  'extensionName',
  'argumentName',
  'inputArgumentName',
  'directiveName',
  'getKey',
  'required',
  'operationIdentity',
  'shouldStoreResult',
  'shouldStore',
  'transactional',
  'inProgress',
  'waitTimeout',
]);
