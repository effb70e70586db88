import type { IdempotencyContext } from '../adapter/context.js';

export type { IdempotencyContext } from '../adapter/context.js';

/** Add to your context type: `type Context = YogaInitialContext & IdempotencyPluginContext`. */
export interface IdempotencyPluginContext<Tx = unknown> {
  idempotency?: IdempotencyContext<Tx>;
}
