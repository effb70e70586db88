import type { TRPCCombinedDataTransformer, TRPCDataTransformer } from '@trpc/server';
import type { Serializer } from '../core/serializer.js';

/**
 * A core Serializer from the router's transformer (e.g. superjson, or `{ input, output }`), so
 * that replayed values come back exactly as the transformer would have carried them, custom
 * registered classes included. (Errors never reach it: the core stores them with its own encoding,
 * which keeps their code, own properties and cause.)
 */
export function serializerFromTransformer(transformer: TRPCDataTransformer | TRPCCombinedDataTransformer): Serializer {
  const t: TRPCDataTransformer = 'output' in transformer ? transformer.output : transformer;
  return {
    serialize: (value) => JSON.stringify(t.serialize(value)),
    deserialize: (text) => t.deserialize(JSON.parse(text)),
  };
}
