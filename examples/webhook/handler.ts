import { GLOBAL_TENANT, type Idempotency } from 'oncely';

/** A payment provider's webhook event; providers redeliver the same event id until they get a 2xx. */
export interface ProviderEvent {
  id: string;
  type: 'payment.succeeded' | 'payment.refunded';
  data: { orderId: string; amount: number };
}

/**
 * Handles each event id once, however often it is delivered. The provider's account is the tenant
 * here; a single-provider app could pass GLOBAL_TENANT, as this one does.
 */
export function createWebhookHandler(idempotency: Idempotency, apply: (event: ProviderEvent) => Promise<void>) {
  return async (event: ProviderEvent) => {
    const { replayed } = await idempotency.execute(
      { tenant: GLOBAL_TENANT, operation: `webhook:${event.type}`, key: event.id, input: event },
      async () => {
        await apply(event);
        return { handled: event.id };
      },
    );
    return { status: 200, replayed };
  };
}
