import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { APP, ROOT, startHost, type TestHost } from './support/host-harness.js';

describe('bundled plugins (npm run bundle-plugin)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wwplugin-bundle-'));
  let t: TestHost | undefined;
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('bundles the echo plugin into one file that loads and serves like the original', async () => {
    const { bundlePlugin } = (await import(`${ROOT}scripts/bundle-plugin.mjs`)) as {
      bundlePlugin(entry: string, out: string): Promise<{ ok: boolean; reason?: string }>;
    };
    const out = join(dir, 'echo', 'main.mjs');
    const result = await bundlePlugin(APP('echo'), out);
    expect(result).toMatchObject({ ok: true });
    t = await startHost();
    const info = await t.host.load(out);
    expect(info).toMatchObject({ name: 'echo', state: 'running' });
    expect(info.spec.path).toBe(out);
    expect(await t.host.call('echo', 'greet', { name: 'bundle' })).toBe('Hello, bundle');
    expect(await t.host.call('echo', 'echo', { value: 2n ** 62n })).toBe(2n ** 62n);
  }, 60_000);
});
