import { ANSWER_TIMEOUT_MS } from './network.js';

/** What the page shows, what to try, and what the badges mean: for someone who just opened it. */
export function Intro() {
  return (
    <section className="intro wide" data-testid="intro" aria-labelledby="intro-title">
      <div>
        <h2 id="intro-title">What this page shows</h2>
        <p>
          A checkout whose server uses <b>oncely</b>: every “place order” and “pay” carries an <em>idempotency key</em>. However
          often the same operation reaches the server (a double click, a retry after a lost answer or a timeout), it runs once;
          the repeats get the stored answer, a <em>replay</em>. The ledger shows what was really charged.
        </p>
        <p>
          “Checkout (steps)” does it all in one request run as <em>steps</em> (create the order, charge, mark it paid, mail the
          receipt): a retry gets each finished step's recorded result instead of running it again, so the payment provider sees one charge.
        </p>
        <h3>Try</h3>
        <ol>
          <li><b>Double-click</b> “Place order”, then “Pay”: one key, one order, one charge.</li>
          <li>Tick <b>Flaky network</b> and pay: the server charges, the answer is lost on the way back, the client retries with the same key and gets the replay.</li>
          <li>Switch it to <b>answer late</b>: the page gives up after {ANSWER_TIMEOUT_MS / 1000} s and retries; same key, still one charge.</li>
          <li>Under <b>Misbehaving client</b>, reuse the last key with another quantity, or send no key: the server refuses, with a code.</li>
          <li>Pay an order that is paid: that is a new operation (new key), and the shop says no.</li>
          <li>With the network flaky, click <b>Checkout (steps)</b>: the answer is lost, the retry gets the replay, and the provider shows one charge.</li>
        </ol>
      </div>
      <div>
        <h3>Attempts on the wire: the badges</h3>
        <dl className="legend">
          <dt><span className="badge ran">ran</span></dt>
          <dd>the server ran the mutation now.</dd>
          <dt><span className="badge replayed">replayed</span></dt>
          <dd>nothing ran: oncely answered with the stored result (<code>Idempotent-Replayed: true</code>).</dd>
          <dt><span className="badge lost">answer lost</span> <span className="badge lost">timed out</span></dt>
          <dd>no answer reached the page; the client retries with the same key.</dd>
          <dt><span className="badge refused">refused 422</span></dt>
          <dd>oncely refused the request before running it (key reused with another payload, still running, missing); its code is shown.</dd>
          <dt><span className="badge refused">error 412</span></dt>
          <dd>the shop said no (e.g. already paid).</dd>
          <dt><span className="badge waiting">waiting…</span></dt>
          <dd>sent, no answer yet. Attempts are numbered in the order they were sent.</dd>
        </dl>
      </div>
    </section>
  );
}
