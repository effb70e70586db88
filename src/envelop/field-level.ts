import {
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type GraphQLFieldResolver,
  GraphQLError,
  GraphQLIncludeDirective,
  type GraphQLSchema,
  GraphQLSkipDirective,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  defaultFieldResolver,
  getDirectiveValues,
  getVariableValues,
} from 'graphql';
import type { Tenant } from '../core/engine.js';
import { isIdempotencyError } from '../core/errors.js';
import { type IdempotencyContext, contextForReplay, contextFromClaim } from '../adapter/context.js';
import { asGraphQLError, defaultFieldPolicy, toGraphQLError } from './errors.js';
import { findFieldKey, withoutKeyArgument } from './key-sources.js';
import type { ResolvedOptions } from './options.js';
import { REPLAY_HEADER } from './replay.js';

/** One root mutation field of the executed operation, by response key (alias or name). */
export interface RootField {
  responseKey: string;
  fieldName: string;
  /** "Mutation.pay" */
  coordinate: string;
  /** The field's key (argument or directive), unvalidated; undefined when it has none. */
  key: unknown;
}

/** Per execution, for the resolver wrapper: which root fields carry which key. */
export interface FieldState {
  tenant: Tenant;
  keys: Map<string, unknown>;
  /** Response keys of root fields answered from the store, in execution order. */
  replayed: string[];
}

/**
 * The root fields of a mutation with the key each one carries, read before anything runs so that a
 * missing or invalid key refuses the whole operation instead of failing halfway. Returns undefined
 * when the variables or arguments are invalid: execution then reports that error itself.
 */
export function collectRootFields(
  options: ResolvedOptions,
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  rawVariables: Record<string, unknown> | null | undefined,
): RootField[] | undefined {
  const mutationType = schema.getMutationType();
  if (!mutationType) return undefined;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables ?? {});
  if (coerced.errors) return undefined;
  // Only handed back to graphql's getArgumentValues / getDirectiveValues, in the form each major
  // takes: graphql 16 answers { coerced } and takes that map; 17 answers and takes { variableValues }.
  const variables = 'coerced' in coerced ? coerced.coerced : (coerced as unknown as { variableValues: Record<string, unknown> }).variableValues;
  const fragments = new Map(
    document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d.selectionSet] as const] : [])),
  );
  const grouped = new Map<string, FieldNode[]>();
  const visit = (set: SelectionSetNode, seen: Set<string>) => {
    for (const selection of set.selections) {
      if (!included(selection, variables)) continue;
      if (selection.kind === Kind.FIELD) {
        const responseKey = selection.alias?.value ?? selection.name.value;
        grouped.set(responseKey, [...(grouped.get(responseKey) ?? []), selection]);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet, seen);
      } else if (!seen.has(selection.name.value)) {
        const fragment = fragments.get(selection.name.value);
        if (fragment) visit(fragment, new Set([...seen, selection.name.value]));
      }
    }
  };
  visit(operation.selectionSet, new Set());

  const fields: RootField[] = [];
  const definitions = mutationType.getFields();
  try {
    for (const [responseKey, nodes] of grouped) {
      const first = nodes[0] as FieldNode;
      const definition = definitions[first.name.value];
      if (!definition) continue; // __typename
      const key = findFieldKey(options, schema, definition, nodes, variables);
      fields.push({ responseKey, fieldName: first.name.value, coordinate: `${mutationType.name}.${first.name.value}`, key });
    }
  } catch {
    return undefined;
  }
  return fields;
}

function included(node: { directives?: readonly unknown[] | undefined }, variables: Record<string, unknown>): boolean {
  const selection = node as FieldNode;
  if (getDirectiveValues(GraphQLSkipDirective, selection, variables)?.if === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, selection, variables)?.if !== false;
}

/**
 * Wraps every root mutation field resolver once, in place (the way Envelop's on-resolve plugin
 * does): the wrapper looks up the running execution's state and passes through when the field
 * has no key, so queries and unkeyed mutations are untouched.
 */
