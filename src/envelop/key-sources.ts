import {
  type FieldNode,
  type GraphQLField,
  type GraphQLSchema,
  getArgumentValues,
  getDirectiveValues,
} from 'graphql';
import { isRecord, withoutField } from '../adapter/fingerprint-input.js';
import { readRequestHeader } from '../adapter/headers.js';
import type { KeySource, ResolvedOptions } from './options.js';

/** Declares the operation directive in your schema: `typeDefs: [idempotentDirectiveTypeDefs, ...]`. */
export const idempotentDirectiveTypeDefs = /* GraphQL */ `directive @idempotent(key: String!) on FIELD`;

/** A key found for the whole operation or for one root field, still unvalidated (the core validates). */
export interface FoundKey {
  source: KeySource;
  key: unknown;
}

interface HeaderCarrier {
  request?: { headers?: { get?(name: string): string | null } };
  req?: { headers?: Record<string, string | string[] | undefined> };
  params?: { extensions?: Record<string, unknown> };
}

/** The header value from Yoga's Fetch Request, or from a Node request in plain Envelop setups. */
export function readHeader(context: unknown, name: string): string | undefined {
  const carrier = context as HeaderCarrier;
  return readRequestHeader(carrier?.request?.headers, name) ?? readRequestHeader(carrier?.req?.headers, name);
}

/** Yoga keeps the request's GraphQL params (with `extensions`) on the context, one per batch entry. */
export function readExtension(context: unknown, name: string): unknown {
  return (context as HeaderCarrier)?.params?.extensions?.[name];
}

/** The first operation-level source, in the configured order, that carries a key. */
export async function findOperationKey(options: ResolvedOptions, context: unknown): Promise<RankedKey | undefined> {
  for (const [rank, source] of options.keySources.entries()) {
    const key = await readOperationSource(source, options, context);
    if (key !== undefined && key !== null) return { source, key, rank };
  }
  return undefined;
}

function readOperationSource(source: KeySource, options: ResolvedOptions, context: unknown): unknown {
  switch (source) {
    case 'header':
      return readHeader(context, options.headerName);
    case 'extensions':
      return readExtension(context, options.extensionName);
    case 'getKey':
      return options.plugin.getKey?.(context);
    default:
      return undefined;
  }
}

export interface RankedKey extends FoundKey {
  /** Index of the source in `keySources`: the lowest rank of all sources that gave a key wins. */
  rank: number;
}

/** The first field-level source, in the configured order, with a key for this root field. */
export function findFieldKey(
  options: ResolvedOptions,
  schema: GraphQLSchema,
  field: GraphQLField<unknown, unknown>,
  node: FieldNode,
  variables: Record<string, unknown>,
): RankedKey | undefined {
  for (const [rank, source] of options.keySources.entries()) {
    if (source === 'argument') {
      const args = getArgumentValues(field, node, variables);
      const top = args[options.argumentName];
      if (top !== undefined && top !== null) return { source, key: top, rank };
      const input = args[options.inputArgumentName] as Record<string, unknown> | null | undefined;
      const nested = input && typeof input === 'object' ? input[options.argumentName] : undefined;
      if (nested !== undefined && nested !== null) return { source, key: nested, rank };
    } else if (source === 'directive') {
      const directive = schema.getDirective(options.directiveName);
      if (!directive) continue;
      const values = getDirectiveValues(directive, node, variables);
      if (values && values.key !== undefined && values.key !== null) return { source, key: values.key, rank };
    }
  }
  return undefined;
}

/** A root field's arguments without its key argument: what the field's fingerprint covers. */
export function withoutKeyArgument(args: Record<string, unknown>, options: ResolvedOptions): Record<string, unknown> {
  const out = withoutField(args, options.argumentName) as Record<string, unknown>;
  const input = out[options.inputArgumentName];
  if (!isRecord(input) || !Object.hasOwn(input, options.argumentName)) return out;
  return { ...out, [options.inputArgumentName]: withoutField(input, options.argumentName) };
}
