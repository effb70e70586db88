import {
  type FieldNode,
  type GraphQLField,
  type GraphQLSchema,
  getArgumentValues,
  getDirectiveValues,
} from 'graphql';
import { isRecord, withoutField } from '../adapter/fingerprint-input.js';
import { readRequestHeader } from '../adapter/headers.js';
import type { ResolvedOptions } from './options.js';

/** Declares the operation directive in your schema: `typeDefs: [idempotentDirectiveTypeDefs, ...]`. */
export const idempotentDirectiveTypeDefs = /* GraphQL */ `directive @idempotent(key: String!) on FIELD`;

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

/**
 * The operation's key, still unvalidated (the core validates): from getKey, else the header, else
 * the extension; undefined when none has one. An operation-level key keys the whole operation,
 * field keys included (they are part of the variables it fingerprints).
 */
export async function findOperationKey(options: ResolvedOptions, context: unknown): Promise<unknown> {
  const derived = await options.plugin.getKey?.(context);
  if (derived !== undefined && derived !== null) return derived;
  if (options.header !== false) {
    const header = readHeader(context, options.header);
    if (header !== undefined) return header;
  }
  if (options.extension !== false) {
    const extension = readExtension(context, options.extension);
    if (extension !== undefined && extension !== null) return extension;
  }
  return undefined;
}

/**
 * A root field's key, still unvalidated: its argument (top level, then inside the input
 * argument), else its directive; undefined when it has none. A response key may be selected by
 * several field nodes (merged by GraphQL): an argument on any of them beats a directive.
 */
export function findFieldKey(
  options: ResolvedOptions,
  schema: GraphQLSchema,
  field: GraphQLField<unknown, unknown>,
  nodes: readonly FieldNode[],
  variables: Record<string, unknown>,
): unknown {
  const { argument, inputArgument, directive: directiveName } = options;
  if (argument !== false) {
    for (const node of nodes) {
      const args = getArgumentValues(field, node, variables);
      const top = args[argument];
      if (top !== undefined && top !== null) return top;
      const input = inputArgument === false ? undefined : args[inputArgument];
      const nested = isRecord(input) ? input[argument] : undefined;
      if (nested !== undefined && nested !== null) return nested;
    }
  }
  const directive = directiveName === false ? undefined : schema.getDirective(directiveName);
  if (directive) {
    for (const node of nodes) {
      const values = getDirectiveValues(directive, node, variables);
      if (values && values.key !== undefined && values.key !== null) return values.key;
    }
  }
  return undefined;
}

/** A root field's arguments without its key argument: what the field's fingerprint covers. */
export function withoutKeyArgument(args: Record<string, unknown>, options: ResolvedOptions): Record<string, unknown> {
  const { argument, inputArgument } = options;
  if (argument === false) return args;
  const out = withoutField(args, argument) as Record<string, unknown>;
  if (inputArgument === false) return out;
  const input = out[inputArgument];
  if (!isRecord(input) || !Object.hasOwn(input, argument)) return out;
  return { ...out, [inputArgument]: withoutField(input, argument) };
}
