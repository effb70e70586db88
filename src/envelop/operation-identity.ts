import { type DocumentNode, print } from 'graphql';
import { fingerprint } from '../core/fingerprint.js';
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

/** Default: "CreateOrder#3f2a9c1b0d4e5f60", the operation name and 16 hex digits of the document's hash. */
export function defaultOperationIdentity({ operationName, document }: OperationIdentityInput): string {
  return `${operationName ?? 'anonymous'}#${fingerprint(document).slice(0, 16)}`;
}

export function operationIdentity(options: ResolvedOptions, input: OperationIdentityInput): string {
  return (options.plugin.operationIdentity ?? defaultOperationIdentity)(input);
}

/**
 * What an operation-level key's fingerprint covers: the document and the variables as sent. The
 * core's canonical fingerprint ignores key order, so reordered variables match.
 */
export function operationInput(document: string, operationName: string | undefined, variables: unknown): unknown {
  return { document, operationName: operationName ?? null, variables: variables ?? {} };
}
