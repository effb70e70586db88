import { useLayoutEffect, useRef, useSyncExternalStore } from 'react';
import { type Attempt, network } from './network.js';

export const short = (key: string | undefined) => (key ? `${key.slice(0, 8)}…` : 'none');

/** The badge of an attempt: its class (colour) and its words. */
function badge(a: Attempt): { outcome: string; className: string; text: string } {
  if (a.state === 'waiting') return { outcome: 'waiting', className: 'waiting', text: 'waiting…' };
  if (a.state === 'lost') return { outcome: 'lost', className: 'lost', text: 'answer lost' };
  if (a.state === 'timed-out') return { outcome: 'timed-out', className: 'lost', text: 'timed out' };
  const answer = a.answer!;
  if (answer.kind === 'ran') return { outcome: 'ran', className: 'ran', text: 'ran' };
  if (answer.kind === 'replayed') return { outcome: 'replayed', className: 'replayed', text: 'replayed' };
  // The HTTP status when it says something (a GraphQL error can come in a 200).
  return { outcome: answer.kind, className: 'refused', text: answer.status >= 400 ? `${answer.kind} ${answer.status}` : answer.kind };
}

/** Every mutation attempt, in the order it was sent (oldest first, the newest scrolled into view). */
export function AttemptLog() {
  const attempts = useSyncExternalStore(network.subscribe, network.getAttempts);
  const box = useRef<HTMLDivElement>(null);
  // Follow the newest attempt, unless the reader scrolled up to look at older ones.
  const following = useRef(true);
  useLayoutEffect(() => {
    if (following.current && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [attempts]);
  if (attempts.length === 0) return <p className="muted">Mutations and their keys appear here as they are sent. Turn on “Flaky network”, then pay.</p>;
  return (
    <div
      className="log"
      ref={box}
      onScroll={(e) => {
        const el = e.currentTarget;
        following.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
      }}
    >
      <table data-testid="attempts" className="attempts">
        <thead>
          <tr><th>#</th><th>request</th><th>key</th><th>answer</th><th>ms</th></tr>
        </thead>
        <tbody>
          {attempts.map((a) => {
            const { outcome, className, text } = badge(a);
            return (
              <tr key={a.id} data-testid="attempt" data-id={a.id} data-key={a.key ?? ''} data-outcome={outcome} data-code={a.answer?.code ?? ''}>
                <td className="num">{a.id}</td>
                <td className="req">{a.api} <b>{a.operation}</b></td>
                <td className="key"><code title={a.key}>{short(a.key)}</code></td>
                <td className="answer">
                  <span className={`badge ${className}`}>{text}</span>
                  {a.answer?.code && <code className="code">{a.answer.code}</code>}
                  {a.answer?.replay && a.answer.kind !== 'replayed' && <span className="muted"> stored error, replayed</span>}
                </td>
                <td className="ms muted">{a.ms === undefined ? '' : `${Math.round(a.ms)} ms`}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
