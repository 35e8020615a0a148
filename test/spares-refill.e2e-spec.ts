import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startHost, until, type TestHost } from './support/host-harness.js';
import { bundleEcho, closeLeavingNothing, readySpare } from './support/spares.js';

// The spares a start calls for (the shared one it took, a bundle's own) are started after the
// start, once the calls made as it became ready are answered (or a second later): a plugin gone by
// then gets none.
describe('spares started after a start in a shared spare', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wwplugin-spare-refill-'));
  const bundle = join(dir, 'echo', 'main.mjs');
  let t: TestHost;
  const pids = new Set<number>();
  const readyShared = (not?: number) => readySpare(t.host, { not, seen: pids });

  beforeAll(async () => {
    await bundleEcho(bundle);
    t = await startHost({ spares: 1, heartbeat: false });
  }, 60_000);

  afterAll(() => closeLeavingNothing(t, pids, dir), 30_000);

  it('a bundle unloaded as soon as its load() resolves gets no spare of its own; the shared one is replaced', async () => {
    const shared = await readyShared();
    const info = await t.host.load(bundle);
    expect(info.pid).toBe(shared.pid);
    await t.host.unload('echo');
    await readyShared(shared.pid);
    expect(t.host.spares().filter((s) => s.plugin !== undefined)).toEqual([]);
  }, 120_000);

  it('the shared spare taken is replaced only once the call made as load() resolved is answered', async () => {
    const shared = await readyShared();
    const info = await t.host.load(fixture('held'));
    expect(info.pid).toBe(shared.pid);
    let answered = false;
    const held = t.host.call('held', 'sleep', { ms: 300 }).finally(() => (answered = true));
    // Every turn until the answer: no spare may be started while the plugin serves its first call.
    const startedBeforeAnswer: number[] = [];
    while (!answered) {
      startedBeforeAnswer.push(...t.host.spares().map((s) => s.pid));
      await new Promise((r) => setImmediate(r));
    }
    expect(await held).toBe('slept 300');
    expect(startedBeforeAnswer).toEqual([]);
    await readyShared(shared.pid);
    await t.host.unload('held');
  }, 120_000);

  it('a call that takes longer than a second does not hold the replacement back', async () => {
    const shared = await readyShared();
    await t.host.load(fixture('long'));
    const abort = new AbortController();
    let answered = false;
    const held = t.host.call('long', 'sleep', { ms: 60_000 }, { signal: abort.signal, timeoutMs: 0 }).finally(() => (answered = true));
    await readyShared(shared.pid);
    expect(answered).toBe(false);
    abort.abort();
    await expect(held).rejects.toThrow();
    await t.host.unload('long');
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
