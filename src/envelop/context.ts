import type { ClaimContext, Tenant } from '../core/engine.js';

/** What resolvers find at `context.idempotency` while a keyed mutation (or keyed root field) runs. */
export interface IdempotencyContext {
  key: string;
  tenant: Tenant;
  /** The store's operation name: "Mutation.pay" for a field key, the operation identity otherwise. */
  operation: string;
  /** True for nested resolvers completing a replayed root field; a replayed operation runs no resolver. */
  replayed: boolean;
  /** 1 on the first claim, higher when an abandoned claim was taken over. */
  fence: number;
  /** Aborted when the claim's lease is lost: stop, another request may run the same work now. */
  signal: AbortSignal;
  /** A key for a downstream call (e.g. a payment provider), stable across retries, distinct per purpose. */
  deriveKey(purpose?: string): string;
  /** Transactional mode: the transaction client (Prisma: the interactive transaction client). */
  tx?: unknown;
}

/** Add to your context type: `type Context = YogaInitialContext & IdempotencyPluginContext`. */
export interface IdempotencyPluginContext {
  idempotency?: IdempotencyContext;
}

export function fromClaim(claim: ClaimContext): IdempotencyContext {
  return {
    key: claim.key,
    tenant: claim.tenant,
    operation: claim.operation,
    replayed: false,
    fence: claim.fence,
    signal: claim.signal,
    deriveKey: claim.deriveKey,
    ...(claim.tx === undefined ? {} : { tx: claim.tx }),
  };
}

/** Nested resolvers of a replayed root field see this; the root resolver itself did not run. */
export function forReplay(tenant: Tenant, operation: string, key: string, fence: number): IdempotencyContext {
  return {
    key,
    tenant,
    operation,
    replayed: true,
    fence,
    signal: new AbortController().signal,
    deriveKey() {
      // The core hands derived keys to running work only (see the adapter notes).
      throw new Error('oncely: deriveKey() is not available while a stored result is replayed; nothing should be called downstream.');
    },
  };
}
