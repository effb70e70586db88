import { QueryClient, QueryClientProvider, useIsMutating, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useIdempotentMutationOptions } from 'oncely/client/react-query';
import { StrictMode, useState, useSyncExternalStore } from 'react';
import { createRoot } from 'react-dom/client';
import { type LedgerRow, type Order, type Payment, customer, trpc, urql } from './clients.js';
import { type Attempt, type NetworkMode, network } from './network.js';

type Api = 'trpc' | 'graphql';
const API_LABEL: Record<Api, string> = { trpc: 'tRPC + TanStack Query', graphql: 'GraphQL (urql) + TanStack Query' };
const ITEMS = { coffee: 450, bagel: 300, 'gift-card': 2500 } as const;
const money = (cents: number) => `€${(cents / 100).toFixed(2)}`;
const short = (key: string | undefined) => (key ? `${key.slice(0, 8)}…` : '—');

const PLACE_ORDER = `mutation PlaceOrder($input: PlaceOrderInput!) { placeOrder(input: $input) { id item quantity amount status } }`;
const PAY_ORDER = `mutation PayOrder($orderId: ID!) { payOrder(orderId: $orderId) { id orderId amount chargeKey } }`;

async function graphql<T>(query: string, variables: Record<string, unknown>, key: string): Promise<T> {
  // The key TanStack's lifecycle chose goes into urql's context; the exchange sends it as is.
  const result = await urql.mutation(query, variables, { idempotencyKey: key }).toPromise();
  if (result.error) throw result.error;
  return result.data as T;
}

function placeOrder(api: Api, item: string, quantity: number, key: string): Promise<Order> {
  if (api === 'trpc') return trpc.placeOrder.mutate({ item, quantity }, { context: { idempotencyKey: key } });
  return graphql<{ placeOrder: Order }>(PLACE_ORDER, { input: { customer, item, quantity } }, key).then((d) => d.placeOrder);
}

function payOrder(api: Api, orderId: string, key: string): Promise<Payment> {
  if (api === 'trpc') return trpc.payOrder.mutate({ orderId }, { context: { idempotencyKey: key } });
  return graphql<{ payOrder: Payment }>(PAY_ORDER, { orderId }, key).then((d) => d.payOrder);
}

function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^\[(GraphQL|Network)\]\s*/, '');
}

/** Answers this page received, per payment: were they fresh or replays? */
type Answers = Record<string, { key: string; replayed: number; fresh: number }>;

