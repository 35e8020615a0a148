import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpareInfo } from '@wwplugin/nestjs';
import { APP, ROOT, isAlive, startHost, until, type TestHost } from './support/host-harness.js';

// The spares a start calls for (the shared one it took, a bundle's own) are started just after the
// start, once its Welcome is out: a plugin gone by then gets none.
describe('spares started after a start in a shared spare', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wwplugin-spare-refill-'));
  const bundle = join(dir, 'echo', 'main.mjs');
  let t: TestHost;
  const pids = new Set<number>();
  const readyShared = async (not?: number): Promise<SpareInfo> => {
    let found: SpareInfo | undefined;
    await until(
      () => {
        for (const s of t.host.spares()) pids.add(s.pid);
        found = t.host.spares().find((s) => s.plugin === undefined && s.ready && s.pid !== not);
        return !!found;
      },
      30_000,
      'a ready shared spare',
    );
    return found!;
  };

  beforeAll(async () => {
    const { bundlePlugin } = (await import(`${ROOT}scripts/bundle-plugin.mjs`)) as {
      bundlePlugin(entry: string, out: string): Promise<{ ok: boolean; reason?: string }>;
    };
    expect(await bundlePlugin(APP('echo'), bundle)).toMatchObject({ ok: true });
    t = await startHost({ spares: 1, heartbeat: false });
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    expect(t.host.spares()).toEqual([]);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('a bundle unloaded as soon as its load() resolves gets no spare of its own; the shared one is replaced', async () => {
    const shared = await readyShared();
    const info = await t.host.load(bundle);
    expect(info.pid).toBe(shared.pid);
    await t.host.unload('echo');
    await readyShared(shared.pid);
    expect(t.host.spares().filter((s) => s.plugin !== undefined)).toEqual([]);
  }, 120_000);

  it('a bundle that stays gets its own spare, and serves its first call', async () => {
    const shared = await readyShared();
    const info = await t.host.load(bundle);
    expect(info.pid).toBe(shared.pid);
    expect(await t.host.call('echo', 'greet', { name: 'first' })).toBe('Hello, first');
    await until(() => t.host.spares().some((s) => s.plugin === info.id && s.ready), 30_000, 'the bundle’s own spare');
    for (const s of t.host.spares()) pids.add(s.pid);
    await t.host.unload('echo');
    await until(() => !t.host.spares().some((s) => s.plugin === info.id), 10_000, 'the unloaded bundle to lose its spare');
  }, 120_000);
});
