import { short } from './AttemptLog.js';
import type { LedgerRow } from './clients.js';

export const money = (cents: number) => `€${(cents / 100).toFixed(2)}`;

/** Answers this page received, per payment: were they fresh or replays? */
export type Answers = Record<string, { key: string; replayed: number; fresh: number }>;

export function Ledger({ rows, answers }: { rows: LedgerRow[]; answers: Answers }) {
  if (rows.length === 0) return <p className="muted">No charges yet.</p>;
  return (
    <table data-testid="ledger" className="ledger">
      <thead>
        <tr><th>payment</th><th>order</th><th>amount</th><th>charge key (to the provider)</th><th>request key</th><th>answers this page got</th></tr>
      </thead>
      <tbody>
        {rows.map((p) => {
          const seen = answers[p.id];
          return (
            <tr key={p.id} data-testid="ledger-row" data-order-id={p.orderId}>
              {/* One element per cell: on a phone each cell is a "label: value" line (see index.html). */}
              <td data-label="payment"><code>{p.id}</code></td>
              <td data-label="order"><span><code>{p.orderId}</code> {p.order && <span className="muted">{p.order.item} × {p.order.quantity}</span>}</span></td>
              <td data-label="amount"><span>{money(p.amount)}</span></td>
              <td data-label="charge key"><code title={p.chargeKey}>…{p.chargeKey.slice(-12)}</code></td>
              <td data-label="request key"><code title={seen?.key}>{seen ? short(seen.key) : '—'}</code></td>
              <td data-label="answers">
                {seen ? (
                  <span>
                    {seen.fresh > 0 && <span className="badge ran">ran ×{seen.fresh}</span>}{' '}
                    {seen.replayed > 0 && <span className="badge replayed" data-testid="replayed">replayed ×{seen.replayed}</span>}
                  </span>
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
