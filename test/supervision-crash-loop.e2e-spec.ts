import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginNotRunningError, type PluginEvent } from '@wwplugin/nestjs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ReplaySubject } from 'rxjs';
import { fixture, FIXTURE_PLUGIN, isAlive, startHost, waitFor, type TestHost } from './support/host-harness.js';

type Ev<T extends PluginEvent['type']> = Extract<PluginEvent, { type: T }>;

// Restart policy limits: a plugin that keeps crashing ends `failed` and stays down; restarts
// that fail before the new process is up are retried per policy too; stop() and host close win
// over a restart waiting for its backoff.
describe('supervision: crash loops and restart policy', () => {
  let t: TestHost;
  let dir: string;
  const log: PluginEvent[] = [];
  const events = new ReplaySubject<PluginEvent>();
  const seen = <T extends PluginEvent['type']>(plugin: string, type: T, after = 0) =>
    waitFor(events, (e) => log.indexOf(e) >= after && e.type === type && e.plugin === plugin, 20_000) as Promise<Ev<T>>;
  const story = (plugin: string) => log.filter((e) => e.plugin === plugin && e.type !== 'loaded' && e.type !== 'ready').map((e) => e.type);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wwplugin-supervision-'));
    // An entry that can be deleted: a tiny module that runs the fixture.
    writeFileSync(join(dir, 'vanishing.mjs'), `import ${JSON.stringify(pathToFileURL(FIXTURE_PLUGIN).href)};\n`);
    t = await startHost({
      heartbeat: false,
      restart: { initialBackoffMs: 20, maxBackoffMs: 100, maxRestarts: 2, windowMs: 60_000 },
    });
    t.host.events().subscribe((e) => {
      log.push(e);
      events.next(e);
    });
    const env = { SUPERVISION_DIR: dir };
    await Promise.all([
      t.host.load(fixture('loop-after-start', 'crash-after-start')),
      t.host.load(fixture('loop-on-restart', 'supervision,crash-on-restart', { env })),
      t.host.load({ ...fixture('loop-no-entry', 'supervision'), path: join(dir, 'vanishing.mjs') }),
      t.host.load(fixture('never', 'supervision', { restart: { mode: 'never' } })),
      t.host.load(fixture('slow-backoff', 'supervision', { restart: { initialBackoffMs: 60_000, maxBackoffMs: 60_000, jitter: 0 } })),
    ]);
  }, 30_000);

  afterAll(async () => {
    const pids = t?.host.list().map((p) => p.pid);
    await t?.close();
    for (const pid of pids ?? []) expect(isAlive(pid)).toBe(false);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('a plugin that crashes right after every start ends failed after the crash-loop limit', async () => {
    const failed = await seen('loop-after-start', 'failed');
    expect(failed.reason).toContain('crash loop');
    expect(story('loop-after-start')).toEqual([
      ...['exited', 'crashed', 'restarting', 'restarted'],
      ...['exited', 'crashed', 'restarting', 'restarted'],
      ...['exited', 'crashed', 'failed'],
    ]);
    const info = t.host.get('loop-after-start')!;
    expect(info).toMatchObject({ state: 'failed', restarts: 2, lastExit: { code: 3, signal: null } });
    expect(info.pid).toBeUndefined();
    // It stays down: calls fail at once with a typed error naming the state.
    const err = await t.host.call('loop-after-start', 'echo', { value: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginNotRunningError);
    expect((err as PluginNotRunningError).details).toMatchObject({ state: 'failed' });
  }, 30_000);

  it('restarts that die before their handshake are retried per policy, then failed; a call waiting for it settles', async () => {
    const mark = log.length;
    process.kill(t.host.get('loop-on-restart')!.pid!, 'SIGKILL');
    await seen('loop-on-restart', 'restarting', mark);
    // This call waits for the restart (long deadline); the crash loop must settle it, not the deadline.
    const waiting = t.host.call('loop-on-restart', 'echo', { value: 1 }, { timeoutMs: 60_000 }).catch((e: unknown) => e);
    const failed = await seen('loop-on-restart', 'failed', mark);
    expect(failed.reason).toContain('crash loop');
    const err = await waiting;
    expect(err).toBeInstanceOf(PluginNotRunningError);
    expect((err as PluginNotRunningError).details).toMatchObject({ state: 'failed' });
    expect(log.slice(mark).filter((e) => e.plugin === 'loop-on-restart' && e.type === 'crashed')).toEqual([
      expect.objectContaining({ signal: 'SIGKILL' }),
      expect.objectContaining({ code: 4 }),
      expect.objectContaining({ code: 4 }),
    ]);
    expect(log.slice(mark).some((e) => e.type === 'restarted' && e.plugin === 'loop-on-restart')).toBe(false);
    expect(t.host.get('loop-on-restart')).toMatchObject({ state: 'failed', restarts: 2, lastExit: { code: 4 } });
  }, 30_000);

  it('a restart that cannot even spawn (entry deleted) counts as a crash: retried, then failed', async () => {
    const mark = log.length;
    rmSync(join(dir, 'vanishing.mjs'));
    const pid = t.host.get('loop-no-entry')!.pid!;
    process.kill(pid, 'SIGKILL');
    const failed = await seen('loop-no-entry', 'failed', mark);
    expect(failed.reason).toContain('crash loop');
    expect(story('loop-no-entry').slice(-3)).toEqual(['exited', 'crashed', 'failed']);
    expect(t.host.get('loop-no-entry')).toMatchObject({ state: 'failed', restarts: 2 });
  }, 30_000);

  it("restart mode 'never': a crash leaves the plugin failed at once", async () => {
    const mark = log.length;
    process.kill(t.host.get('never')!.pid!, 'SIGKILL');
    const failed = await seen('never', 'failed', mark);
    expect(failed.reason).toContain('never');
    expect(t.host.get('never')).toMatchObject({ state: 'failed', restarts: 0 });
  }, 30_000);

  it('stop() during a pending backoff cancels the restart; calls waiting for it settle; start() brings it back', async () => {
    const mark = log.length;
    const pid = t.host.get('slow-backoff')!.pid!;
    process.kill(pid, 'SIGKILL');
    const restarting = await seen('slow-backoff', 'restarting', mark);
    expect(restarting.delayMs).toBe(60_000);
    const waiting = t.host.call('slow-backoff', 'echo', { value: 1 }, { timeoutMs: 60_000 }).catch((e: unknown) => e);
    const info = await t.host.stop('slow-backoff');
    expect(info).toMatchObject({ state: 'stopped', pid: undefined });
    const err = await waiting;
    expect(err).toBeInstanceOf(PluginNotRunningError);
    expect((err as PluginNotRunningError).details).toMatchObject({ state: 'stopped' });
    expect(story('slow-backoff').slice(-1)).toEqual(['stopped']);

    const again = await t.host.start('slow-backoff');
    expect(again.state).toBe('running');
    expect(await t.host.call<number>('slow-backoff', 'supPid')).toBe(again.pid);
    expect(again.pid).not.toBe(pid);
  }, 30_000);
});

describe("supervision: whileRestarting 'fail' and host close during a backoff", () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startHost({ heartbeat: false, whileRestarting: 'fail', restart: { initialBackoffMs: 60_000, maxBackoffMs: 60_000, jitter: 0 } });
    await t.host.load(fixture('fail-fast', 'supervision'));
  }, 30_000);

  afterAll(() => t?.close(), 30_000);

  it('calls to a restarting plugin fail at once, and closing the host cancels the restart', async () => {
    const restarting = waitFor(t.host.events(), (e) => e.type === 'restarting', 20_000);
    process.kill(t.host.get('fail-fast')!.pid!, 'SIGKILL');
    expect(await restarting).toMatchObject({ delayMs: 60_000 });
    const err = await t.host.call('fail-fast', 'echo', { value: 1 }, { timeoutMs: 60_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginNotRunningError);
    expect((err as PluginNotRunningError).details).toMatchObject({ state: 'restarting' });

    const registry = t.host;
    await t.close();
    expect(registry.get('fail-fast')).toMatchObject({ state: 'stopped', pid: undefined });
  }, 30_000);
});
