/** Where a GraphQL client helper puts the key. */
export type GraphQLKeyTransport = 'extensions' | 'header' | 'both';

export interface GraphQLClientKeyOptions {
  /**
   * "extensions" (default): `extensions.idempotencyKey` of the request, one key per operation,
   * correct with batching. "header": the `Idempotency-Key` header, also understood by non-GraphQL
   * aware proxies, but shared by every operation of a batch. "both": both.
   */
  transport?: GraphQLKeyTransport;
  /** Default: UUID v4 from Web Crypto. */
  generateKey?: () => string;
}

export function usesHeader(transport: GraphQLKeyTransport = 'extensions'): boolean {
  return transport !== 'extensions';
}

export function usesExtensions(transport: GraphQLKeyTransport = 'extensions'): boolean {
  return transport !== 'header';
}
