export { useIdempotency } from './plugin.js';
export type { IdempotencyPlugin, YogaHooks } from './plugin.js';
export type { IdempotencyContext, IdempotencyPluginContext } from './context.js';
export { idempotentDirectiveTypeDefs } from './key-sources.js';
export { defaultFieldPolicy, defaultResultPolicy, isExpectedError, toGraphQLError } from './errors.js';
export { defaultOperationIdentity } from './operation-identity.js';
export type { OperationIdentityInput, PluginOptions, RequiredTarget, UseIdempotencyOptions, YogaContextLike } from './options.js';
export { REPLAY_HEADER } from './replay.js';
// Convenience re-export: `getTenant: () => GLOBAL_TENANT` is the explicit opt-in to shared keys.
export { GLOBAL_TENANT } from '../core/engine.js';
