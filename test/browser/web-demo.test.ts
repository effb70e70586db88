import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
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

const ARTIFACTS = join(process.cwd(), 'test-artifacts');

describe.runIf(haveChromium)('web demo in headless Chromium', () => {
  let db: DemoDatabase;
  let demo: WebDemo;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    await buildWebDemo();
    db = await openDemoDatabase(`file:${join(tmpdir(), `oncely-web-${randomUUID()}.db`)}`);
    demo = await startWebDemo({ port: 0, database: db, dropAfterMs: 300 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(demo.url);
    await page.getByText('oncely checkout demo').waitFor();
    expect(problems).toEqual([]);
  });
  afterAll(async () => {
    await browser?.close();
    await demo?.close();
    await db?.prisma.$disconnect();
  });

  /** Waits until no mutation runs (retries included), and it stays so for a moment. */
  async function settled() {
    for (let calm = 0; calm < 2; ) {
      await page.waitForTimeout(250);
      calm = (await page.locator('main').getAttribute('data-busy')) === '0' ? calm + 1 : 0;
    }
  }

  async function checkout(api: 'trpc' | 'graphql'): Promise<string> {
    await page.getByTestId(`api-${api}`).click();
    await expect.poll(() => page.getByTestId(`api-${api}`).getAttribute('aria-pressed')).toBe('true');
    // Double-click "Place order": one logical operation, one key, one order.
    await page.getByTestId('place').dblclick();
    await settled();
    const orderId = await page.getByTestId('order').getAttribute('data-order-id');
    expect(orderId).toMatch(/^ord_/);

    // Double-click "Pay" and click once more while the first answer is being lost and retried.
    await page.getByTestId('pay').dblclick();
    await page.getByTestId('pay').click();
    await settled();
    await expect.poll(() => page.locator(`[data-testid=ledger-row][data-order-id="${orderId}"]`).count(), { timeout: 10_000 }).toBe(1);
    // The page got its answer from the store: marked as replayed.
    await page.locator(`[data-testid=ledger-row][data-order-id="${orderId}"] [data-testid=replayed]`).waitFor({ timeout: 10_000 });

    // Paid: one more click is a new logical operation (new key), refused by the shop, not charged.
    await page.getByTestId('pay').click();
    await settled();
    await expect.poll(() => page.getByTestId('pay-status').textContent(), { timeout: 10_000 }).toMatch(/already paid/);
    expect(await page.locator(`[data-testid=ledger-row][data-order-id="${orderId}"]`).count()).toBe(1);
    return orderId!;
  }

  it('with the flaky network on, repeated clicks charge each order once (tRPC and GraphQL paths)', async () => {
    await page.getByTestId('flaky').check();
    const viaTrpc = await checkout('trpc');
    const viaGraphql = await checkout('graphql');

    for (const orderId of [viaTrpc, viaGraphql]) {
      expect(await db.prisma.payment.count({ where: { orderId } })).toBe(1);
      expect((await db.prisma.order.findUnique({ where: { id: orderId } }))?.status).toBe('paid');
    }
    // Each double-clicked "Place order" created one order.
    const customer = await page.evaluate(() => localStorage.getItem('oncely-demo-customer'));
    expect(await db.prisma.order.count({ where: { customer: customer! } })).toBe(2);
    // Answers were really lost on the way: the attempt log shows drops and replays.
    const log = (await page.getByTestId('attempts').textContent()) ?? '';
    expect(log).toContain('answer lost');
    expect(log).toContain('replayed');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'web-demo.png'), fullPage: true });
  });
});
