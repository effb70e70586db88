import type { ExecutionResult } from 'graphql';
import { Idempotency, type IdempotencyOptions, type InProgressMode, type Tenant } from '../core/engine.js';
import { engineFromOptions } from '../adapter/engine.js';
import { ANY_NAME, GRAPHQL_NAME, HEADER_NAME, describeValue, sourceName } from '../adapter/source-name.js';
import { ConfigurationError } from '../core/errors.js';
import type { Duration } from '../core/duration.js';
import type { StorePolicy } from '../core/outcome.js';
import type { IdempotencyStore, TransactionalStore } from '../core/store.js';
import { IDEMPOTENCY_KEY_EXTENSION, IDEMPOTENCY_KEY_FIELD, IDEMPOTENCY_KEY_HEADER } from '../protocol/names.js';

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
  // Key sources, in their fixed order: getKey, header, extension key the whole operation; argument,
  // directive single root fields. The first operation-level key decides for the whole operation.
  /** Custom key source for the whole operation, asked first; return undefined or null (or a promise of them) to fall back to the other sources. */
  getKey?: (context: TContext) => unknown;
  /** Request header with the operation's key (any case; replays echo the key in it). Default "Idempotency-Key"; false to ignore headers. */
  header?: string | false;
  /** Property of the GraphQL request's `extensions` with the operation's key. Default "idempotencyKey"; false to ignore. */
  extension?: string | false;
  /** Field argument with a root field's key, top level or inside `inputArgument`; left out of the field's fingerprint. Default "idempotencyKey"; false to ignore. */
  argument?: string | false;
  /** Input-object argument that may carry `argument`. Default "input"; false to read `argument` at the top level only. */
  inputArgument?: string | false;
  /** Operation directive with a root field's key (declare it with `idempotentDirectiveTypeDefs`). Default "idempotent"; false to ignore. */
  directive?: string | false;
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
export interface ResolvedOptions<TContext = unknown> {
  getTenant: PluginOptions<TContext>['getTenant'];
  header: string | false;
  extension: string | false;
  argument: string | false;
  inputArgument: string | false;
  directive: string | false;
  engine: Idempotency;
  /** Known only when the plugin built the engine; lets it check every key before any field runs. */
  ownEngine: boolean;
  plugin: PluginOptions<TContext>;
}

/** The header a replay echoes its key in: the configured one, or the protocol's when headers are off. */
export function echoHeader(options: ResolvedOptions): string {
  return options.header === false ? IDEMPOTENCY_KEY_HEADER : options.header;
}

/** Options of 0.1 and what replaced them: passing one is refused with the replacement's name. */
const REMOVED: Readonly<Record<string, string>> = {
  idempotency: 'the `idempotency` option is now called `engine` (as in oncely/trpc).',
  keySources:
    '`keySources` was removed: every source is read, in a fixed order (getKey, header, extension, argument, directive); turn one off with `header: false`, `extension: false`, `argument: false` or `directive: false` (as in oncely/trpc).',
  headerName: '`headerName` is now called `header` (a header name, or false to ignore headers; as in oncely/trpc).',
  extensionName: '`extensionName` is now called `extension` (a name, or false to ignore the request\'s extensions).',
  argumentName: '`argumentName` is now called `argument` (a name, or false to ignore field arguments).',
  inputArgumentName: '`inputArgumentName` is now called `inputArgument` (a name, or false).',
  directiveName: '`directiveName` is now called `directive` (a name, or false to ignore the directive).',
};


export function resolveOptions<TContext, TTx>(options: UseIdempotencyOptions<TContext, TTx>): ResolvedOptions<TContext> {
  if (!options || typeof options !== 'object') throw new ConfigurationError('useIdempotency needs options: { store, getTenant }.');
  if (typeof options.getTenant !== 'function') {
    throw new ConfigurationError(
      'useIdempotency: `getTenant(context)` is required. Return the caller\'s account or user id, or `() => GLOBAL_TENANT` (from "oncely") to share keys between all callers.',
    );
  }
  for (const [name, message] of Object.entries(REMOVED)) if (name in options) throw new ConfigurationError(`useIdempotency: ${message}`);
  if (options.getKey !== undefined && typeof options.getKey !== 'function') {
    throw new ConfigurationError(`useIdempotency: \`getKey\` must be a function (context) => key; got ${describeValue(options.getKey)}.`);
  }
  const raw = options as unknown as Record<string, unknown>;
  const header = sourceName('useIdempotency', raw, 'header', IDEMPOTENCY_KEY_HEADER, HEADER_NAME, 'an HTTP header name');
  const extension = sourceName('useIdempotency', raw, 'extension', IDEMPOTENCY_KEY_EXTENSION, ANY_NAME, 'a non-empty property name');
  const argument = sourceName('useIdempotency', raw, 'argument', IDEMPOTENCY_KEY_FIELD, GRAPHQL_NAME, 'a GraphQL argument name');
  const inputArgument = sourceName('useIdempotency', raw, 'inputArgument', 'input', GRAPHQL_NAME, 'a GraphQL argument name');
  const directive = sourceName('useIdempotency', raw, 'directive', 'idempotent', GRAPHQL_NAME, 'a GraphQL directive name');
  if (!options.getKey && header === false && extension === false && argument === false && directive === false) {
    throw new ConfigurationError('useIdempotency: every key source is turned off (header, extension, argument and directive are false, and there is no getKey).');
  }
  const engine = engineFromOptions('useIdempotency', raw, PLUGIN_ONLY);
  return {
    engine,
    ownEngine: options.engine === undefined,
    plugin: options,
    getTenant: options.getTenant,
    header,
    extension,
    argument,
    inputArgument,
    directive,
  };
}

// The plugin's own options; everything else is handed to the engine it builds. inProgress,
// waitTimeout and transactional travel with each call, so they work with a shared engine too.
const PLUGIN_ONLY: ReadonlySet<string> = new Set([
  'getTenant',
  'getKey',
  'header',
  'extension',
  'argument',
  'inputArgument',
  'directive',
  'required',
  'operationIdentity',
  'shouldStoreResult',
  'shouldStore',
  'transactional',
  'inProgress',
  'waitTimeout',
]);
