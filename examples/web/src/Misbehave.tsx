import { useMutation } from '@tanstack/react-query';
import { type Api, errorText, placeOrder, placeOrderWithoutKey } from './api.js';
import { short } from './AttemptLog.js';

/** The last order this page placed: its key is the one the "reuse" button sends again. */
export interface PlacedOrder {
  api: Api;
  key: string;
  item: string;
  quantity: number;
}

/**
 * Requests a well-behaved client never sends, to show oncely's refusals: the last order's key with
 * another payload (422 IDEMPOTENCY_KEY_REUSED) and an order without a key (400 IDEMPOTENCY_KEY_MISSING).
 * Sent once each, outside the key lifecycle.
 */
export function Misbehave({ api, item, quantity, lastPlaced }: { api: Api; item: string; quantity: number; lastPlaced: PlacedOrder | null }) {
  const reuse = useMutation({
    mutationFn: (placed: PlacedOrder) => placeOrder(placed.api, placed.item, placed.quantity + 1, placed.key),
    retry: false,
  });
  const noKey = useMutation({ mutationFn: () => placeOrderWithoutKey(api, item, quantity), retry: false });
  const last = reuse.isPending || reuse.isError || reuse.isSuccess ? reuse : noKey;

  return (
    <>
      <p className="muted">Requests a good client never sends. Each goes out once; the server refuses it and says why.</p>
      <div className="row">
        <button
          type="button"
          className="secondary"
          data-testid="reuse-key"
          disabled={!lastPlaced}
          onClick={() => {
            noKey.reset();
            if (lastPlaced) reuse.mutate(lastPlaced);
          }}
        >
          Reuse the last order’s key with quantity {lastPlaced ? lastPlaced.quantity + 1 : 'n + 1'}
        </button>
        <button
          type="button"
          className="secondary"
          data-testid="no-key"
          onClick={() => {
            reuse.reset();
            noKey.mutate();
          }}
        >
          Place an order without a key
        </button>
      </div>
      <div className="status" data-testid="misbehave-status">
        {!lastPlaced && <span className="muted">Place an order first to have a key to reuse.</span>}
        {lastPlaced && last === reuse && !reuse.isIdle && <span className="muted">Key {short(lastPlaced.key)} ({lastPlaced.api === 'trpc' ? 'tRPC' : 'GraphQL'}): </span>}
        {last.isPending && 'Sending…'}
        {last.isError && <span className="error">{errorText(last.error)}</span>}
        {last.isSuccess && <span>The server accepted it.</span>}
      </div>
    </>
  );
}
