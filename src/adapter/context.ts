import type { ClaimContext, Execution } from '../core/call.js';
import type { Tenant } from '../core/scope.js';
import { refusedSteps } from '../core/steps.js';

/**
 * What the mutation's code finds while a key is held (Yoga: `context.idempotency`, tRPC:
 * `ctx.idempotency`). One shape for every adapter.
 */
export interface IdempotencyContext<Tx = unknown> {
  /** The validated idempotency key. */
  key: string;
  tenant: Tenant;
  /** The record's operation: a procedure path, "Mutation.<field>", or a GraphQL operation name. */
  operation: string;
  /** 1 on the first claim, higher when an abandoned claim was taken over (a crashed earlier run). */
  fence: number;
  /**
   * True only for nested resolvers completing a replayed Yoga root field; code that runs for a
   * fresh claim sees false (replays are announced by the response's marker).
   */
  replayed: boolean;
  /** Aborted when the claim's lease is lost: stop, another request may run the same work now. */
  signal: AbortSignal;
  /** A key for a downstream call (payment provider...), stable across retries, distinct per purpose. */
  deriveKey(purpose?: string): string;
  /**
   * Lease mode: an external step (a call outside your database). Runs `fn` once per run and records
   * its result; a retry after a crash gets the recorded result without running it. At-least-once:
   * pass `step.key` to the provider as its idempotency key. See docs/steps.md.
   */
  step<T>(name: string, fn: (step: { key: string }) => Promise<T> | T): Promise<T>;
  /**
   * Lease mode, PrismaStore: a database step. `fn(tx)` and the step's record commit in one
   * transaction fenced by this claim: exactly-once. See docs/steps.md.
   */
  databaseStep<T>(name: string, fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Transactional mode: the transaction client (Prisma: the interactive transaction client). */
  tx?: Tx;
}

export function contextFromClaim<Tx>(claim: ClaimContext, operation = claim.operation): IdempotencyContext<Tx> {
  // The engine's handle is the adapter's Tx: both come from the same store.
  const steps = claim as ClaimContext<Tx>;
  return {
    key: claim.key,
    tenant: claim.tenant,
    operation,
    fence: claim.fence,
    replayed: false,
    // Read through: the engine makes the AbortController only when someone reads the signal.
    get signal() {
      return claim.signal;
    },
    deriveKey: claim.deriveKey,
    step: steps.step,
    databaseStep: steps.databaseStep,
    ...(claim.tx === undefined ? {} : { tx: claim.tx as Tx }),
  };
}

/** For code that runs while a stored outcome is replayed (Yoga's nested resolvers of a replayed field). */
export function contextForReplay<Tx>(execution: Execution<unknown>, tenant: Tenant, operation: string): IdempotencyContext<Tx> {
  return {
    key: execution.key,
    tenant,
    operation,
    fence: execution.fence,
    replayed: true,
    signal: new AbortController().signal,
    // The same derived keys as the original run: a replay may answer with them.
    deriveKey: execution.deriveKey,
    ...refusedSteps<Tx>('oncely: steps run only while a claim is held; this field was replayed from its stored result.'),
  };
}
