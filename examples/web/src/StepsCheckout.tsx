import { useMutation, useQuery } from '@tanstack/react-query';
import { useIdempotentMutationOptions } from 'oncely/client/react-query';
import { useState } from 'react';
import { type Api, checkout, errorText } from './api.js';
import { short } from './AttemptLog.js';
import type { CheckoutResult, OutsideReport } from './clients.js';
import { money } from './Ledger.js';

interface Done {
  api: Api;
  key: string;
  result: CheckoutResult;
}

/**
 * The checkout as four steps on the server (create order, charge, mark paid, send receipt) in one
 * request with one key. Each finished checkout shows what the outside world saw: the fake payment
 * provider's charges for the order (and how many requests carried the charge key), and the receipts mailed.
 */
export function StepsCheckout({ api, item, quantity }: { api: Api; item: string; quantity: number }) {
  const [done, setDone] = useState<Done[]>([]);
  const run = useMutation({
    ...useIdempotentMutationOptions({
      mutationFn: async (vars: { api: Api; item: string; quantity: number }, ctx: { idempotencyKey: string }) => {
        const result = await checkout(vars.api, vars.item, vars.quantity, ctx.idempotencyKey);
        return { api: vars.api, key: ctx.idempotencyKey, result };
      },
    }),
    retryDelay: 300,
    // The same order answered twice (a double click's second call gets the replay) is listed once.
    onSuccess: (one) => setDone((all) => (all.some((d) => d.result.order.id === one.result.order.id) ? all : [one, ...all])),
  });

  return (
    <>
      <p className="muted">One request, four steps on the server: order, charge, mark paid, receipt. A retry gets the recorded steps back instead of running them again.</p>
      <button type="button" data-testid="checkout-steps" onClick={() => run.mutate({ api, item, quantity })}>
        Checkout (steps)
      </button>
      <div className="status" data-testid="checkout-steps-status">
        {run.isPending && (run.failureCount > 0 ? `Retrying with the same key (${run.failureCount} failed)…` : 'Checking out…')}
        {run.isError && <span className="error">{errorText(run.error)}</span>}
      </div>
      {done.map((d) => (
        <CheckoutDone key={d.result.order.id} done={d} />
      ))}
    </>
  );
}

function CheckoutDone({ done }: { done: Done }) {
  const { order, payment } = done.result;
  const outside = useQuery({
    queryKey: ['outside', order.id],
    queryFn: async (): Promise<OutsideReport> => {
      const response = await fetch(`/demo/outside?order=${encodeURIComponent(order.id)}`);
      if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
      return (await response.json()) as OutsideReport;
    },
    refetchInterval: 3000,
  });
  const report = outside.data;
  const charges = report?.charges.length;
  const requests = report?.charges.reduce((sum, c) => sum + c.requests, 0);
  const receipts = report?.receipts.length;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return (
    <div
      className="order"
      data-testid="steps-checkout"
      data-order-id={order.id}
      data-status={order.status}
      data-charges={charges ?? ''}
      data-charge-requests={requests ?? ''}
      data-receipts={receipts ?? ''}
    >
      <div>
        <b>{order.id}</b> · {order.item} × {order.quantity} · {money(order.amount)} · {order.status}
      </div>
      <div className="muted">
        request key <code title={done.key}>{short(done.key)}</code> · charge key <code title={payment.chargeKey}>…{payment.chargeKey.slice(-12)}</code>
      </div>
      <div data-testid="steps-outside">
        {report === undefined
          ? outside.isError
            ? <span className="error">{errorText(outside.error)}</span>
            : 'Asking the provider…'
          : `Payment provider: ${plural(charges!, 'charge')} (${plural(requests!, 'request')} with the charge key) · mailer: ${plural(receipts!, 'receipt')} sent`}
      </div>
    </div>
  );
}
