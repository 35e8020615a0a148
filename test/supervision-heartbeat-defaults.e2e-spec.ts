import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginCrashedError, type PluginEvent } from '@wwplugin/nestjs';
import { ReplaySubject } from 'rxjs';
import { fixture, isAlive, startHost, until, waitFor, type TestHost } from './support/host-harness.js';

// The default heartbeat settings (the other heartbeat tests use short ones): of several plugins
// loaded at different times, one whose event loop blocks is given up after 3 missed beats, and the
// others, idle, never miss one.
describe('supervision: heartbeats with the default settings', () => {
  let t: TestHost;
  const log: PluginEvent[] = [];
  const events = new ReplaySubject<PluginEvent>();
  const names = ['hbd-a', 'hbd-b', 'hbd-c'];

  beforeAll(async () => {
    t = await startHost({ restart: { initialBackoffMs: 20, maxBackoffMs: 200 } });
    t.host.events().subscribe((e) => {
      log.push(e);
      events.next(e);
    });
    // One after the other: each starts at its own time, between the scheduler's ticks.
    for (const name of names) await t.host.load(fixture(name, 'supervision'));
  }, 60_000);

  afterAll(async () => {
    const pids = t?.host.list().map((p) => p.pid);
    await t?.close();
    for (const pid of pids ?? []) expect(isAlive(pid)).toBe(false);
  }, 30_000);

  it('answers are measured for every plugin', async () => {
    await until(() => names.every((n) => t.host.get(n)!.lastHeartbeatMs !== undefined), 10_000, 'a heartbeat answer from each plugin');
    for (const n of names) expect(t.host.get(n)!.lastHeartbeatMs).toBeGreaterThanOrEqual(0);
  }, 20_000);

  it('a blocked event loop is detected by 3 missed beats, killed and replaced; the other plugins miss none', async () => {
    const mark = log.length;
    const pid = t.host.get('hbd-b')!.pid!;
    const blocking = t.host.call('hbd-b', 'supBlock', { ms: 60_000 }, { timeoutMs: 90_000 }).catch((e: unknown) => e);
    const unresponsive = await waitFor(events, (e) => log.indexOf(e) >= mark && e.type === 'unresponsive' && e.plugin === 'hbd-b', 20_000);
    expect(unresponsive).toMatchObject({ missed: 3 });
    const missed = log.slice(mark).filter((e) => e.type === 'heartbeat-missed');
    expect(missed.map((e) => [e.plugin, (e as { missed: number }).missed])).toEqual([
      ['hbd-b', 1],
      ['hbd-b', 2],
      ['hbd-b', 3],
    ]);
    const err = await blocking;
    expect(err).toBeInstanceOf(PluginCrashedError);
    expect((err as PluginCrashedError).details).toMatchObject({ signal: 'SIGKILL' });
    await waitFor(events, (e) => log.indexOf(e) >= mark && e.type === 'restarted' && e.plugin === 'hbd-b', 20_000);
    expect(await t.host.call('hbd-b', 'echo', { value: 2 })).toBe(2);
    expect(isAlive(pid)).toBe(false);
    for (const n of ['hbd-a', 'hbd-c']) expect(t.host.get(n)).toMatchObject({ state: 'running', restarts: 0 });
  }, 30_000);
});