export function wrapMutationResolvers(
  schema: GraphQLSchema,
  marker: symbol,
  run: (original: GraphQLFieldResolver<unknown, unknown>, ...args: Parameters<GraphQLFieldResolver<unknown, unknown>>) => unknown,
): void {
  const mutationType = schema.getMutationType();
  if (!mutationType) return;
  for (const field of Object.values(mutationType.getFields())) {
    const current = field.resolve as (GraphQLFieldResolver<unknown, unknown> & { [key: symbol]: unknown }) | undefined;
    if (current?.[marker]) continue;
    const original = current ?? defaultFieldResolver;
    const wrapped: GraphQLFieldResolver<unknown, unknown> = (source, args, context, info) => run(original, source, args, context, info);
    Object.defineProperty(wrapped, marker, { value: true });
    field.resolve = wrapped;
  }
}

/** Runs one keyed root field through the engine, or replays it. */
export async function runKeyedField(
  options: ResolvedOptions,
  state: FieldState,
  key: unknown,
  original: GraphQLFieldResolver<unknown, unknown>,
  ...[source, args, context, info]: Parameters<GraphQLFieldResolver<unknown, unknown>>
): Promise<unknown> {
  const operation = `${info.parentType.name}.${info.fieldName}`;
  const holder = context as { idempotency?: IdempotencyContext };
  const { plugin } = options;
  try {
    const execution = await options.engine.execute(
      {
        tenant: state.tenant,
        operation,
        key,
        input: withoutKeyArgument(args, options),
        shouldStore: plugin.shouldStore ?? defaultFieldPolicy,
        ...(plugin.transactional === undefined ? {} : { transactional: plugin.transactional }),
        ...(plugin.inProgress === undefined ? {} : { inProgress: plugin.inProgress }),
        ...(plugin.waitTimeout === undefined ? {} : { waitTimeout: plugin.waitTimeout }),
      },
      (claim) => {
        // Root mutation fields run one after another, so one slot on the shared context is enough.
        holder.idempotency = contextFromClaim(claim);
        return original(source, args, context, info);
      },
    );
    if (!execution.replayed && holder.idempotency?.tx !== undefined) {
      // Nested resolvers of this field run after the commit: the transaction client is closed by then.
      const { tx: _closed, ...rest } = holder.idempotency;
      holder.idempotency = rest;
    }
    if (execution.replayed) {
      state.replayed.push(info.path.key as string);
      holder.idempotency = contextForReplay(execution, state.tenant, operation);
    }
    if (execution.outcome.ok) return execution.outcome.value;
    throw execution.replayed ? rebuildError(execution.outcome.error) : execution.outcome.error;
  } catch (error) {
    throw asGraphQLError(error);
  }
}

/**
 * A stored resolver error, thrown again. GraphQLErrors come back from the store as plain Errors
 * named "GraphQLError"; rebuilt as real ones they are not masked and graphql-js gives them the
 * path and locations of this request (alias included). Other errors are thrown as they are, so
 * Yoga masks them exactly like the original.
 */
function rebuildError(error: unknown): unknown {
  if (isIdempotencyError(error)) return toGraphQLError(error);
  if (error instanceof Error && error.name === 'GraphQLError' && !(error instanceof GraphQLError)) {
    const extensions = (error as { extensions?: Record<string, unknown> }).extensions;
    return new GraphQLError(error.message, extensions ? { extensions } : {});
  }
  return error;
}

/**
 * Field replays are listed in `extensions.idempotency.replayedFields`; headers when every keyed
 * field replayed. The key is echoed under `headerName`: the configured header.
 */
export function markFieldReplays(result: ExecutionResult, state: FieldState, isBatch: boolean, headerName: string): ExecutionResult {
  const extensions: Record<string, unknown> = { ...result.extensions, idempotency: { replayedFields: [...state.replayed] } };
  if (!isBatch && state.replayed.length === state.keys.size) {
    const http = (extensions.http ?? {}) as { headers?: Record<string, string> };
    const keys = new Set(state.keys.values());
    const echo = keys.size === 1 ? { [headerName]: [...keys][0] as string } : {};
    extensions.http = { ...http, headers: { ...http.headers, [REPLAY_HEADER]: 'true', ...echo } };
  }
  return { ...result, extensions };
}
