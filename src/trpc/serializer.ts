import type { TRPCCombinedDataTransformer, TRPCDataTransformer } from '@trpc/server';
import type { Outcome } from '../core/outcome.js';
import { type Serializer, defaultSerializer } from '../core/serializer.js';

/**
 * A core Serializer from the router's transformer (e.g. superjson, or `{ input, output }`), so
 * that replayed values come back exactly as the transformer would have carried them, custom
 * registered classes included. Values go through the transformer; errors go through the core's
 * default serializer, which keeps their code, own properties and cause (superjson keeps only
 * name and message).
 */
export function serializerFromTransformer(transformer: TRPCDataTransformer | TRPCCombinedDataTransformer): Serializer {
  const t: TRPCDataTransformer = 'output' in transformer ? transformer.output : transformer;
  return {
    serialize(value) {
      const outcome = value as Outcome;
      if (outcome.ok) return JSON.stringify({ ok: true, value: t.serialize(outcome.value) });
      return JSON.stringify({ ok: false, error: defaultSerializer.serialize(outcome.error) });
    },
    deserialize(text) {
      const stored = JSON.parse(text) as { ok: true; value: unknown } | { ok: false; error: string };
      if (stored.ok) return { ok: true, value: t.deserialize(stored.value) };
      return { ok: false, error: defaultSerializer.deserialize(stored.error) };
    },
  };
}
