import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type ConsoleMessage, type Page, type Request, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoDatabase, openDemoDatabase } from '../../examples/shared/db.js';
import { type WebDemo, startWebDemo } from '../../examples/web/app.js';
import { buildWebDemo } from '../../examples/web/build.js';

// The web demo in headless Chromium (Debian's package; .ci/run installs it, nothing is downloaded).
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const required = process.env.CI === 'true' || process.env.CI === '1' || process.env.ONCELY_REQUIRE_SERVICES === '1';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  const message = `oncely tests: no Chromium at ${CHROMIUM} (set CHROMIUM_PATH, or apt-get install chromium).`;
  if (required) throw new Error(`${message} CI requires the browser test: .ci/run installs chromium.`);
  const line = '!'.repeat(100);
  console.warn(`\n${line}\n${message}\nTHE BROWSER TEST OF THE WEB DEMO WILL NOT RUN. Run with CI=true to make this an error.\n${line}\n`);
}

/** Committed, so that a reviewer sees the page at both widths without running anything. */
const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 390, height: 844 },
] as const;

/** Everything the browser reports while the page runs. */
interface Watch {
  console: ConsoleMessage[];
  pageErrors: string[];
  /** The API POSTs (mutations), in the order the browser sent them. */
  posts: Request[];
  failed: Request[];
  others: string[];
}

function watch(page: Page): Watch {
  const seen: Watch = { console: [], pageErrors: [], posts: [], failed: [], others: [] };
  page.on('console', (message) => seen.console.push(message));
  page.on('pageerror', (error) => seen.pageErrors.push(error.message));
  page.on('request', (request) => {
    if (request.method() === 'POST' && /\/(graphql|trpc\/)/.test(request.url())) seen.posts.push(request);
  });
  page.on('requestfailed', (request) => seen.failed.push(request));
  // Any answer >= 400 that is not a mutation's (static files, the icon, the ledger query) is a defect.
  page.on('response', (response) => {
    if (response.status() >= 400 && response.request().method() !== 'POST') seen.others.push(`${response.status()} ${response.url()}`);
  });
  return seen;
}

/** The key a request carried: the header, or GraphQL's extensions.idempotencyKey. */
function keyOf(request: Request): string {
  const header = request.headers()['idempotency-key'];
  if (header) return header;
  const body = JSON.parse(request.postData() ?? '{}') as { extensions?: { idempotencyKey?: string } };
  return body.extensions?.idempotencyKey ?? '';
}

interface Row {
  number: number;
  key: string;
  outcome: string;
  code: string;
  badge: string;
  badgeClass: string;
  text: string;
}

async function attemptRows(page: Page): Promise<Row[]> {
  return page.locator('[data-testid=attempt]').evaluateAll((rows) =>
    rows.map((row) => {
      const badge = row.querySelector('.badge')!;
      const el = row as HTMLElement;
      return {
        number: Number(row.querySelector('td')!.textContent),
        key: el.dataset.key ?? '',
        outcome: el.dataset.outcome ?? '',
        code: el.dataset.code ?? '',
        badge: badge.textContent ?? '',
        badgeClass: badge.className,
        text: el.textContent ?? '',
      };
    }),
  );
}

/** No sideways scrolling, and every button lies inside the viewport (reachable without scrolling sideways). */
async function expectFitsTheWidth(page: Page, width: number) {
  const layout = await page.evaluate(() => ({
    scrollWidth: document.scrollingElement!.scrollWidth,
    innerWidth,
    outside: [...document.querySelectorAll('button, select, input')]
      .map((el) => ({ label: el.textContent?.trim() || el.getAttribute('aria-label') || el.id, box: el.getBoundingClientRect() }))
      .filter(({ box }) => box.width > 0 && (box.left < 0 || box.right > innerWidth))
      .map(({ label }) => label),
  }));
  expect(layout.innerWidth).toBe(width);
  expect(layout.scrollWidth).toBeLessThanOrEqual(layout.innerWidth);
  expect(layout.outside).toEqual([]);
}