function App() {
  const [api, setApi] = useState<Api>('trpc');
  const [item, setItem] = useState<keyof typeof ITEMS>('coffee');
  const [quantity, setQuantity] = useState(2);
  const [order, setOrder] = useState<Order | null>(null);
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
      mutationFn: (vars: { api: Api; item: string; quantity: number }, ctx: { idempotencyKey: string }) =>
        placeOrder(vars.api, vars.item, vars.quantity, ctx.idempotencyKey),
    }),
    retryDelay: 300,
    onSuccess: (placed) => setOrder(placed),
  });

  const pay = useMutation({
    ...useIdempotentMutationOptions({
      mutationFn: async (vars: { api: Api; orderId: string }, ctx: { idempotencyKey: string }) => {
        const payment = await payOrder(vars.api, vars.orderId, ctx.idempotencyKey);
        const replayed = network.lastAnswerReplayed(ctx.idempotencyKey);
        setAnswers((all) => {
          const seen = all[payment.id] ?? { key: ctx.idempotencyKey, replayed: 0, fresh: 0 };
          return { ...all, [payment.id]: { ...seen, [replayed ? 'replayed' : 'fresh']: seen[replayed ? 'replayed' : 'fresh'] + 1 } };
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
        <div className="seg" role="group" aria-label="API">
          {(Object.keys(API_LABEL) as Api[]).map((a) => (
            <button key={a} type="button" aria-pressed={api === a} onClick={() => setApi(a)} data-testid={`api-${a}`}>
              {API_LABEL[a]}
            </button>
          ))}
        </div>
        <label className={`switch ${mode !== 'ok' ? 'on' : ''}`} style={{ margin: 0, color: undefined }}>
          <input
            type="checkbox"
            data-testid="flaky"
            checked={mode !== 'ok'}
            onChange={(e) => network.setMode(e.target.checked ? 'drop' : 'ok')}
          />
          Flaky network
        </label>
        <select
          aria-label="How the network fails"
          style={{ width: 'auto' }}
          value={mode === 'ok' ? 'drop' : mode}
          disabled={mode === 'ok'}
          onChange={(e) => network.setMode(e.target.value as NetworkMode)}
        >
          <option value="drop">drop the answer after the server ran it</option>
          <option value="slow">delay the answer by 2 s</option>
        </select>
      </header>
      <main data-busy={busy}>
        <section>
          <h2>Checkout</h2>
          <label htmlFor="item">Item</label>
          <select id="item" value={item} onChange={(e) => setItem(e.target.value as keyof typeof ITEMS)}>
            {Object.entries(ITEMS).map(([name, price]) => (
              <option key={name} value={name}>
                {name} — {money(price)}
              </option>
            ))}
          </select>
          <label htmlFor="quantity">Quantity</label>
          <input id="quantity" type="number" min={1} max={100} value={quantity} onChange={(e) => setQuantity(Number(e.target.value))} />
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
                {paid ? `paid — ${chargesForOrder} charge${chargesForOrder === 1 ? '' : 's'}` : 'not paid yet'}. Double-click
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
          <h2>Attempts on the wire</h2>
          <AttemptLog />
        </section>
        <section className="wide">
          <h2>Ledger — your charges</h2>
          <Ledger rows={mine} answers={answers} />
        </section>
      </main>
    </>
  );
}

function AttemptLog() {
  const attempts = useSyncExternalStore(network.subscribe, network.getAttempts);
  if (attempts.length === 0) return <p className="muted">Mutations and their keys appear here. Turn on “Flaky network”, then pay.</p>;
  const label: Record<Attempt['outcome'], string> = { fresh: 'ran', replayed: 'replayed', dropped: 'answer lost', error: 'error' };
  return (
    <div className="log">
      <table data-testid="attempts">
        <thead>
          <tr><th>#</th><th>API</th><th>operation</th><th>key</th><th>answer</th><th>ms</th></tr>
        </thead>
        <tbody>
          {attempts.map((a) => (
            <tr key={a.id}>
              <td>{a.id}</td>
              <td>{a.api}</td>
              <td>{a.operation}</td>
              <td><code>{short(a.key)}</code></td>
              <td>
                <span className={`badge ${a.outcome === 'error' ? 'other' : a.outcome}`}>{label[a.outcome]}{a.status && a.outcome === 'error' ? ` ${a.status}` : ''}</span>
              </td>
              <td className="muted">{Math.round(a.ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Ledger({ rows, answers }: { rows: LedgerRow[]; answers: Answers }) {
  if (rows.length === 0) return <p className="muted">No charges yet.</p>;
  return (
    <table data-testid="ledger">
      <thead>
        <tr><th>payment</th><th>order</th><th>amount</th><th>charge key (to the provider)</th><th>request key</th><th>answers this page got</th></tr>
      </thead>
      <tbody>
        {rows.map((p) => {
          const seen = answers[p.id];
          return (
            <tr key={p.id} data-testid="ledger-row" data-order-id={p.orderId}>
              <td><code>{p.id}</code></td>
              <td><code>{p.orderId}</code> {p.order && <span className="muted">{p.order.item} × {p.order.quantity}</span>}</td>
              <td>{money(p.amount)}</td>
              <td><code title={p.chargeKey}>…{p.chargeKey.slice(-12)}</code></td>
              <td><code>{short(seen?.key)}</code></td>
              <td>
                {seen ? (
                  <>
                    {seen.fresh > 0 && <span className="badge fresh">fresh ×{seen.fresh}</span>}{' '}
                    {seen.replayed > 0 && <span className="badge replayed" data-testid="replayed">replayed ×{seen.replayed}</span>}
                  </>
                ) : (
                  <span className="muted">—</span>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
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
