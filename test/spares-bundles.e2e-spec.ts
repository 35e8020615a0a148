import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReplaySubject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PluginEvent } from '@wwplugin/nestjs';
import { fixture, isAlive, startHost, until, waitFor, type TestHost } from './support/host-harness.js';
import { bundleEcho, closeLeavingNothing, readySpare as waitForSpare } from './support/spares.js';

// A bundle carries its own copy of the library, so a shared spare's preloaded modules do nothing
// for it: found out at its start in a shared spare, it keeps a spare of its own (bundleSpares).
describe('spares for bundled plugins, and the first restart after a healthy run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wwplugin-spare-bundles-'));
  const bundle = join(dir, 'echo', 'main.mjs');
  let t: TestHost;
  let events: ReplaySubject<PluginEvent>;
  const pids = new Set<number>();

  /** The ready spare of plugin id `plugin` (shared: undefined) that is not `not`, once there is one. */
  const readySpare = (host: TestHost, plugin?: string, not?: number) => waitForSpare(host.host, { plugin, not, seen: pids });

  beforeAll(async () => {
    await bundleEcho(bundle);
    // The default restart policy: the first restart's delay is the one under test.
    t = await startHost({ spares: 1, heartbeat: false });
    events = new ReplaySubject<PluginEvent>();
    t.host.events().subscribe(events);
  }, 60_000);

  afterAll(() => closeLeavingNothing(t, pids, dir), 30_000);

  it('a bundle started in the shared spare gets a spare of its own, and its restart after SIGKILL runs there', async () => {
    const shared = await readySpare(t);
    const info = await t.host.load({ path: bundle });
    expect(info.pid).toBe(shared.pid);
    const own = await readySpare(t, info.id);
    expect(own.flags).toEqual([]);

    process.kill(info.pid!, 'SIGKILL');
    const restarting = await waitFor(events, (e) => e.type === 'restarting' && e.plugin === 'echo', 30_000);
    // The first restart after a healthy run does not wait.
    expect(restarting).toMatchObject({ attempt: 1, delayMs: 0 });
    const restarted = await waitFor(events, (e) => e.type === 'restarted' && e.plugin === 'echo', 30_000);
    expect(restarted).toMatchObject({ pid: own.pid });
    expect(await t.host.call('echo', 'greet', { name: 'spare' })).toBe('Hello, spare');
    // The next one warms up; unload() takes it away with the plugin.
    const next = await readySpare(t, info.id, own.pid);
    await t.host.unload('echo');
    await until(() => !isAlive(next.pid), 10_000, 'the unloaded bundle to lose its spare');
    expect(t.host.spares().filter((s) => s.plugin !== undefined)).toEqual([]);
  }, 120_000);

  it('a plugin that runs the spare’s own library gets no spare of its own', async () => {
    const shared = await readySpare(t);
    const info = await t.host.load(fixture('unbundled', 'spares'));
    expect(info.pid).toBe(shared.pid);
    // Decided when its start completed: no spare of its own, now or after its next start.
    expect(t.host.spares().filter((s) => s.plugin === info.id)).toEqual([]);
    await readySpare(t);
    expect((await t.host.restart('unbundled')).pid).not.toBe(info.pid);
    expect(t.host.spares().filter((s) => s.plugin === info.id)).toEqual([]);
    await t.host.unload('unbundled');
  }, 120_000);

  it('restarts inside the window back off: the second waits', async () => {
    await readySpare(t);
    const info = await t.host.load(fixture('backoff', 'spares'));
    process.kill(info.pid!, 'SIGKILL');
    const first = await waitFor(events, (e) => e.type === 'restarting' && e.plugin === 'backoff', 30_000);
    expect(first).toMatchObject({ attempt: 1, delayMs: 0 });
    await waitFor(events, (e) => e.type === 'restarted' && e.plugin === 'backoff' && e.attempt === 1, 30_000);
    process.kill(t.host.get('backoff')!.pid!, 'SIGKILL');
    const second = await waitFor(events, (e) => e.type === 'restarting' && e.plugin === 'backoff' && e.attempt === 2, 30_000);
    expect((second as { delayMs: number }).delayMs).toBeGreaterThan(0);
    await waitFor(events, (e) => e.type === 'restarted' && e.plugin === 'backoff' && e.attempt === 2, 30_000);
    await t.host.unload('backoff');
  }, 120_000);

  it('bundleSpares: false leaves a bundle to the shared spares', async () => {
    const other = await startHost({ spares: 1, heartbeat: false, bundleSpares: false });
    try {
      const shared = await readySpare(other);
      const info = await other.host.load({ path: bundle });
      expect(info.pid).toBe(shared.pid);
      expect(other.host.spares().filter((s) => s.plugin === info.id)).toEqual([]);
      for (const s of other.host.spares()) pids.add(s.pid);
    } finally {
      await other.close();
    }
    expect(other.host.spares()).toEqual([]);
  }, 120_000);
});