describe.runIf(haveChromium)('web demo in headless Chromium', () => {
  let db: DemoDatabase;
  let demo: WebDemo;
  let browser: Browser;

  beforeAll(async () => {
    await buildWebDemo();
    db = await openDemoDatabase(`file:${join(tmpdir(), `oncely-web-${randomUUID()}.db`)}`);
    demo = await startWebDemo({ port: 0, database: db, dropAfterMs: 300 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
    });
    mkdirSync(SCREENSHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await demo?.close();
    await db?.prisma.$disconnect();
  });

  // Both widths at once: each has its own browser context (so its own customer, orders and
  // console) and the test mostly waits on the page, so running them side by side halves the time.
  for (const viewport of VIEWPORTS) {
    it.concurrent(`at ${viewport.width}x${viewport.height} (${viewport.name}): explained, fits, numbers attempts as sent, refusals are errors, one charge per order (steps checkout too)`, async ({ expect }) => {
      // A context per width: its own storage, so its own customer (tenant) and orders.
      const context = await browser.newContext({ viewport: { width: viewport.width, height: viewport.height } });
      const page = await context.newPage();
      const seen = watch(page);

      /** Waits until no mutation runs (retries included), and it stays so for a moment. */
      async function settled() {
        for (let calm = 0; calm < 2; ) {
          await page.waitForTimeout(250);
          calm = (await page.locator('main').getAttribute('data-busy')) === '0' ? calm + 1 : 0;
        }
      }
      async function useApi(api: 'trpc' | 'graphql') {
        await page.getByTestId(`api-${api}`).click();
        await expect.poll(() => page.getByTestId(`api-${api}`).getAttribute('aria-pressed')).toBe('true');
      }
      async function setNetwork(mode: 'ok' | 'drop' | 'slow') {
        if (mode === 'ok') return page.getByTestId('flaky').uncheck();
        await page.getByTestId('flaky').check();
        await page.getByTestId('network-mode').selectOption(mode);
      }
      const orderId = async () => (await page.getByTestId('order').getAttribute('data-order-id'))!;
      const ledgerRow = (id: string) => page.locator(`[data-testid=ledger-row][data-order-id="${id}"]`);

      await page.goto(demo.url);
      await page.getByText('oncely checkout demo').waitFor();
      // The introduction says what the page shows, what to try and what the badges mean.
      const intro = page.getByTestId('intro');
      expect(await intro.isVisible()).toBe(true);
      const introText = await intro.textContent();
      for (const words of ['What this page shows', 'Double-click', 'Flaky network', 'answer late', 'reuse the last key', 'replayed', 'refused', 'Checkout (steps)', 'steps']) {
        expect(introText).toContain(words);
      }
      await expectFitsTheWidth(page, viewport.width);

      // 1. Network fine, single clicks: not one console message, failed request or error answer.
      await useApi('trpc');
      await page.getByTestId('place').click();
      await settled();
      const cleanOrder = await orderId();
      await page.getByTestId('pay').click();
      await settled();
      await expect.poll(() => ledgerRow(cleanOrder).count(), { timeout: 10_000 }).toBe(1);
      expect(await ledgerRow(cleanOrder).textContent()).toContain('ran ×1');
      expect(seen.console.map((m) => `${m.type()}: ${m.text()}`)).toEqual([]);
      expect(seen.pageErrors).toEqual([]);
      expect(seen.failed.map((r) => r.url())).toEqual([]);
      expect(seen.others).toEqual([]);
      expect((await attemptRows(page)).map((r) => [r.number, r.outcome])).toEqual([
        [1, 'ran'],
        [2, 'ran'],
      ]);

      // 2. Answers late: the page gives up (timeout), TanStack retries with the same key, gets the replay.
      await setNetwork('slow');
      await page.getByTestId('place').click();
      await settled();
      const lateOrder = await orderId();
      expect(lateOrder).not.toBe(cleanOrder);
      await page.getByTestId('pay').click();
      await settled();
      await ledgerRow(lateOrder).locator('[data-testid=replayed]').waitFor({ timeout: 10_000 });
      const late = (await attemptRows(page)).slice(2);
      expect(late.map((r) => r.outcome)).toEqual(['timed-out', 'replayed', 'timed-out', 'replayed']);
      expect(late.map((r) => r.number)).toEqual([3, 4, 5, 6]);
      expect(late[1]!.key).toBe(late[0]!.key);
      expect(late[3]!.key).toBe(late[2]!.key);

      // 3. Answers lost: double-click "Place order" and "Pay", click once more; then pay a paid order.
      await setNetwork('drop');
      const flakyOrders: string[] = [];
      for (const api of ['trpc', 'graphql'] as const) {
        await useApi(api);
        await page.getByTestId('place').dblclick();
        await settled();
        const id = await orderId();
        flakyOrders.push(id);
        await page.getByTestId('pay').dblclick();
        await page.getByTestId('pay').click();
        await settled();
        await expect.poll(() => ledgerRow(id).count(), { timeout: 10_000 }).toBe(1);
        // The page got its answer from the store: marked as replayed.
        await ledgerRow(id).locator('[data-testid=replayed]').waitFor({ timeout: 10_000 });
        // Paid: one more click is a new logical operation (new key), refused by the shop, not charged.
        await page.getByTestId('pay').click();
        await settled();
        await expect.poll(() => page.getByTestId('pay-status').textContent(), { timeout: 10_000 }).toMatch(/already paid/);
        expect(await ledgerRow(id).count()).toBe(1);
      }

      // 4. Refusals through GraphQL: the last order's key with another payload (422), no key (400).
      await page.getByTestId('reuse-key').click();
      await settled();
      expect(await page.getByTestId('misbehave-status').textContent()).toContain('already used with a different request payload');
      let last = (await attemptRows(page)).at(-1)!;
      expect(last).toMatchObject({ outcome: 'refused', code: 'IDEMPOTENCY_KEY_REUSED', badge: 'refused 422', badgeClass: 'badge refused' });
      expect(last.text).toContain('GraphQL PlaceOrder');
      expect(last.text).not.toContain('replay');
      const reusedKey = last.key;
      await page.getByTestId('no-key').click();
      await settled();
      last = (await attemptRows(page)).at(-1)!;
      expect(last).toMatchObject({ key: '', outcome: 'refused', code: 'IDEMPOTENCY_KEY_MISSING', badge: 'refused 400', badgeClass: 'badge refused' });
      expect(last.text).not.toContain('replay');
      // And through tRPC.
      await useApi('trpc');
      await page.getByTestId('no-key').click();
      await settled();
      last = (await attemptRows(page)).at(-1)!;
      expect(last).toMatchObject({ key: '', outcome: 'refused', code: 'IDEMPOTENCY_KEY_MISSING', badge: 'refused 400' });
      expect(last.text).toContain('tRPC placeOrder');

      // 5. Steps checkout with answers lost, through both APIs: the server ran all four steps, the
      // answer was lost, the retry (same key) got the replay; the provider charged once, one receipt.
      await setNetwork('drop');
      const stepsOrders: string[] = [];
      for (const api of ['trpc', 'graphql'] as const) {
        await useApi(api);
        const before = await page.getByTestId('steps-checkout').count();
        await page.getByTestId('checkout-steps').click();
        await settled();
        await expect.poll(() => page.getByTestId('steps-checkout').count(), { timeout: 10_000 }).toBe(before + 1);
        // Newest first.
        const card = page.getByTestId('steps-checkout').first();
        const id = (await card.getAttribute('data-order-id'))!;
        expect(stepsOrders).not.toContain(id);
        stepsOrders.push(id);
        expect(await card.getAttribute('data-status')).toBe('paid');
        const key = (await attemptRows(page)).at(-1)!.key;
        expect((await attemptRows(page)).filter((r) => r.key === key).map((r) => r.outcome)).toEqual(['lost', 'replayed']);
        // The page shows what the fake provider and mailer saw for this order ...
        await expect.poll(() => card.getAttribute('data-charges'), { timeout: 10_000 }).toBe('1');
        expect(await card.getAttribute('data-charge-requests')).toBe('1');
        expect(await card.getAttribute('data-receipts')).toBe('1');
        expect(await card.getByTestId('steps-outside').textContent()).toBe(
          'Payment provider: 1 charge (1 request with the charge key) · mailer: 1 receipt sent',
        );
        // ... and so does the demo server's own record: one charge, requested once, under the key the order was paid with.
        const payment = await db.prisma.payment.findMany({ where: { orderId: id } });
        expect(payment.length).toBe(1);
        const charges = [...demo.services.payments.charges.values()].filter((c) => c.reference === id);
        expect(charges.map((c) => c.idempotencyKey)).toEqual([payment[0]!.chargeKey]);
        expect(demo.services.payments.requests.get(payment[0]!.chargeKey)).toBe(1);
        expect(demo.services.mailer.sent.filter((r) => r.orderId === id).length).toBe(1);
        expect((await db.prisma.order.findUnique({ where: { id } }))?.status).toBe('paid');
      }

      // The attempt log is the browser's own record of what it sent, in that order, numbered 1..n.
      const rows = await attemptRows(page);
      expect(rows.map((r) => r.number)).toEqual(rows.map((_, i) => i + 1));
      expect(rows.map((r) => r.key)).toEqual(seen.posts.map(keyOf));
      // The reused key is the one that placed the last order (its answer lost, then replayed).
      expect(rows.filter((r) => r.key === reusedKey).map((r) => r.outcome)).toEqual(expect.arrayContaining(['lost', 'replayed', 'refused']));
      // Each attempt's badge says what happened to that request.
      const expectedConsole: string[] = [];
      for (const [i, request] of seen.posts.entries()) {
        const row = rows[i]!;
        const failure = request.failure()?.errorText;
        if (failure) {
          expect([row.number, row.outcome]).toEqual([row.number, failure === 'net::ERR_ABORTED' ? 'timed-out' : 'lost']);
          // Chromium logs a lost answer to the console (an aborted fetch, it does not).
          if (failure !== 'net::ERR_ABORTED') expectedConsole.push(`error: Failed to load resource: ${failure}`);
          continue;
        }
        const response = await request.response();
        const status = response!.status();
        if (status >= 400) {
          expect([row.number, row.outcome, row.badge]).toEqual([row.number, expect.stringMatching(/^(refused|error)$/), `${row.outcome} ${status}`]);
          expectedConsole.push(`error: Failed to load resource: the server responded with a status of ${status} (${response!.statusText()})`);
        } else {
          // 2xx: ran or replayed; with an error in the body (GraphQL's "already paid"), an error.
          const replayed = (await response!.headerValue('idempotent-replayed')) === 'true';
          expect([row.number, row.outcome]).toEqual([row.number, row.code ? 'error' : replayed ? 'replayed' : 'ran']);
        }
      }
      const outcomes = new Set(rows.map((r) => r.outcome));
      for (const outcome of ['ran', 'replayed', 'lost', 'timed-out', 'refused']) expect(outcomes).toContain(outcome);
      expect(outcomes).not.toContain('waiting');

      // The only console lines and failed requests are the ones the demo provokes on purpose:
      // Chromium's own line for each refused or lost answer; no warning, no page error, no 404.
      expect(seen.console.map((m) => `${m.type()}: ${m.text()}`).sort()).toEqual(expectedConsole.sort());
      expect(seen.pageErrors).toEqual([]);
      expect(seen.others).toEqual([]);
      // Failed requests, by their place among the POSTs (-1: not a mutation, e.g. the icon or a query).
      const failedOnPurpose = seen.posts.flatMap((r, i) => (r.failure() ? [i] : []));
      expect(failedOnPurpose.length).toBeGreaterThan(0);
      expect(seen.failed.map((r) => seen.posts.indexOf(r))).toEqual(failedOnPurpose);

      // Every order was charged once; refusals placed nothing.
      const customer = await page.evaluate(() => localStorage.getItem('oncely-demo-customer'));
      expect(await db.prisma.order.count({ where: { customer: customer! } })).toBe(6);
      for (const id of [cleanOrder, lateOrder, ...flakyOrders, ...stepsOrders]) {
        expect(await db.prisma.payment.count({ where: { orderId: id } })).toBe(1);
        expect((await db.prisma.order.findUnique({ where: { id } }))?.status).toBe('paid');
      }

      await expectFitsTheWidth(page, viewport.width);
      await page.screenshot({ path: join(SCREENSHOTS, `web-demo-${viewport.width}x${viewport.height}.png`), fullPage: true });
      await context.close();
    });
  }
});
