import { QueryClient, QueryClientProvider, useIsMutating, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useIdempotentMutationOptions } from 'oncely/client/react-query';
import { StrictMode, useState, useSyncExternalStore } from 'react';
import { createRoot } from 'react-dom/client';
import { type Api, errorText, payOrder, placeOrder } from './api.js';
import { AttemptLog } from './AttemptLog.js';
import { type LedgerRow, type Order, customer, trpc } from './clients.js';
import { Intro } from './Intro.js';
import { type Answers, Ledger, money } from './Ledger.js';
import { Misbehave, type PlacedOrder } from './Misbehave.js';
import { ANSWER_TIMEOUT_MS, type NetworkMode, network } from './network.js';
import { StepsCheckout } from './StepsCheckout.js';

const API_LABEL: Record<Api, string> = { trpc: 'tRPC', graphql: 'GraphQL (urql)' };
const ITEMS = { coffee: 450, bagel: 300, 'gift-card': 2500 } as const;

function App() {
  const [api, setApi] = useState<Api>('trpc');
  const [item, setItem] = useState<keyof typeof ITEMS>('coffee');
  const [quantity, setQuantity] = useState(2);
  const [order, setOrder] = useState<Order | null>(null);
  const [lastPlaced, setLastPlaced] = useState<PlacedOrder | null>(null);
  const [answers, setAnswers] = useState<Answers>({});
  const mode = useSyncExternalStore(network.subscribe, network.getMode);
  const queryClient = useQueryClient();
  const busy = useIsMutating();

  const ledger = useQuery({
    queryKey: ['ledger'],
    queryFn: () => trpc.ledger.query() as Promise<LedgerRow[]>,
    refetchInterval: 3000,
  });

  // One key per logical operation: TanStack's retries, double clicks and re-submits of the same
  // variables while unanswered share it; a definitive answer or new variables start a new one.
  const place = useMutation({
    ...useIdempotentMutationOptions({
      mutationFn: async (vars: { api: Api; item: string; quantity: number }, ctx: { idempotencyKey: string }) => {
        const placed = await placeOrder(vars.api, vars.item, vars.quantity, ctx.idempotencyKey);
        setLastPlaced({ api: vars.api, key: ctx.idempotencyKey, item: vars.item, quantity: vars.quantity });
        return placed;
      },
    }),
    retryDelay: 300,
    onSuccess: (placed) => setOrder(placed),
  });

  const pay = useMutation({
    ...useIdempotentMutationOptions({
      mutationFn: async (vars: { api: Api; orderId: string }, ctx: { idempotencyKey: string }) => {
        const payment = await payOrder(vars.api, vars.orderId, ctx.idempotencyKey);
        const how = network.lastAnswerReplayed(ctx.idempotencyKey) ? 'replayed' : 'fresh';
        setAnswers((all) => {
          const seen = all[payment.id] ?? { key: ctx.idempotencyKey, replayed: 0, fresh: 0 };
          return { ...all, [payment.id]: { ...seen, [how]: seen[how] + 1 } };
        });
        return payment;
      },
    }),
    retryDelay: 300,
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['ledger'] }),
  });

  const mine = (ledger.data ?? []).filter((p) => p.order?.customer === customer);
  const chargesForOrder = order ? mine.filter((p) => p.orderId === order.id).length : 0;
  const paid = chargesForOrder > 0;

  return (
    <>
      <header>
        <h1>
          oncely checkout demo<small>customer {customer}</small>
        </h1>
      </header>
      <main data-busy={busy}>
        <Intro />
        <section className="controls wide" aria-label="Settings">
          <div className="control">
            <span className="control-label" id="api-label">API (both with TanStack Query)</span>
            <div className="seg" role="group" aria-labelledby="api-label">
              {(Object.keys(API_LABEL) as Api[]).map((a) => (
                <button key={a} type="button" aria-pressed={api === a} onClick={() => setApi(a)} data-testid={`api-${a}`}>
                  {API_LABEL[a]}
                </button>
              ))}
            </div>
          </div>
          <div className="control">
            <label className={`switch ${mode !== 'ok' ? 'on' : ''}`}>
              <input type="checkbox" data-testid="flaky" checked={mode !== 'ok'} onChange={(e) => network.setMode(e.target.checked ? 'drop' : 'ok')} />
              Flaky network
            </label>
            <select
              aria-label="How the network fails"
              data-testid="network-mode"
              value={mode === 'ok' ? 'drop' : mode}
              disabled={mode === 'ok'}
              onChange={(e) => network.setMode(e.target.value as NetworkMode)}
            >
              <option value="drop">lose the answer after the server ran it</option>
              <option value="slow">answer late (2 s; the page gives up after {ANSWER_TIMEOUT_MS / 1000} s)</option>
            </select>
          </div>
        </section>
        <div className="column">
          <section>
            <h2>Checkout</h2>
            <div className="fields">
              <div>
                <label htmlFor="item">Item</label>
                <select id="item" value={item} onChange={(e) => setItem(e.target.value as keyof typeof ITEMS)}>
                  {Object.entries(ITEMS).map(([name, price]) => (
                    <option key={name} value={name}>
                      {name} — {money(price)}
                    </option>
                  ))}
                </select>
              </div>
              <div>
                <label htmlFor="quantity">Quantity</label>
                <input id="quantity" type="number" min={1} max={100} value={quantity} onChange={(e) => setQuantity(Number(e.target.value))} />
              </div>
            </div>
            <button type="button" data-testid="place" onClick={() => place.mutate({ api, item, quantity })}>
              Place order
            </button>
            <div className="status" data-testid="place-status">
              {place.isPending && (place.failureCount > 0 ? `Retrying with the same key (${place.failureCount} failed)…` : 'Placing…')}
              {place.isError && <span className="error">{errorText(place.error)}</span>}
            </div>
            {order && (
              <div className="order" data-testid="order" data-order-id={order.id}>
                <div>
                  <b>{order.id}</b> · {order.item} × {order.quantity} · {money(order.amount)}
                </div>
                <div className="muted">
                  {paid ? `paid: ${chargesForOrder} charge${chargesForOrder === 1 ? '' : 's'}` : 'not paid yet'}. Double-click
                  “Pay”: every click of one payment carries the same key.
                </div>
                <button type="button" data-testid="pay" onClick={() => pay.mutate({ api, orderId: order.id })}>
                  Pay {money(order.amount)}
                </button>
                <div className="status" data-testid="pay-status">
                  {pay.isPending && (pay.failureCount > 0 ? `Retrying with the same key (${pay.failureCount} failed)…` : 'Paying…')}
                  {pay.isSuccess && !pay.isPending && <span>Paid: {pay.data.id}</span>}
                  {pay.isError && <span className="error">{errorText(pay.error)}</span>}
                </div>
              </div>
            )}
          </section>
          <section>
            <h2>Checkout as steps</h2>
            <StepsCheckout api={api} item={item} quantity={quantity} />
          </section>
          <section>
            <h2>Misbehaving client</h2>
            <Misbehave api={api} item={item} quantity={quantity} lastPlaced={lastPlaced} />
          </section>
        </div>
        <section>
          <h2>Attempts on the wire</h2>
          <AttemptLog />
        </section>
        <section className="wide">
          <h2>Ledger: your charges</h2>
          <Ledger rows={mine} answers={answers} />
        </section>
      </main>
    </>
  );
}

const queryClient = new QueryClient();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <App />
    </QueryClientProvider>
  </StrictMode>,
);
