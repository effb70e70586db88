import { type DocumentNode, print } from 'graphql';
import type { OperationIdentityInput, ResolvedOptions } from './options.js';

// print() drops comments and normalizes whitespace, so a reformatted query is the same operation.
// One print per document object: Yoga's parser cache hands out the same DocumentNode for a query.
const printed = new WeakMap<DocumentNode, string>();

export function printDocument(document: DocumentNode): string {
  let text = printed.get(document);
  if (text === undefined) {
    text = print(document);
    printed.set(document, text);
  }
  return text;
}

/**
 * Default: the operation name ("CreateOrder"), or "anonymous". A key names one logical operation,
 * so the document is not part of the identity: it is in the fingerprint (operationInput), and the
 * same key sent with another document (inlined arguments instead of variables, another selection)
 * is refused with 422 instead of running the mutation a second time.
 */
export function defaultOperationIdentity({ operationName }: OperationIdentityInput<unknown>): string {
  return operationName ?? 'anonymous';
}

export function operationIdentity(options: ResolvedOptions, input: OperationIdentityInput<unknown>): string {
  return (options.plugin.operationIdentity ?? defaultOperationIdentity)(input);
}

/**
 * What an operation-level key's fingerprint covers: the document and the variables as sent. The
 * core's canonical fingerprint ignores key order, so reordered variables match.
 */
export function operationInput(document: string, operationName: string | undefined, variables: unknown): unknown {
  return { document, operationName: operationName ?? null, variables: variables ?? {} };
}
