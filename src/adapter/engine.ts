import { Idempotency, type IdempotencyOptions } from '../core/engine.js';
import { ConfigurationError } from '../core/errors.js';

/**
 * The engine an adapter runs on: the one passed as `engine` (shared with other adapters), or a
 * new one built from `store` and the engine options among the adapter's options (the names in
 * `adapterOnly` are the adapter's own and stay out).
 */
export function engineFromOptions(adapter: string, options: Record<string, unknown>, adapterOnly: ReadonlySet<string>): Idempotency {
  const { engine, store } = options as { engine?: unknown; store?: unknown };
  if (engine !== undefined) {
    if (!(engine instanceof Idempotency)) throw new ConfigurationError(`${adapter}: \`engine\` must be an Idempotency engine (createIdempotency from 'oncely').`);
    if (store !== undefined) throw new ConfigurationError(`${adapter}: pass either \`engine\` or \`store\` (with engine options), not both.`);
    return engine;
  }
  if (!store) throw new ConfigurationError(`${adapter} needs \`store\` (e.g. a PrismaStore) or an existing \`engine\`.`);
  const engineOptions: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options)) if (!adapterOnly.has(name) && name !== 'engine') engineOptions[name] = value;
  return new Idempotency(engineOptions as unknown as IdempotencyOptions);
}
