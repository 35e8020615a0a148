import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PluginHostService } from '@wwplugin/nestjs';
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppModule } from '../apps/demo-host/src/app.module.js';
import { launchChromium, type Browser } from './support/chromium.js';
import { APP, fixture, ROOT } from './support/host-harness.js';

/** Where the screenshot goes (gitignored); docs/images/admin-page.png is a committed copy. */
const ARTIFACTS = `${ROOT}test-artifacts`;

/** What the test reaches in the page (it compiles without the DOM library, so loosely typed). */
interface PageGlobals {
  /** Per plugin, each state its row showed, in order (recorded by the test). */
  seenStates: Record<string, string[]>;
  document: any;
  MutationObserver: any;
}

describe('the plugins page, in headless Chromium, served by the demo host', () => {
  let app: INestApplication;
  let host: PluginHostService;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    browser = await launchChromium();
    app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    host = app.get(PluginHostService);
    await Promise.all([host.load(APP('echo')), host.load(APP('ticker')), host.load(fixture('logger', 'nest-logs'))]);
    page = await browser.context.newPage();
    await page.goto(`${await app.getUrl()}/wwplugin/`);
    await page.locator('tr[data-plugin="echo"][data-state="running"]').waitFor({ timeout: 15_000 });
    // Every render replaces the rows: a MutationObserver sees each state, however briefly shown.
    await page.evaluate(() => {
      const w = globalThis as unknown as PageGlobals;
      w.seenStates = {};
      const record = () => {
        for (const tr of w.document.querySelectorAll('#plugins tbody tr') as Array<{ dataset: { plugin: string; state: string } }>) {
          const seen = (w.seenStates[tr.dataset.plugin] ??= []);
          if (seen.at(-1) !== tr.dataset.state) seen.push(tr.dataset.state);
        }
      };
      record();
      new w.MutationObserver(record).observe(w.document.querySelector('#plugins tbody'), { childList: true, subtree: true, attributes: true });
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  const row = (plugin: string) => page.locator(`tr[data-plugin="${plugin}"]`);
  /** Waits until the row of `plugin` showed `states` in this order (others may come between). */
  const showed = (plugin: string, states: string[]) =>
    page.waitForFunction(
      ([p, wanted]) => {
        let at = 0;
        for (const s of (globalThis as unknown as PageGlobals).seenStates[p] ?? []) if (s === wanted[at]) at += 1;
        return at === wanted.length;
      },
      [plugin, states] as const,
      { timeout: 20_000 },
    );

  it('lists every plugin with its state, pid and figures', async () => {
    for (const name of ['echo', 'ticker', 'logger']) await row(name).and(page.locator('[data-state="running"]')).waitFor({ timeout: 10_000 });
    const echo = host.get('echo')!;
    expect(await row('echo').locator('td.pid').textContent()).toBe(String(echo.pid));
    expect(await row('echo').locator('td.restarts').textContent()).toBe('0');
    expect(await page.locator('#connection').textContent()).toBe('live');
  });

  it('shows a killed plugin restarting, then running under a new pid', async () => {
    const before = host.get('ticker')!;
    await page.evaluate(() => ((globalThis as unknown as PageGlobals).seenStates.ticker = ['running']));
    process.kill(before.pid!, 'SIGKILL');
    await showed('ticker', ['running', 'restarting', 'running']);
    const after = host.get('ticker')!;
    expect(after.pid).not.toBe(before.pid);
    await row('ticker')
      .and(page.locator(`[data-pid="${after.pid}"]`))
      .waitFor({ timeout: 10_000 });
    expect(await row('ticker').locator('td.restarts').textContent()).toBe('1');
    expect(await row('ticker').locator('td.last-exit').textContent()).toBe('SIGKILL');
  });

  it('restarts a plugin from its restart button', async () => {
    const before = host.get('echo')!;
    await page.evaluate(() => ((globalThis as unknown as PageGlobals).seenStates.echo = ['running']));
    await row('echo').locator('button[data-action="restart"]').click();
    // restart() is stop() then start(): its 'stopped' event carries a snapshot with the row stopped.
    await showed('echo', ['running', 'stopped', 'running']);
    const after = host.get('echo')!;
    expect(after.pid).not.toBe(before.pid);
    await row('echo')
      .and(page.locator(`[data-pid="${after.pid}"]`))
      .waitFor({ timeout: 10_000 });
    expect(await host.call('echo', 'greet', { name: 'page' })).toBe('Hello, page');
  });

  it("shows call figures, and opens a plugin's recent log records", async () => {
    // Calls for the figures in the screenshot: some succeed, one fails.
    for (let i = 0; i < 20; i++) await host.call('echo', 'greet', { name: `n${i}` });
    await host.call('echo', 'fail', { message: 'on purpose' }).catch(() => undefined);
    // The next snapshot (within a second) has them all.
    await row('echo').locator('td.errors.bad').waitFor({ timeout: 10_000 });
    expect(await row('echo').locator('td.p50').textContent()).toMatch(/^\d+(\.\d)? ms$/);
    expect(Number(await row('echo').locator('td.calls').textContent())).toBeGreaterThan(0);

    await host.call('logger', 'logEveryLevel', { tag: 'from-the-test' });
    await row('logger').locator('td.name').click();
    const records = page.locator('#log-records li');
    await records.filter({ hasText: 'warn from-the-test' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('#logs-plugin').textContent()).toBe('logger');
    const texts = await records.allTextContents();
    expect(texts.some((t) => t.includes('booting before the welcome'))).toBe(true);
    // The stack travels too (folded in a <details>).
    expect(texts.some((t) => t.includes('error from-the-test') && t.includes('stack from-the-test'))).toBe(true);
    // Records logged while the plugin is selected arrive without a reload.
    await host.call('logger', 'logEveryLevel', { tag: 'second' });
    await records.filter({ hasText: 'warn second' }).waitFor({ timeout: 10_000 });

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}/admin-page.png`, fullPage: true });
  });
});
